package checks

import (
	"fmt"

	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/report"
)

// The probe ids. Baseline, ProbeContentType and ProbeTokenMoved are sent as
// a legitimate client would; the others are what a forging page can make a
// browser send.
const (
	ProbeBaseline = "baseline"
	// ProbeContentType sends the baseline with a JSON body re-encoded as a
	// form-sendable type (text/plain, then form-urlencoded).
	ProbeContentType = "content-type"
	// ProbeTokenMoved sends the token in the form field instead of the
	// header (or the reverse).
	ProbeTokenMoved = "token-moved"
	// ProbeTokenBogus sends the baseline with a made-up token of the real
	// token's shape: it is refused when the operation verifies tokens.
	ProbeTokenBogus = "token-bogus"
	// ProbeTokenPreLogin sends the baseline with the token the session had
	// before it signed in (with --login, when the two differ).
	ProbeTokenPreLogin = "token-pre-login"

	// ProbeCrossSite: Origin and Referer of another site,
	// Sec-Fetch-Site: cross-site, no token.
	ProbeCrossSite = "cross-site"
	// ProbeOriginNull: Origin: null (sandboxed frame), no token.
	ProbeOriginNull = "origin-null"
	// ProbeSameSite: Origin of a sibling subdomain,
	// Sec-Fetch-Site: same-site, no token.
	ProbeSameSite = "same-site"
	// ProbeSameSitePort: Origin of the target's host name on another
	// port, Sec-Fetch-Site: same-site, no token.
	ProbeSameSitePort = "same-site-port"
	// ProbeOtherScheme: Origin of the target's host on the other scheme
	// (http for an https target), Sec-Fetch-Site: cross-site, no token.
	ProbeOtherScheme = "other-scheme"
	// ProbeDoubleSubmit: a same-site request whose token cookies were
	// replaced by a value the attacker chose (cookie tossing from a
	// sibling subdomain) and whose token field carries the same value.
	ProbeDoubleSubmit = "double-submit"
	// ProbeNoReferer: cross-site Origin and Sec-Fetch-Site, no Referer
	// (Referrer-Policy: no-referrer), no token.
	ProbeNoReferer = "no-referer"
	// ProbeFetchMetadata: Sec-Fetch-Site: cross-site with no Origin and no
	// Referer, no token.
	ProbeFetchMetadata = "fetch-metadata"
	// ProbeNoOrigin: cookies only, with none of Origin, Referer and
	// Sec-Fetch-Site, and no token. It is evidence, never a finding on its
	// own: browsers always send Origin on a cross-site POST, so Go's
	// CrossOriginProtection and forgeproof (unless DenyMissingOrigin) let
	// such requests through as coming from non-browser clients.
	ProbeNoOrigin = "no-origin"
	// ProbeTokenEmpty: cross-site, the token field present but empty.
	ProbeTokenEmpty = "token-empty"
	// ProbeTokenOtherSession: cross-site, the token of another session in
	// the form field (an attacker can always obtain a token for their own
	// account).
	ProbeTokenOtherSession = "token-other-session"
	// ProbeGet: the action attempted by a top-level GET navigation with
	// the body's fields in the query string.
	ProbeGet = "get"
	// ProbeGetEffect: a GET operation sent as a cross-site top-level
	// navigation with the session's cookies, between two read-backs.
	ProbeGetEffect = "get-effect"
	// ProbeGetControl: the same GET without the fields, to tell an action
	// from a page that ignores them.
	ProbeGetControl = "get-control"
	// ProbeOverridePost: a cross-site form POST with _method naming the
	// operation's method.
	ProbeOverridePost = "override-post"
	// ProbeOverrideGet: a GET navigation with ?_method naming the method.
	ProbeOverrideGet = "override-get"
	// ProbeOverrideHeader: a GET with X-HTTP-Method-Override naming the
	// method.
	ProbeOverrideHeader = "override-header"
)

// AttackProbes are the probes that model a forging page, in the order the
// scanner sends them.
var AttackProbes = []string{
	ProbeCrossSite, ProbeOriginNull, ProbeSameSite, ProbeSameSitePort, ProbeOtherScheme, ProbeNoReferer, ProbeFetchMetadata,
	ProbeTokenEmpty, ProbeDoubleSubmit, ProbeTokenOtherSession, ProbeGet, ProbeGetEffect, ProbeOverridePost, ProbeOverrideGet, ProbeOverrideHeader,
}

