package scan

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/scan/checks"
)

// PolicyExtension is the OpenAPI extension that declares an operation's
// protection, on an operation or on a path item (whose keys apply to each
// of its operations unless the operation sets them itself).
const PolicyExtension = "x-forgeproof"

// policyKeys are the keys of the extension, as docs/OPENAPI.md documents
// them.
var policyKeys = []string{"tokens", "json_only", "require_header", "one_time_tokens", "reauth_max_age", "roles", "report_only", "unsafe", "bypass"}

// decodePolicy reads the x-forgeproof values of a path item and of one of
// its operations (either may be nil) into a Policy; nil when neither
// declares one. Unknown keys and values of the wrong type are errors that
// name the key.
func decodePolicy(item, op any) (*checks.Policy, error) {
	merged := map[string]json.RawMessage{}
	for _, v := range []any{item, op} {
		if v == nil {
			continue
		}
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", PolicyExtension, err)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("%s must be an object with the keys %s", PolicyExtension, strings.Join(policyKeys, ", "))
		}
		maps.Copy(merged, m)
	}
	if len(merged) == 0 && item == nil && op == nil {
		return nil, nil
	}
	var errs []error
	for _, k := range slices.Sorted(maps.Keys(merged)) {
		if !slices.Contains(policyKeys, k) {
			errs = append(errs, fmt.Errorf("%s: unknown key %q: the keys are %s", PolicyExtension, k, strings.Join(policyKeys, ", ")))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	var raw struct {
		Tokens        string          `json:"tokens"`
		JSONOnly      bool            `json:"json_only"`
		RequireHeader string          `json:"require_header"`
		OneTimeTokens bool            `json:"one_time_tokens"`
		ReauthMaxAge  json.RawMessage `json:"reauth_max_age"`
		Roles         []string        `json:"roles"`
		ReportOnly    bool            `json:"report_only"`
		Unsafe        bool            `json:"unsafe"`
		Bypass        bool            `json:"bypass"`
	}
	b, _ := json.Marshal(merged)
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, fmt.Errorf("%s: %s must be a %s, not a JSON %s", PolicyExtension, te.Field, te.Type, te.Value)
		}
		return nil, fmt.Errorf("%s: %v", PolicyExtension, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%s: trailing data", PolicyExtension)
	}
	p := &checks.Policy{
		Tokens: raw.Tokens, JSONOnly: raw.JSONOnly, RequireHeader: raw.RequireHeader, OneTimeTokens: raw.OneTimeTokens,
		Roles: raw.Roles, ReportOnly: raw.ReportOnly, Unsafe: raw.Unsafe, Bypass: raw.Bypass,
	}
	switch p.Tokens {
	case "", "signed", "synchronizer", "off":
	default:
		return nil, fmt.Errorf("%s: tokens %q is not one of signed, synchronizer, off", PolicyExtension, p.Tokens)
	}
	if h := p.RequireHeader; h != "" && !validHeaderName(h) {
		return nil, fmt.Errorf("%s: require_header %q is not a header name", PolicyExtension, h)
	}
	if len(raw.ReauthMaxAge) > 0 && string(raw.ReauthMaxAge) != "null" {
		d, err := parseMaxAge(raw.ReauthMaxAge)
		if err != nil {
			return nil, fmt.Errorf("%s: reauth_max_age: %v", PolicyExtension, err)
		}
		p.ReauthMaxAge = d
	}
	if p.Bypass && (p.JSONOnly || p.RequireHeader != "" || p.OneTimeTokens || p.ReauthMaxAge != 0 || p.Tokens != "" || p.Unsafe) {
		return nil, fmt.Errorf("%s: bypass turns every check off, so the other rules would never apply: remove them or the bypass", PolicyExtension)
	}
	return p, nil
}

// parseMaxAge reads a duration written as a string ("5m") or a number of
// seconds (300).
func parseMaxAge(b json.RawMessage) (time.Duration, error) {
	var s string
	if json.Unmarshal(b, &s) == nil {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			return 0, fmt.Errorf("%q is not a positive duration such as 5m", s)
		}
		return d, nil
	}
	var n float64
	if json.Unmarshal(b, &n) == nil && n > 0 && n < 1e9 {
		return time.Duration(n * float64(time.Second)), nil
	}
	return 0, fmt.Errorf("%s is not a positive duration: write \"5m\" or a number of seconds", b)
}

// validHeaderName reports whether s is an RFC 9110 token.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// policyProbes sends, for an operation whose input declares a policy, the
// legitimate request changed in the one way that each declared rule must
// refuse (see the ProbePolicy constants of package checks). base is the
// accepted baseline; send judges each answer against it.
func (sc *scanner) policyProbes(op *Operation, path string, base *checks.Request, jsonObj map[string]any, fields url.Values,
	send func(id string, r *checks.Request, ct string) (*checks.Exchange, error)) error {
	pol := op.Policy
	var probes []struct {
		id string
		r  *checks.Request
	}
	add := func(id string, r *checks.Request) {
		probes = append(probes, struct {
			id string
			r  *checks.Request
		}{id, r})
	}
	if pol.OneTimeTokens {
		// First, while nothing else has used the token since the
		// baseline.
		add(checks.ProbePolicyReplay, base.Clone())
	}
	if pol.Unsafe && !op.unsafe() {
		add(checks.ProbePolicyCrossSiteGet, &checks.Request{Method: op.Method, URL: sc.urlOf(path, op.Query),
			Header: sc.attackHeader("", AttackerOrigin+"/", "cross-site", "navigate")})
	}
	if pol.JSONOnly && op.unsafe() {
		body := op.Body
		if jsonObj != nil {
			body = mustJSON(jsonObj)
		}
		add(checks.ProbePolicyTextPlain, sc.legitRequest(op, path, body, "text/plain"))
		add(checks.ProbePolicyForm, sc.legitRequest(op, path, []byte(fields.Encode()), "application/x-www-form-urlencoded"))
	}
	if pol.RequireHeader != "" {
		r := base.Clone()
		r.Header.Del(pol.RequireHeader)
		add(checks.ProbePolicyNoHeader, r)
	}
	if len(pol.Roles) > 0 {
		// The same request from nobody: without the credentials the
		// scan was given or obtained (the --cookie and --header values,
		// Authorization, the cookies the login set), but with the
		// cookies the target hands anyone (token cookies), so that a
		// CSRF check does not decide in the role check's place.
		r := base.Clone()
		for k := range sc.opts.Header {
			r.Header.Del(k)
		}
		r.Header.Del("Authorization")
		r.Header.Del("Cookie")
		if c := sc.anonymousCookies(); c != "" {
			r.Header.Set("Cookie", c)
		}
		add(checks.ProbePolicyAnonymous, r)
	}
	for _, p := range probes {
		if _, err := send(p.id, p.r, ""); err != nil {
			return err
		}
	}
	return nil
}

// anonymousCookies returns the first session's cookies less the
// credentials: those given with --cookie and those the login set.
func (sc *scanner) anonymousCookies() string {
	drop := map[string]bool{}
	for _, c := range sc.opts.Cookies {
		drop[c.Name] = true
	}
	for _, set := range sc.pass.SetCookies {
		if set.Login {
			drop[set.Cookie.Name] = true
		}
	}
	var parts []string
	for _, n := range sc.s1.order {
		if v, ok := sc.s1.cookies[n]; ok && !drop[n] {
			parts = append(parts, n+"="+v)
		}
	}
	return strings.Join(parts, "; ")
}
