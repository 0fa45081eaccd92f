package gateway

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"

	"github.com/forgeproof/forgeproof"
	"github.com/forgeproof/forgeproof/internal/problem"
)

// DefaultMaxValidatedBodyBytes bounds a request body held in memory to be
// validated (1 MiB).
const DefaultMaxValidatedBodyBytes = 1 << 20

// A RequestValidator checks a request against the operation of an API
// description that its route stands for, such as an operation of an
// OpenAPI document.
type RequestValidator interface {
	// ValidateRequest checks r, whose body has been read into body (nil
	// when the request has none), and returns nil when the request
	// matches the operation. It may read r.Body, which holds the same
	// bytes; it must not keep r or body after it returns, and must be
	// safe for concurrent use.
	ValidateRequest(r *http.Request, body []byte) *Invalid
}

// Invalid says why a request does not match its operation. It never holds
// a value taken from the request.
type Invalid struct {
	// Reason is [forgeproof.ReasonRequestInvalid] or
	// [forgeproof.ReasonMediaTypeUnsupported].
	Reason forgeproof.Reason

	// Detail says what is wrong, such as `property "amount" is missing`.
	Detail string

	// In is where the offending value is: "body", or the location of a
	// parameter ("path", "query", "header", "cookie").
	In string

	// Pointer is the JSON pointer (RFC 6901) to the offending field of the
	// body, such as "/amount"; "" is the whole body. Only with In "body".
	Pointer string

	// Parameter is the name of the offending parameter, when In is not
	// "body".
	Parameter string
}

// UnknownPolicy says what the gateway does with a request that matches no
// route, when the routes describe the whole API (see
// [Options.UnknownPaths]).
type UnknownPolicy uint8

const (
	// UnknownPass proxies the request as any other.
	UnknownPass UnknownPolicy = iota
	// UnknownReport proxies the request and reports it as an
	// operation-unknown denial in report-only mode.
	UnknownReport
	// UnknownDeny refuses the request with 404 and the reason
	// operation-unknown.
	UnknownDeny
)

// String returns "pass", "report" or "deny".
func (p UnknownPolicy) String() string {
	switch p {
	case UnknownReport:
		return "report"
	case UnknownDeny:
		return "deny"
	}
	return "pass"
}

// reasonDocs is where each reason is documented.
const reasonDocs = "https://github.com/forgeproof/forgeproof/blob/main/docs/REASONS.md#"

// serveChecked validates a request that the library let through against
// the operations it might reach, and proxies it if it passes.
func (g *Gateway) serveChecked(w http.ResponseWriter, r *http.Request) {
	pass := true
	if g.validating {
		if rts := g.toValidate(r); len(rts) > 0 {
			pass = g.validate(w, r, rts)
		}
	}
	// Every layer has decided.
	g.flushDecision(r)
	if pass {
		g.proxy(w, r)
	}
}

// toValidate returns the routes with a validator that r must pass: those
// of every route that some common router might dispatch r to, as the
// library judges it (its path as routers read it, its method and every
// method override), when the library checks that route's method. A
// request whose path one router reads as a described operation's is
// validated against it, whatever the others read.
func (g *Gateway) toValidate(r *http.Request) []*route {
	var rts []*route
	for _, p := range g.prot.CandidatePatterns(r) {
		rt := g.routes[p]
		if rt == nil || rt.validator == nil || slices.Contains(rts, rt) {
			continue
		}
		m := rt.method
		if m == "" {
			m = r.Method
		}
		if rt.checkSafe || !safeMethod(m) {
			rts = append(rts, rt)
		}
	}
	return rts
}

// known reports whether some route of the gateway governs r, however a
// common router reads it.
func (g *Gateway) known(r *http.Request) bool {
	for _, p := range g.prot.CandidatePatterns(r) {
		if g.routes[p] != nil {
			return true
		}
	}
	return false
}