// NoDefense: a cross-site request without a token is accepted, and the
// application issues no token.
var NoDefense = &Check{
	ID:       "no-csrf-defense",
	Title:    "state-changing request accepted from another site",
	Severity: report.High,
	Run: func(c *Check, p *Pass) {
		for _, op := range p.Ops {
			ex := accepted(op, ProbeCrossSite)
			switch {
			case ex == nil:
			case !op.Token:
				c.reportProbe(p, op, ex,
					"a request with a foreign Origin, Sec-Fetch-Site: cross-site and no anti-CSRF token was accepted like the legitimate one: neither the origin nor a token is verified")
			case accepted(op, ProbeTokenBogus) != nil:
				c.reportProbe(p, op, ex,
					"a request with a foreign Origin, Sec-Fetch-Site: cross-site and no anti-CSRF token was accepted like the legitimate one, and so was a made-up token: the application issues tokens, but this operation verifies neither them nor the origin")
			}
		}
	},
}

// TokenOptional: the application issues tokens but accepts a request
// without one.
var TokenOptional = &Check{
	ID:       "token-optional",
	Title:    "anti-CSRF token not required",
	Severity: report.High,
	Run: func(c *Check, p *Pass) {
		for _, op := range p.Ops {
			if ex := accepted(op, ProbeCrossSite); ex != nil && op.Token && accepted(op, ProbeTokenBogus) == nil {
				c.reportProbe(p, op, ex,
					"the legitimate request carried an anti-CSRF token, but a cross-site request without it was accepted too: the token is checked only when present")
			}
		}
	},
}

// bypass returns a Run function that reports probe's acceptance when the
// plain cross-site attack was refused (otherwise the bypass adds nothing).
func bypass(probe, detail string) func(*Check, *Pass) {
	return func(c *Check, p *Pass) {
		for _, op := range p.Ops {
			if accepted(op, ProbeCrossSite) != nil {
				continue
			}
			if ex := accepted(op, probe); ex != nil {
				c.reportProbe(p, op, ex, detail)
			}
		}
	}
}

// TokenEmpty: an empty token field passes.
var TokenEmpty = &Check{
	ID:       "token-empty-accepted",
	Title:    "empty anti-CSRF token accepted",
	Severity: report.High,
	Run: bypass(ProbeTokenEmpty,
		"a cross-site request whose token field was present but empty was accepted, while one without the field was refused"),
}

// TokenNotSessionBound: another session's token passes.
var TokenNotSessionBound = &Check{
	ID:       "token-not-session-bound",
	Title:    "anti-CSRF token not bound to the session",
	Severity: report.High,
	Run: bypass(ProbeTokenOtherSession,
		"a cross-site request carrying a token issued to another session was accepted: an attacker can use the token of their own account"),
}

// OriginNull: Origin: null passes.
var OriginNull = &Check{
	ID:       "origin-null-accepted",
	Title:    "Origin: null accepted",
	Severity: report.High,
	Run: bypass(ProbeOriginNull,
		"a request with Origin: null, which any page can produce from a sandboxed iframe, was accepted, while a foreign Origin was refused"),
}

// SameSiteOrigin: an origin of the same site (a sibling subdomain,
// another port) passes.
var SameSiteOrigin = &Check{
	ID:       "same-site-origin-accepted",
	Title:    "request from another origin of the same site accepted",
	Severity: report.Medium,
	Run: func(c *Check, p *Pass) {
		for _, op := range p.Ops {
			if accepted(op, ProbeCrossSite) != nil {
				continue
			}
			if ex := accepted(op, ProbeSameSite); ex != nil {
				c.reportProbe(p, op, ex, "a request from a sibling subdomain (Sec-Fetch-Site: same-site) was accepted like a same-origin one; anyone who controls or takes over any subdomain can forge requests, and SameSite cookies do not stop them")
			} else if ex := accepted(op, ProbeSameSitePort); ex != nil {
				c.reportProbe(p, op, ex, fmt.Sprintf("a request from %s, another port of the same host (Sec-Fetch-Site: same-site), was accepted like a same-origin one: the origin check ignores the port, so any service on another port of this host can forge requests, and SameSite cookies do not stop it", ex.Request.Header.Get("Origin")))
			}
		}
	},
}

