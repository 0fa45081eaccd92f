package scan

import (
	"net/url"
	"strings"

	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/operations/rule"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/scan/checks"
)

// PolicyExtension is the OpenAPI extension that declares an operation's
// protection, on an operation or on a path item (whose keys apply to each
// of its operations unless the operation sets them itself).
const PolicyExtension = rule.Extension

// decodePolicy reads the x-forgeproof values of a path item and of one of
// its operations (either may be nil) into the rule the target is expected
// to enforce; nil when neither declares one. The extension is decoded by
// the gateway's own parser (package rule), so that the scanner expects
// exactly what the gateway enforces: unknown keys and values of the wrong
// type are errors that name the key.
func decodePolicy(item, op any) (*rule.Rule, error) {
	r, declared, err := rule.Decode(item, op)
	if err != nil || !declared {
		return nil, err
	}
	return &r, nil
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
