// Package gateway is a reverse proxy that puts forgeproof's CSRF defenses in
// front of a backend that cannot be changed.
//
// A [Gateway] checks every request with one [forgeproof.Protection] built
// from [Options.Protection] and the per-route rules of [Options.Routes],
// then proxies the requests that pass to an upstream with
// [httputil.ReverseProxy]. On the way back it hardens the backend's cookies,
// adds security headers, applies an explicit CORS policy, rotates the token
// when the backend starts a new session, and can insert the token into HTML
// pages. The gateway itself decides nothing about CSRF: every verdict is the
// library's.
//
// # Reserved endpoints
//
// Paths under [Options.ReservedPrefix] ("/.forgeproof/" by default) are
// answered by the gateway and never proxied:
//
//   - GET PREFIX+"token" answers {"token", "header", "field"} with a fresh
//     masked token and sets the token cookie. It is checked by the library
//     like a state-changing request, so only same-origin pages can call it.
//   - GET PREFIX+"one-time-token" answers the same with a token that a
//     route with OneTimeTokens accepts once, under the same check.
//   - GET PREFIX+"csrf.js" is a small script that keeps the token in memory
//     and adds it to the page's same-origin unsafe fetch and XMLHttpRequest
//     calls and POST forms.
//
// # WebSocket
//
// An Upgrade request is checked by the library's
// [forgeproof.Protection.OriginHandler], as a state-changing request without
// token (browsers cannot add headers to a WebSocket handshake), so a
// cross-site handshake is refused by the origin layer; the same request, path
// and all, is then passed through.
package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path"
	"slices"
	"strings"

	"github.com/forgeproof/forgeproof"
	"github.com/forgeproof/forgeproof/internal/problem"
	"golang.org/x/net/publicsuffix"
)

// Gateway is an http.Handler that checks every request with one
// forgeproof.Protection and proxies the ones that pass to an upstream.
// Create one with [New]; it is safe for concurrent use.
type Gateway struct {
	prot      *forgeproof.Protection
	upstreams []*upstream
	routes    map[string]*route // by pattern; the library picks the pattern
	dflt      *route            // rules for requests that match no route

	prefix        string
	tokenPath     string
	oneTimePath   string
	scriptPath    string
	maxBody       int64
	maxHeader     int64
	sessionCookie string
	tokenHeader   string // request header that carries the token
	tokenField    string
	rotatedHeader string // response header with a rotated token
	log           *slog.Logger

	validating  bool                   // some route has a validator
	maxValidate int64                  // bound on a body held to be validated
	unknown     UnknownPolicy          // for requests that match no route
	reportOnly  bool                   // Protection.ReportOnly
	onDecision  func(forgeproof.Event) // Protection.OnDecision
	// Protection.OnRequestDecision
	onRequestDecision func(*http.Request, forgeproof.Event)

	protected  http.Handler // library in front of the proxy
	wsChecked  http.Handler // library in front of the proxy, for upgrades
	tokenH     http.Handler // library in front of serveToken
	oneTimeH   http.Handler // library in front of serveToken, one-time
	onIssued   func(kind string)
	reauth     reauthGate // the step-up endpoint (reauth.go)
	roles      roleGate   // the role check (roles.go)
	script     []byte
	scriptETag string
}

// A route is a compiled [Route].
type route struct {
	pattern  string
	cookies  []CookieRule
	headers  compiledHeaders
	cors     *compiledCORS
	inject   bool
	noTokens bool // the library reads no token on this route

	roles      []string         // any one of them is required; nil for none
	validator  RequestValidator // nil: requests are not validated
	method     string           // the method of the pattern, "" for any
	checkSafe  bool             // safe methods are checked (and validated)
	reportOnly bool             // the route's denials are only reported
}

