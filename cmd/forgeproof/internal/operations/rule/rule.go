// Package rule decodes the x-forgeproof extension of OpenAPI into the
// rules of one operation. Package operations applies them to the
// gateway's routes; the scanner reads them as the protection it expects
// the target to enforce, so that both read the extension the same way.
package rule

import (
	"errors"
	"fmt"
	"net/textproto"
	"slices"
	"strings"
	"time"

	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/httpsyntax"
)

// Extension is the name of the vendor extension that sets an operation's
// rules, on an operation or on a path item (for all its operations).
const Extension = "x-forgeproof"

// A Rule is the set of forgeproof rules of one operation, as written in
// its x-forgeproof extension, inferred from the description, or taken from
// a configured route. Its zero value applies the configuration's defaults.
type Rule struct {
	// Tokens is the token mode: "signed", "synchronizer", "off", or ""
	// for protection.tokens.
	Tokens string
	// JSONOnly refuses bodies that an HTML form can send cross-site.
	JSONOnly bool
	// RequireHeader names a header every checked request must carry.
	RequireHeader string
	// OneTimeTokens accepts each token once.
	OneTimeTokens bool
	// ReauthMaxAge requires a re-authentication proof this fresh.
	ReauthMaxAge time.Duration
	// Roles are the roles of which the caller must hold one.
	Roles []string
	// ReportOnly reports refusals without enforcing them.
	ReportOnly bool
	// Unsafe checks the operation although its method is safe: a GET
	// that changes state.
	Unsafe bool
	// Bypass disables the CSRF checks, for webhooks that other services
	// call cross-site by design.
	Bypass bool
}

// keyKinds lists the keys of the extension with the kind of their value,
// in the order of the documentation. The JSON Schema for editors,
// docs/x-forgeproof.schema.json, is kept in step with it by a test.
var keyKinds = []struct {
	name, kind string
}{
	{"tokens", "enum:signed,synchronizer,off"},
	{"json_only", "bool"},
	{"require_header", "header"},
	{"one_time_tokens", "bool"},
	{"reauth_max_age", "duration"},
	{"roles", "roles"},
	{"report_only", "bool"},
	{"unsafe", "bool"},
	{"bypass", "bool"},
}

// Keys returns the keys of the x-forgeproof extension.
func Keys() []string {
	ks := make([]string, len(keyKinds))
	for i, k := range keyKinds {
		ks[i] = k.name
	}
	return ks
}

// A KeyError is a problem with one key of an x-forgeproof extension.
type KeyError struct {
	// Key is the key at fault, or "" for the extension as a whole.
	Key string
	// Msg says what is wrong and what to write instead.
	Msg string
}

func (e *KeyError) Error() string {
	if e.Key == "" {
		return Extension + ": " + e.Msg
	}
	return Extension + "." + e.Key + ": " + e.Msg
}

// Parse decodes the value of an x-forgeproof extension, as
// decoded from JSON or YAML (a map of strings to values), strictly: an
// unknown key and a value of the wrong type are errors, all of them
// reported, in key order. It returns the rule and the set of keys that
// were given a valid value.
func Parse(v any) (Rule, map[string]bool, []*KeyError) {
	var r Rule
	set := map[string]bool{}
	m, ok := v.(map[string]any)
	if !ok {
		return r, set, []*KeyError{{Msg: fmt.Sprintf("expected a mapping of keys to values, found %s", describe(v))}}
	}
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	slices.Sort(names)
	var errs []*KeyError
	bad := func(key, format string, args ...any) {
		errs = append(errs, &KeyError{Key: key, Msg: fmt.Sprintf(format, args...)})
	}
	for _, key := range names {
		val := m[key]
		i := slices.IndexFunc(keyKinds, func(k struct{ name, kind string }) bool { return k.name == key })
		if i < 0 {
			bad(key, "unknown key %q; the keys are %s", key, strings.Join(Keys(), ", "))
			continue
		}
		kind := keyKinds[i].kind
		switch {
		case kind == "bool":
			b, ok := val.(bool)
			if !ok {
				bad(key, "expected true or false, found %s", describe(val))
				continue
			}
			switch key {
			case "json_only":
				r.JSONOnly = b
			case "one_time_tokens":
				r.OneTimeTokens = b
			case "report_only":
				r.ReportOnly = b
			case "unsafe":
				r.Unsafe = b
			case "bypass":
				r.Bypass = b
			}
		case strings.HasPrefix(kind, "enum:"):
			s, ok := val.(string)
			allowed := strings.Split(strings.TrimPrefix(kind, "enum:"), ",")
			if !ok || !slices.Contains(allowed, s) {
				bad(key, "expected one of %s, found %s", strings.Join(allowed, ", "), describe(val))
				continue
			}
			r.Tokens = s
		case kind == "header":
			s, ok := val.(string)
			if !ok || !httpsyntax.IsToken(s) {
				bad(key, "expected a header name such as X-Requested-With, found %s", describe(val))
				continue
			}
			r.RequireHeader = textproto.CanonicalMIMEHeaderKey(s)
		case kind == "duration":
			s, ok := val.(string)
			if !ok {
				bad(key, "expected a duration such as 5m, found %s", describe(val))
				continue
			}
			d, err := time.ParseDuration(s)
			if err != nil || d <= 0 {
				bad(key, "invalid duration %q: write a positive duration such as 30s, 5m or 1h", s)
				continue
			}
			r.ReauthMaxAge = d
		case kind == "roles":
			list, ok := val.([]any)
			if !ok {
				bad(key, "expected a list of role names such as [admin], found %s", describe(val))
				continue
			}
			if len(list) == 0 {
				bad(key, "the list is empty: name at least one role, or remove the key")
				continue
			}
			roles := make([]string, 0, len(list))
			for j, e := range list {
				s, ok := e.(string)
				if !ok || s == "" || strings.ContainsFunc(s, func(c rune) bool { return c <= ' ' || c == 0x7f }) {
					bad(key, "entry %d: expected a role name without spaces, found %s", j, describe(e))
					roles = nil
					break
				}
				roles = append(roles, s)
			}
			if roles == nil {
				continue
			}
			r.Roles = roles
		}
		set[key] = true
	}
	return r, set, errs
}

