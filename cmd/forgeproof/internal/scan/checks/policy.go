package checks

import (
	"fmt"
	"strings"

	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/operations/rule"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/report"
)

// Enforced reports whether the rules of p, the protection that the API
// description declares for an operation, are expected to be enforced:
// declared, not report-only and not bypassed.
func Enforced(p *rule.Rule) bool { return p != nil && !p.ReportOnly && !p.Bypass }

// The probes of declared policies. Each is the legitimate request (the
// session's cookies and token, same-origin headers) changed in the one
// way that the declared rule must refuse.
const (
	// ProbePolicyTextPlain: the JSON body sent as text/plain (json_only).
	ProbePolicyTextPlain = "policy-text-plain"
	// ProbePolicyForm: the body's fields sent form-urlencoded
	// (json_only).
	ProbePolicyForm = "policy-form"
	// ProbePolicyNoHeader: the request without the required header
	// (require_header).
	ProbePolicyNoHeader = "policy-no-header"
	// ProbePolicyReplay: the baseline sent again with the same token
	// (one_time_tokens).
	ProbePolicyReplay = "policy-replay"
	// ProbePolicyCrossSiteGet: a GET declared unsafe, sent as a
	// cross-site navigation with the session's cookies (unsafe).
	ProbePolicyCrossSiteGet = "policy-cross-site-get"
	// ProbePolicyAnonymous: the request without the session's
	// credentials: its cookies (token cookies aside), Authorization and
	// the headers given with --header (roles).
	ProbePolicyAnonymous = "policy-anonymous"
)

// PolicyNotEnforced: the API description declares a rule for an operation
// (x-forgeproof) that the target does not enforce.
var PolicyNotEnforced = &Check{
	ID:       "policy-not-enforced",
	Title:    "operation does not enforce the policy its API description declares",
	Severity: report.High,
	Run: func(c *Check, p *Pass) {
		for _, op := range p.Ops {
			pol := op.Policy
			if !Enforced(pol) || op.Baseline == nil || !op.Baseline.Accepted {
				continue
			}
			// One finding per operation, naming every declared rule
			// that was not enforced; its evidence is the first probe.
			var first *Exchange
			var gaps []string
			gap := func(ex *Exchange, format string, args ...any) {
				if first == nil {
					first = ex
				}
				gaps = append(gaps, fmt.Sprintf(format, args...))
			}
			if pol.ReauthMaxAge > 0 && op.Method != "GET" {
				gap(op.Baseline, "reauth_max_age: %s is declared, but the request without any re-authentication proof was accepted", pol.ReauthMaxAge)
			}
			if pol.JSONOnly {
				for _, id := range []string{ProbePolicyTextPlain, ProbePolicyForm} {
					if ex := accepted(op, id); ex != nil {
						gap(ex, "json_only is declared, but the body sent as %s, which an HTML form can send cross-site, was accepted", ex.Request.Header.Get("Content-Type"))
						break
					}
				}
			}
			if pol.RequireHeader != "" {
				if ex := accepted(op, ProbePolicyNoHeader); ex != nil {
					gap(ex, "require_header: %s is declared, but the request without it was accepted", pol.RequireHeader)
				}
			}
			if pol.OneTimeTokens {
				if ex := accepted(op, ProbePolicyReplay); ex != nil {
					gap(ex, "one_time_tokens is declared, but the legitimate request sent a second time with the same token was accepted")
				}
			}
			if len(pol.Roles) > 0 {
				if ex := accepted(op, ProbePolicyAnonymous); ex != nil {
					gap(ex, "roles %s are declared, but the request without the session's credentials (cookies, Authorization, --header) was accepted", strings.Join(pol.Roles, ", "))
				}
			}
			if pol.Unsafe {
				if ex := accepted(op, ProbePolicyCrossSiteGet); ex != nil {
					gap(ex, "unsafe is declared (this GET changes state), but a cross-site navigation to it with the session's cookies was answered like the legitimate request: it is not checked like a POST")
				}
			}
			if first != nil {
				c.report(p, op.Method, op.Path, evidence(op, first, "x-forgeproof: "+strings.Join(gaps, "; ")), "")
			}
		}
	},
}