// New returns a Gateway for opts, or an error naming every field that is
// wrong.
func New(opts Options) (*Gateway, error) {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("gateway: "+format, args...))
	}

	g := &Gateway{
		prefix:        opts.ReservedPrefix,
		maxBody:       opts.MaxBodyBytes,
		maxHeader:     opts.MaxHeaderBytes,
		sessionCookie: opts.Protection.SessionCookie,
		rotatedHeader: opts.TokenResponseHeader,
		onIssued:      opts.OnTokenIssued,
		log:           opts.Logger,
		routes:        make(map[string]*route),
		maxValidate:   opts.MaxValidatedBodyBytes,
		unknown:       opts.UnknownPaths,
		reportOnly:    opts.Protection.ReportOnly,
		onDecision:    opts.Protection.OnDecision,

		onRequestDecision: opts.Protection.OnRequestDecision,
	}
	if g.maxValidate == 0 {
		g.maxValidate = DefaultMaxValidatedBodyBytes
	}
	if g.maxValidate < 0 {
		bad("MaxValidatedBodyBytes %d is negative; use 0 for the default of 1 MiB", g.maxValidate)
	}
	if g.unknown > UnknownDeny {
		bad("UnknownPaths %d is not an UnknownPolicy; use UnknownPass, UnknownReport or UnknownDeny", g.unknown)
	}
	if g.prefix == "" {
		g.prefix = "/.forgeproof/"
	}
	if !strings.HasPrefix(g.prefix, "/") || !strings.HasSuffix(g.prefix, "/") || len(g.prefix) < 3 || path.Clean(g.prefix)+"/" != g.prefix {
		bad("ReservedPrefix %q must be a clean path that starts and ends with \"/\", such as \"/.forgeproof/\"", opts.ReservedPrefix)
		g.prefix = "/.forgeproof/"
	}
	g.tokenPath = g.prefix + "token"
	g.oneTimePath = g.prefix + "one-time-token"
	g.scriptPath = g.prefix + "csrf.js"
	if g.maxBody == 0 {
		g.maxBody = 10 << 20
	}
	if g.maxHeader == 0 {
		g.maxHeader = 64 << 10
	}
	if g.maxHeader < 0 {
		bad("MaxHeaderBytes %d is negative; use 0 for the default of 64 KiB", g.maxHeader)
	}
	if g.log == nil {
		g.log = slog.Default()
	}

	// Upstreams.
	if len(opts.Upstreams) == 0 {
		bad("no upstream: set Options.Upstreams to at least one backend URL")
	}
	for i, u := range opts.Upstreams {
		up, err := newUpstream(g, i, u, opts.FlushInterval)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		g.upstreams = append(g.upstreams, up)
	}

	// Defaults for requests outside every route.
	dh, err := compileHeaders(opts.Headers)
	if err != nil {
		bad("Headers: %v", err)
	}
	if err := checkCookieRules(opts.Cookies); err != nil {
		bad("Cookies: %v", err)
	}
	g.dflt = &route{cookies: opts.Cookies, headers: dh, inject: opts.InjectHTML == nil || *opts.InjectHTML}
	// CORS policies name the token header, which the library resolves:
	// they are compiled once it is built.
	corsOf := map[*route]*CORS{g.dflt: opts.CORS}
	corsName := map[*route]string{g.dflt: "CORS"}

	// Routes, and the library rules that go with them.
	cfg := opts.Protection
	// The library's events go through the gateway, which merges them with
	// its own layers' verdicts (decision.go).
	cfg.OnDecision, cfg.OnRequestDecision = nil, nil
	if g.observed() {
		cfg.OnRequestDecision = g.decided
	}
	cfg.Routes = slices.Clone(cfg.Routes)
	if cfg.PublicSuffixList == nil {
		// Refuse trusted-origin patterns over any public suffix, private
		// ones (*.github.io) included, not only those the library knows.
		cfg.PublicSuffixList = publicsuffix.List
	}
	for i, r := range opts.Routes {
		// A bad pattern is reported by the library, with the others.
		if _, p, err := forgeproof.SplitPattern(r.Pattern); err == nil && (strings.HasPrefix(p, g.prefix) || p+"/" == g.prefix) {
			bad("Routes[%d] pattern %q is under the reserved prefix %q; choose another path or change ReservedPrefix", i, r.Pattern, g.prefix)
			continue
		}
		rt := &route{pattern: r.Pattern, cookies: g.dflt.cookies, headers: g.dflt.headers, inject: g.dflt.inject,
			validator: r.Validator, checkSafe: r.Protect.CheckSafeMethods, reportOnly: r.Protect.ReportOnly}
		corsOf[rt] = opts.CORS
		corsName[rt] = "CORS"
		if r.Cookies != nil {
			if err := checkCookieRules(r.Cookies); err != nil {
				bad("Routes[%d] (%q) Cookies: %v", i, r.Pattern, err)
			}
			rt.cookies = r.Cookies
		}
		if r.Headers != nil {
			if rt.headers, err = compileHeaders(*r.Headers); err != nil {
				bad("Routes[%d] (%q) Headers: %v", i, r.Pattern, err)
			}
		}
		if r.CORS != nil {
			corsOf[rt] = r.CORS
			corsName[rt] = fmt.Sprintf("Routes[%d] (%q) CORS", i, r.Pattern)
		}
		if r.InjectHTML != nil {
			rt.inject = *r.InjectHTML
		}
		if err := g.routeRoles(rt, i, r, opts.Identity); err != nil {
			errs = append(errs, err)
		}
		g.routes[r.Pattern] = rt
		if r.Validator != nil {
			g.validating = true
			rt.method, _, _ = forgeproof.SplitPattern(r.Pattern)
		}
		lr := r.Protect
		lr.Pattern = r.Pattern
		cfg.Routes = append(cfg.Routes, lr)
	}

	if err := g.initReauth(&opts, &cfg); err != nil {
		errs = append(errs, err)
	}
	// The token endpoints are checked like state-changing requests, so
	// that only the application's own pages obtain tokens from them; they
	// need no token themselves.
	for _, p := range []string{g.tokenPath, g.oneTimePath} {
		cfg.Routes = append(cfg.Routes, forgeproof.Route{
			Pattern:          "GET " + p,
			CheckSafeMethods: true,
			Tokens:           forgeproof.TokensOff,
		})
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	prot, err := forgeproof.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("gateway: Protection: %w", err)
	}
	g.prot = prot
	// The token's names are the library's, defaults included.
	g.tokenHeader, g.tokenField = prot.HeaderName(), prot.FieldName()
	if g.rotatedHeader == "" {
		g.rotatedHeader = g.tokenHeader
	}
	compiled := map[*CORS]*compiledCORS{}
	for rt, c := range corsOf {
		if cc, ok := compiled[c]; ok {
			rt.cors = cc
			continue
		}
		cc, err := compileCORS(c, g.tokenHeader)
		if err != nil {
			errs = append(errs, fmt.Errorf("gateway: %s: %v", corsName[rt], err))
		}
		compiled[c], rt.cors = cc, cc
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}

	if err := g.initRoles(opts); err != nil {
		return nil, err
	}
	g.protected = prot.Handler(http.HandlerFunc(g.serveChecked))
	g.wsChecked = prot.OriginHandler(http.HandlerFunc(g.proxyUpgrade))
	g.tokenH = prot.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { g.serveToken(w, r, false) }))
	g.oneTimeH = prot.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { g.serveToken(w, r, true) }))
	g.finishReauth()
	g.script, g.scriptETag = buildScript(g.tokenPath, g.oneTimePath, g.tokenHeader, g.tokenField, g.rotatedHeader)
	return g, nil
}