// validate reads the body of r, at most g.maxValidate bytes of it, checks
// the request with the validator of each route and puts the same bytes
// back as the body for the backend. It reports a failure, and answers it
// unless the failing route is in report-only mode; it returns whether to
// proxy the request.
func (g *Gateway) validate(w http.ResponseWriter, r *http.Request, rts []*route) bool {
	var body []byte
	if r.Body != nil && r.Body != http.NoBody {
		b, err := io.ReadAll(io.LimitReader(r.Body, g.maxValidate+1))
		switch {
		case errors.Is(err, errBodyTooLarge):
			g.tooLarge(w)
			return false
		case err != nil:
			// The client went away or sent a broken body: nobody is
			// waiting for an answer that names a field.
			g.fail(w, http.StatusBadRequest, "body-read-failed", "Bad Request",
				"the request body could not be read; send it again")
			return false
		case int64(len(b)) > g.maxValidate:
			if !g.refuse(w, r, rts[0], forgeproof.ReasonRequestTooLarge, &Invalid{
				Detail: fmt.Sprintf("the body is larger than the %d bytes the gateway validates", g.maxValidate),
				In:     "body",
			}) {
				return false
			}
			// Report-only: the backend gets the whole body, unvalidated.
			r.Body = struct {
				io.Reader
				io.Closer
			}{io.MultiReader(bytes.NewReader(b), r.Body), r.Body}
			return true
		}
		body = b
		setBody(r, body)
	}
	pass := true
	for _, rt := range rts {
		inv := rt.validator.ValidateRequest(r, body)
		if body != nil {
			setBody(r, body) // the validator may have read it
		}
		if inv != nil && !g.refuse(w, r, rt, inv.Reason, inv) {
			pass = false
			break
		}
	}
	return pass
}

// setBody makes b the body of r, sent with its length.
func setBody(r *http.Request, b []byte) {
	r.Body = io.NopCloser(bytes.NewReader(b))
	r.ContentLength = int64(len(b))
	r.TransferEncoding = nil
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
}

// refuse notes the verdict on a request refused by validation or by the
// unknown-path policy (decision.go), and answers it with a problem+json body naming the
// reason and the offending field, unless the refusal is report-only. It
// returns whether the request is to be proxied all the same.
func (g *Gateway) refuse(w http.ResponseWriter, r *http.Request, rt *route, reason forgeproof.Reason, inv *Invalid) bool {
	reportOnly := g.reportOnly || rt.reportOnly || (reason == forgeproof.ReasonOperationUnknown && g.unknown == UnknownReport)
	if g.observed() {
		g.noteDecision(r, forgeproof.Event{
			Decision:      forgeproof.Denied,
			Reason:        reason,
			ReportOnly:    reportOnly,
			Method:        r.Method,
			Path:          r.URL.Path,
			Route:         rt.pattern,
			Origin:        r.Header.Get("Origin"),
			RefererOrigin: refererOrigin(r.Header.Get("Referer")),
			SecFetchSite:  r.Header.Get("Sec-Fetch-Site"),
			RemoteAddr:    r.RemoteAddr,
		}, false)
	}
	if reportOnly {
		return true
	}
	members := []problem.Member{{Name: "reason", Value: reason.String()}}
	detail := reason.Title()
	if inv != nil {
		if inv.Detail != "" {
			detail = inv.Detail
		}
		switch {
		case inv.In == "body":
			members = append(members, problem.Member{Name: "pointer", Value: inv.Pointer})
		case inv.In != "":
			members = append(members, problem.Member{Name: "parameter", Value: inv.Parameter}, problem.Member{Name: "in", Value: inv.In})
		}
	}
	if reason == forgeproof.ReasonRequestTooLarge {
		w.Header().Set("Connection", "close")
	}
	problem.Write(w, problem.Details{
		Type:   reasonDocs + reason.String(),
		Title:  reason.Title(),
		Status: reason.Status(),
		Detail: detail,
	}, members...)
	return false
}

// refererOrigin returns the origin of a Referer header value, or "".
func refererOrigin(ref string) string {
	if ref == "" {
		return ""
	}
	u, err := url.Parse(ref)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// safeMethod reports whether m is a method that the library does not check
// unless a route asks it to.
func safeMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	return false
}
