package scan

import (
	"fmt"
	"net/url"

	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/scan/checks"
)

// Plan lists, one line each, the requests a scan with opts would send,
// without sending any. Probes that depend on answers (a token found, a
// content type accepted) are listed with the condition.
func Plan(opts Options) []string {
	t := *opts.Target
	t.RawQuery, t.Fragment = "", ""
	sc := &scanner{opts: opts, target: &t}
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	home := sc.urlOf(sc.pathOf("/"), nil)
	sessions := 1
	if opts.Login != nil {
		sessions = 2
	}
	for i := 1; i <= sessions; i++ {
		add("GET %s  (session %d: token discovery)", home, i)
		for _, ep := range tokenEndpoints {
			add("GET %s  (session %d: token discovery, if none found yet)", sc.urlOf(ep, nil), i)
		}
		if opts.Login != nil {
			m := opts.Login.Method
			if m == "" {
				m = "POST"
			}
			add("%s %s  (session %d: login)", m, opts.Login.URL, i)
			add("GET %s  (session %d: token discovery after login)", home, i)
		}
	}
	paths := map[string]bool{sc.pathOf("/"): true}
	order := []string{sc.pathOf("/")}
	for _, op := range opts.Operations {
		if p := sc.pathOf(op.URLPath); !paths[p] {
			paths[p] = true
			order = append(order, p)
		}
	}
	for _, p := range order {
		add("OPTIONS %s  (CORS preflight from %s)", sc.urlOf(p, nil), AttackerOrigin)
		add("OPTIONS %s  (CORS preflight from null)", sc.urlOf(p, nil))
	}
	for _, op := range opts.Operations {
		if op.Method == "GET" {
			add("GET %s  (read-back twice, or %s: a cross-site navigation between two reads of the read-backs)", sc.urlOf(sc.pathOf(op.URLPath), op.Query), checks.ProbeGetEffect)
		}
	}
	for _, op := range opts.Operations {
		pol := op.Policy
		if !op.unsafe() && (pol == nil || !pol.Unsafe) {
			continue
		}
		u := sc.urlOf(sc.pathOf(op.URLPath), op.Query)
		if pol != nil && pol.Bypass {
			add("%s %s  (declared x-forgeproof bypass: not probed)", op.Method, u)
			continue
		}
		add("%s %s  (%s)", op.Method, u, checks.ProbeBaseline)
		if checks.Enforced(pol) {
			if pol.OneTimeTokens {
				add("%s %s  (%s: the baseline again)", op.Method, u, checks.ProbePolicyReplay)
			}
			if pol.Unsafe && !op.unsafe() {
				add("%s %s  (%s)", op.Method, u, checks.ProbePolicyCrossSiteGet)
			}
			if pol.JSONOnly && op.unsafe() {
				add("%s %s  (%s)", op.Method, u, checks.ProbePolicyTextPlain)
				add("%s %s  (%s)", op.Method, u, checks.ProbePolicyForm)
			}
			if pol.RequireHeader != "" {
				add("%s %s  (%s: without %s)", op.Method, u, checks.ProbePolicyNoHeader, pol.RequireHeader)
			}
			if len(pol.Roles) > 0 {
				add("%s %s  (%s: without the session's credentials)", op.Method, u, checks.ProbePolicyAnonymous)
			}
		}
		if !op.unsafe() {
			continue
		}
		mt := mediaType(op.ContentType)
		if isJSONType(mt) {
			add("%s %s  (%s: text/plain, then form-urlencoded)", op.Method, u, checks.ProbeContentType)
		}
		if opts.Login != nil {
			add("%s %s  (%s, if the token changed at login)", op.Method, u, checks.ProbeTokenPreLogin)
		}
		if mt == "application/x-www-form-urlencoded" {
			add("%s %s  (%s, if a token is found)", op.Method, u, checks.ProbeTokenMoved)
		}
		add("%s %s  (%s, if a token is found)", op.Method, u, checks.ProbeTokenBogus)
		if op.Method == "POST" {
			for _, id := range []string{checks.ProbeCrossSite, checks.ProbeOriginNull, checks.ProbeNoReferer, checks.ProbeFetchMetadata, checks.ProbeNoOrigin, checks.ProbeOtherScheme, checks.ProbeSameSitePort, checks.ProbeSameSite} {
				if id == checks.ProbeSameSite && sibling(&t) == "" {
					continue
				}
				add("POST %s  (%s)", u, id)
			}
			add("POST %s  (%s, if a token is found)", u, checks.ProbeTokenEmpty)
			if opts.Login != nil {
				add("POST %s  (%s, if a token is found)", u, checks.ProbeTokenOtherSession)
			}
			add("POST %s  (%s, if a token cookie is found)", u, checks.ProbeDoubleSubmit)
		}
		add("GET %s  (%s, with the body's fields in the query)", u, checks.ProbeGet)
		add("GET %s  (%s)", u, checks.ProbeGetControl)
		if op.Method != "POST" {
			over := url.Values{"_method": {op.Method}}
			add("POST %s  (%s)", sc.urlOf(sc.pathOf(op.URLPath), merge(op.Query, over)), checks.ProbeOverridePost)
			add("GET %s  (%s)", sc.urlOf(sc.pathOf(op.URLPath), merge(op.Query, over)), checks.ProbeOverrideGet)
			add("GET %s  (%s: X-HTTP-Method-Override: %s)", u, checks.ProbeOverrideHeader, op.Method)
		}
	}
	return out
}