// match returns the route for a request, or the defaults. The library
// decides which route pattern governs the request, so that the gateway's
// settings and the library's rules always come from the same route.
func (g *Gateway) match(method, urlPath string) *route {
	if rt, ok := g.routes[g.prot.RoutePattern(method, urlPath)]; ok {
		return rt
	}
	return g.dflt
}

// exchange is the state of one proxied request, carried to the proxy's
// hooks in the request context.
type exchange struct {
	in    *http.Request // the request as the gateway received it
	route *route
	body  *limitedBody // nil when the request has no body
	// smallBytes is the request body read whole before proxying, or nil
	// (see Gateway.proxy); the inbound request's Body then reads it.
	smallBytes []byte
	// w is the client's response writer, once the request is proxied
	// (see handOver).
	w http.ResponseWriter

	verdict verdict // the request's decision event (decision.go)
}

// resend returns the small request body anew, for the request's GetBody.
func (ex *exchange) resend() (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(ex.smallBytes)), nil
}

type exchangeKey struct{}

func exchangeOf(r *http.Request) *exchange {
	ex, _ := r.Context().Value(exchangeKey{}).(*exchange)
	return ex
}

// exchangeCtx is a request's context with its exchange and the bounded
// body in the same allocation, where context.WithValue, the exchange and
// the body would each take one: the gateway pays it on every request.
type exchangeCtx struct {
	context.Context
	ex   exchange
	body limitedBody
}

// Value returns the exchange for exchangeKey and asks the parent context
// for every other key.
func (c *exchangeCtx) Value(key any) any {
	if _, ok := key.(exchangeKey); ok {
		return &c.ex
	}
	return c.Context.Value(key)
}