// Decode decodes the x-forgeproof extensions of a path item and of one
// of its operations (either may be nil; the operation's keys win), as
// operations.Load does, for a tool that reads the description on its own (the
// scanner). declared is false when neither is set. The error joins a
// [*KeyError] for every problem.
func Decode(item, op any) (r Rule, declared bool, err error) {
	var errs []error
	set := map[string]bool{}
	for _, v := range []any{item, op} {
		if v == nil {
			continue
		}
		declared = true
		x, s, kerrs := Parse(v)
		for _, e := range kerrs {
			errs = append(errs, e)
		}
		r = r.Merge(x, s)
		for k := range s {
			set[k] = true
		}
	}
	if e := BypassConflict(r, SortedKeys(set)); e != nil {
		errs = append(errs, e)
	}
	return r, declared, errors.Join(errs...)
}

// BypassConflict returns the problem of a rule that sets bypass beside
// CSRF keys, which would never apply, or nil. Roles still apply to a
// bypassed operation (a webhook may require an identity), and report_only
// to its role refusals.
func BypassConflict(r Rule, declared []string) *KeyError {
	others := slices.DeleteFunc(slices.Clone(declared), func(k string) bool {
		return k == "bypass" || k == "roles" || k == "report_only"
	})
	if !r.Bypass || len(others) == 0 {
		return nil
	}
	return &KeyError{Key: "bypass", Msg: fmt.Sprintf("bypass turns every check off, so the operation's other keys (%s) would never apply: remove them or the bypass", strings.Join(others, ", "))}
}

// merge returns r with the keys of o that are set in oset.
func (r Rule) Merge(o Rule, oset map[string]bool) Rule {
	for key := range oset {
		switch key {
		case "tokens":
			r.Tokens = o.Tokens
		case "json_only":
			r.JSONOnly = o.JSONOnly
		case "require_header":
			r.RequireHeader = o.RequireHeader
		case "one_time_tokens":
			r.OneTimeTokens = o.OneTimeTokens
		case "reauth_max_age":
			r.ReauthMaxAge = o.ReauthMaxAge
		case "roles":
			r.Roles = o.Roles
		case "report_only":
			r.ReportOnly = o.ReportOnly
		case "unsafe":
			r.Unsafe = o.Unsafe
		case "bypass":
			r.Bypass = o.Bypass
		}
	}
	return r
}

// describe names a decoded JSON value for an error message, without
// quoting long text.
func describe(v any) string {
	switch t := v.(type) {
	case nil:
		return "nothing"
	case bool:
		return fmt.Sprintf("the boolean %t", t)
	case float64, int, int64, uint64:
		return fmt.Sprintf("the number %v", t)
	case string:
		if len(t) <= 40 && !strings.ContainsAny(t, "\n\r") {
			return fmt.Sprintf("%q", t)
		}
		return "a string"
	case []any:
		return "a list"
	case map[string]any:
		return "a mapping"
	}
	return fmt.Sprintf("a %T", v)
}

// SortedKeys returns the keys that are true in m, in the extension's key
// order.
func SortedKeys(m map[string]bool) []string {
	var ks []string
	for _, k := range Keys() {
		if m[k] {
			ks = append(ks, k)
		}
	}
	return ks
}