// OriginSchemeIgnored: the target's host on the other scheme passes.
var OriginSchemeIgnored = &Check{
	ID:       "origin-scheme-ignored",
	Title:    "Origin of the same host over another scheme accepted",
	Severity: report.Medium,
	Run: bypass(ProbeOtherScheme,
		"a request whose Origin named this host over the other scheme (http:// for https://) was accepted, while a foreign Origin was refused: the origin check compares the host only; a network attacker who answers for the plain-http origin can forge requests"),
}

// DoubleSubmitNaive: a token cookie set by the attacker passes with the
// same value in the form.
var DoubleSubmitNaive = &Check{
	ID:       "double-submit-naive",
	Title:    "double-submit token accepted from a tossed cookie",
	Severity: report.Medium,
	Run: func(c *Check, p *Pass) {
		for _, op := range p.Ops {
			// Only when the same-site request without a token, a made-up
			// token and another session's token were all refused does
			// the tossed cookie make the difference.
			if accepted(op, ProbeCrossSite) != nil || accepted(op, ProbeSameSite) != nil || accepted(op, ProbeSameSitePort) != nil ||
				accepted(op, ProbeTokenBogus) != nil || accepted(op, ProbeTokenOtherSession) != nil {
				continue
			}
			if ex := accepted(op, ProbeDoubleSubmit); ex != nil {
				c.reportProbe(p, op, ex, "a same-site request whose token cookie was replaced by a made-up value, with the same value in the form, was accepted: the token is compared with the cookie only, and a sibling subdomain (or a network attacker on plain http) can set that cookie; sign the token with a server secret bound to the session, or use the __Host- prefix and check the Origin")
			}
		}
	},
}

// RefererOptional: the Referer is checked only when present.
var RefererOptional = &Check{
	ID:       "referer-optional",
	Title:    "Referer checked only when present",
	Severity: report.High,
	Run: bypass(ProbeNoReferer,
		"a cross-site request without a Referer (a page can suppress it with Referrer-Policy: no-referrer) was accepted, while one with a foreign Referer was refused; the Origin header is ignored"),
}

// FetchMetadataIgnored: Sec-Fetch-Site: cross-site is ignored when Origin
// is absent.
var FetchMetadataIgnored = &Check{
	ID:       "fetch-metadata-ignored",
	Title:    "Sec-Fetch-Site: cross-site ignored",
	Severity: report.Low,
	Run: bypass(ProbeFetchMetadata,
		"a request marked Sec-Fetch-Site: cross-site without Origin and Referer was accepted: the server relies on Origin or Referer alone and ignores the browser's Fetch Metadata"),
}

// ContentTypeDowngrade: a JSON operation accepts its body as a type that
// forms can send, which made an attack possible.
var ContentTypeDowngrade = &Check{
	ID:       "content-type-downgrade",
	Title:    "JSON endpoint accepts a form-sendable content type",
	Severity: report.Medium,
	Run: func(c *Check, p *Pass) {
		for _, op := range p.Ops {
			for _, id := range []string{ProbeCrossSite, ProbeOriginNull, ProbeSameSite, ProbeNoReferer, ProbeTokenEmpty, ProbeTokenOtherSession} {
				ex := accepted(op, id)
				if ex == nil || ex.ContentType == "" {
					continue
				}
				if id != ProbeCrossSite && accepted(op, ProbeCrossSite) != nil {
					continue
				}
				c.reportProbe(p, op, ex, fmt.Sprintf(
					"the JSON body was accepted as %s, which an HTML form sends cross-site without a CORS preflight; require application/json", ex.ContentType))
				break
			}
		}
	},
}

// MethodOverride: a method override lets a form or a link perform the
// operation.
var MethodOverride = &Check{
	ID:       "method-override",
	Title:    "method override lets a cross-site request perform the action",
	Severity: report.High,
	Run: func(c *Check, p *Pass) {
		for _, op := range p.Ops {
			for _, id := range []string{ProbeOverrideGet, ProbeOverridePost, ProbeOverrideHeader} {
				ex := accepted(op, id)
				switch {
				case ex == nil:
					continue
				case id == ProbeOverridePost:
					// A POST is checked whatever it overrides: the operation
					// itself is unprotected, and the override (Rails's
					// Rack::MethodOverride, Laravel, Express's
					// method-override) lets any page's form reach it.
					c.reportProbe(p, op, ex, fmt.Sprintf(
						"%s %s was performed by a cross-site form POST with _method=%s: the application applies the method override, and the operation verifies neither a token nor the origin, so a browser's inability to send %s cross-site does not protect it", op.Method, op.Path, op.Method, op.Method))
				default:
					c.reportProbe(p, op, ex, fmt.Sprintf(
						"%s %s was performed by a %s request carrying a method override (%s); the CSRF check ran on the original method", op.Method, op.Path, ex.Request.Method, id))
				}
				break
			}
		}
	},
}