// ServeHTTP answers requests under the reserved prefix itself, checks every
// other request with the library and proxies the ones that pass.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if n := headerSize(r); n > g.maxHeader {
		g.fail(w, http.StatusRequestHeaderFieldsTooLarge, "header-too-large",
			"Request Header Fields Too Large",
			fmt.Sprintf("the request's header fields take %d bytes, more than the %d allowed; send fewer or smaller cookies and headers", n, g.maxHeader))
		return
	}
	if strings.HasPrefix(r.URL.Path, g.prefix) {
		g.serveReserved(w, r)
		return
	}
	if r.Body != nil && r.Body != http.NoBody && g.maxBody > 0 && r.ContentLength > g.maxBody {
		g.tooLarge(w)
		return
	}
	xc := &exchangeCtx{Context: r.Context()}
	ex := &xc.ex
	*ex = exchange{in: r, route: g.match(r.Method, r.URL.Path)}
	if r.Body != nil && r.Body != http.NoBody && g.maxBody > 0 {
		xc.body = limitedBody{rc: r.Body, left: g.maxBody}
		ex.body = &xc.body
		r.Body = ex.body
	}
	// Attached before the role check, so that every layer's verdict is
	// merged into the request's one decision event (decision.go).
	r = r.WithContext(xc)
	if c := g.preflightPolicy(r); c != nil {
		if origin := r.Header.Get("Origin"); origin != "" {
			g.preflight(w, r, c, origin)
			return
		}
	}
	if g.roles.v != nil && g.refuseByRole(w, r) {
		return
	}
	if g.unknown != UnknownPass && ex.route == g.dflt && !g.known(r) && !g.refuse(w, r, g.dflt, forgeproof.ReasonOperationUnknown, nil) {
		return
	}
	if isUpgrade(r) {
		// The handshake is judged and proxied as the same request.
		g.wsChecked.ServeHTTP(w, r)
		return
	}
	if ex.body != nil && r.ContentLength < 0 {
		// A streamed body may cross the bound while the library reads
		// a form for its token; the answer is then 413, not the
		// library's body-unreadable.
		w = &limitWriter{ResponseWriter: w, g: g, body: ex.body}
	}
	g.protected.ServeHTTP(w, r)
}

// limitWriter answers 413 in place of whatever response is started after
// the request body crossed the bound.
type limitWriter struct {
	http.ResponseWriter
	g       *Gateway
	body    *limitedBody
	started bool
	swallow bool
}

func (w *limitWriter) WriteHeader(code int) {
	if w.started {
		return
	}
	w.started = true
	if w.body.exceeded.Load() && code != http.StatusRequestEntityTooLarge {
		w.swallow = true
		w.g.tooLarge(w.ResponseWriter)
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *limitWriter) Write(p []byte) (int, error) {
	if !w.started {
		w.WriteHeader(http.StatusOK)
	}
	if w.swallow {
		return len(p), nil
	}
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the connection's Flush.
func (w *limitWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// isUpgrade reports whether r asks to switch protocols (WebSocket).
func isUpgrade(r *http.Request) bool {
	return r.Header.Get("Upgrade") != "" && headerHasToken(r.Header, "Connection", "upgrade")
}

// headerHasToken reports whether the comma-separated header values contain
// token, compared without regard to case.
func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for part := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(part), token) {
				return true
			}
		}
	}
	return false
}

// headerSize returns the size of r's request line and header fields as
// they were on the wire (HTTP/1.1 framing).
func headerSize(r *http.Request) int64 {
	n := int64(len(r.Method) + 1 + len(r.RequestURI) + 1 + len(r.Proto) + 2)
	n += int64(len("Host: ") + len(r.Host) + 2)
	for k, vs := range r.Header {
		for _, v := range vs {
			n += int64(len(k) + 2 + len(v) + 2)
		}
	}
	return n
}

// problemType returns the documentation URL of one of the gateway's own
// problem types.
func problemType(name string) string {
	return "https://github.com/forgeproof/forgeproof/blob/main/docs/GATEWAY.md#" + name
}

// fail writes one of the gateway's own problem responses.
func (g *Gateway) fail(w http.ResponseWriter, status int, name, title, detail string) {
	problem.Write(w, problem.Details{Type: problemType(name), Title: title, Status: status, Detail: detail})
}

func (g *Gateway) tooLarge(w http.ResponseWriter) {
	w.Header().Set("Connection", "close")
	g.fail(w, http.StatusRequestEntityTooLarge, "body-too-large", "Content Too Large",
		fmt.Sprintf("the request body is larger than the %d bytes allowed; send a smaller body", g.maxBody))
}
