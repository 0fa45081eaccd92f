package identity

import (
	"errors"
	"fmt"
	"strings"
)

// maxClaimPath bounds a roles claim path: its length and its number of
// segments.
const (
	maxClaimPathBytes    = 256
	maxClaimPathSegments = 16
)

// A ClaimPath names a claim of a token, possibly nested: "roles", or
// "realm_access.roles" for the member roles of the object realm_access
// (Keycloak). A segment that holds a dot, such as the namespaced claims
// "https://example.com/roles" that some providers use, escapes it with a
// backslash: "https://example\.com/roles". A backslash itself is written
// "\\".
type ClaimPath []string

// ParseClaimPath parses a claim path. Segments are separated by unescaped
// dots; none may be empty.
func ParseClaimPath(s string) (ClaimPath, error) {
	if s == "" {
		return nil, errors.New("the claim path is empty: name the claim that holds the roles, such as roles or realm_access.roles")
	}
	if len(s) > maxClaimPathBytes {
		return nil, fmt.Errorf("the claim path is %d bytes long, more than the %d allowed", len(s), maxClaimPathBytes)
	}
	var (
		path ClaimPath
		seg  strings.Builder
	)
	end := func() error {
		if seg.Len() == 0 {
			return fmt.Errorf("%q has an empty segment: write names separated by single dots, such as realm_access.roles", s)
		}
		if len(path) == maxClaimPathSegments {
			return fmt.Errorf("%q has more than %d segments", s, maxClaimPathSegments)
		}
		path = append(path, seg.String())
		seg.Reset()
		return nil
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			if i+1 == len(s) || (s[i+1] != '.' && s[i+1] != '\\') {
				return nil, fmt.Errorf(`%q: a backslash escapes only "." or "\", as in https://example\.com/roles`, s)
			}
			i++
			seg.WriteByte(s[i])
		case '.':
			if err := end(); err != nil {
				return nil, err
			}
		default:
			seg.WriteByte(c)
		}
	}
	if err := end(); err != nil {
		return nil, err
	}
	return path, nil
}

// String returns the path as [ParseClaimPath] reads it.
func (p ClaimPath) String() string {
	var b strings.Builder
	for i, seg := range p {
		if i > 0 {
			b.WriteByte('.')
		}
		for j := 0; j < len(seg); j++ {
			if seg[j] == '.' || seg[j] == '\\' {
				b.WriteByte('\\')
			}
			b.WriteByte(seg[j])
		}
	}
	return b.String()
}

// Roles returns the roles held at p in the decoded JSON claims: an array
// of strings (other elements are ignored), or a string of roles separated
// by white space (as OAuth's scope claim). A missing claim, or a value of
// another type, holds no role.
func (p ClaimPath) Roles(claims map[string]any) []string {
	var v any = claims
	for _, seg := range p {
		obj, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		if v, ok = obj[seg]; !ok {
			return nil
		}
	}
	switch v := v.(type) {
	case string:
		return strings.Fields(v)
	case []any:
		roles := make([]string, 0, len(v))
		for _, e := range v {
			if s, ok := e.(string); ok && s != "" {
				roles = append(roles, s)
			}
		}
		return roles
	}
	return nil
}