// GetChangesState: the action can be performed with GET, which cookies
// with SameSite=Lax accompany on top-level navigations.
var GetChangesState = &Check{
	ID:       "get-changes-state",
	Title:    "state changed by a GET request",
	Severity: report.High,
	Run: func(c *Check, p *Pass) {
		seen := map[string]bool{}
		for _, op := range p.Ops {
			ex := accepted(op, ProbeGet)
			if ex == nil {
				continue
			}
			if ctl := op.Probes[ProbeGetControl]; ctl != nil && ctl.Status/100 == ex.Status/100 && Similarity(ctl.Body, ex.Body) >= 0.95 {
				continue // the GET ignores the fields: a page, not the action
			}
			seen["GET "+op.Path] = true
			c.report(p, "GET", op.Path, evidence(op, ex, fmt.Sprintf(
				"%s %s was also performed by a GET navigation with its fields in the query string; SameSite=Lax cookies are sent on such navigations and no CSRF check applies to GET", op.Method, op.Path)), PoC(op, ex))
		}
		for _, e := range p.GetEffects {
			if seen["GET "+e.Path] {
				continue
			}
			seen["GET "+e.Path] = true
			ex := e.Exchange
			c.report(p, "GET", e.Path, report.Evidence{
				Probe: ex.Probe, Request: DumpRequest(ex.Request), Status: ex.Status,
				Detail: fmt.Sprintf("GET %s, sent as a cross-site top-level navigation with the session's cookies, changed what %s answers: the GET changes state, SameSite=Lax cookies are sent on such navigations, and no CSRF check applies to GET", e.Path, e.Observer),
			}, PoC(&Op{Method: "GET", Path: e.Path}, ex))
		}
		for _, d := range p.Declared {
			if d.Method != "GET" || seen["GET "+d.Path] || !StateVerb(d.Path+" "+d.OperationID+" "+d.Summary) {
				continue
			}
			why := "no read-back operation answered the same twice, so the scanner could not observe its effect (give a GET that reads the state back, such as --endpoint \"GET /api/me\")"
			if p.Observers > 0 {
				why = "no change was observed in the read-back operations after it"
			}
			c.reportAt(p, report.Low, "GET", d.Path, report.Evidence{Detail: fmt.Sprintf(
				"the API declares GET %s (%s), whose name suggests it changes state; %s. A name is a hint only: check that a GET does not change state", d.Path, firstNonEmpty(d.OperationID, d.Summary, "no operationId"), why)}, "")
		}
	},
}

// accepted returns op's probe exchange if the server accepted it.
func accepted(op *Op, probe string) *Exchange {
	if op.Baseline == nil || !op.Baseline.Accepted {
		return nil
	}
	if ex := op.Probes[probe]; ex != nil && ex.Accepted {
		return ex
	}
	return nil
}

// reportProbe reports op as performed by the accepted probe ex, with its
// evidence and a proof-of-concept page.
func (c *Check) reportProbe(p *Pass, op *Op, ex *Exchange, detail string) {
	c.report(p, op.Method, op.Path, evidence(op, ex, detail), PoC(op, ex))
}

func evidence(op *Op, ex *Exchange, detail string) report.Evidence {
	ev := report.Evidence{
		Probe:          ex.Probe,
		Request:        DumpRequest(ex.Request),
		Status:         ex.Status,
		BaselineStatus: op.Baseline.Status,
		Similarity:     round2(ex.Similarity),
		Detail:         detail,
	}
	// Name the reason the server gave to the stricter probe, if any: it
	// shows which rule let the bypass through.
	if cs := op.Probes[ProbeCrossSite]; cs != nil && cs != ex {
		ev.Reason = cs.Reason
	}
	return ev
}

func round2(f float64) float64 { return float64(int(f*100+0.5)) / 100 }

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
