package forgeproof

import (
	"fmt"
	"log"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/forgeproof/forgeproof/internal/problem"
)

// Protection is the CSRF defense: net/http middleware ([Protection.Handler])
// and the pure decision behind it ([Protection.Check]). Create one with
// [New]; it is safe for concurrent use and is not modified after New
// returns.
type Protection struct {
	public       []origin // PublicOrigins, normalized
	trusted      trustList
	proxies      []netip.Prefix
	denyMissing  bool
	mode         TokenMode // Config.Tokens resolved: never TokensDefault
	routes       []route   // most specific first
	checkSafe    bool      // some route has CheckSafeMethods
	routeMethods []string  // the methods that route patterns name
	foldPatterns bool      // some route pattern has a letter that case folding changes
	firsts       firstIndex
	overrides    bool // an override header or _method form field can change the rules
	reportOnly   bool
	deny         func(http.ResponseWriter, *http.Request, *Error)
	onDecision   func(*http.Request, Event) // OnDecision and OnRequestDecision
	errorLog     *log.Logger
	bodies       *[numReasons][]byte // problem+json bodies that name TrustedOriginsName; nil for the defaults

	tok    tokens      // the token layer's state (token.go)
	reauth reauthState // the step-up layer's state (stepup.go)
}

// New returns a Protection for cfg, or a [*ConfigError] that names every
// field that is wrong and says what to write instead.
func New(cfg Config) (*Protection, error) {
	p := &Protection{
		denyMissing: cfg.DenyMissingOrigin,
		mode:        cfg.Tokens,
		reportOnly:  cfg.ReportOnly,
		deny:        cfg.DenyHandler,
		errorLog:    cfg.ErrorLog,
	}
	if p.errorLog == nil {
		p.errorLog = log.Default()
	}
	switch f, g := cfg.OnDecision, cfg.OnRequestDecision; {
	case f != nil && g != nil:
		p.onDecision = func(r *http.Request, e Event) { f(e); g(r, e) }
	case f != nil:
		p.onDecision = func(_ *http.Request, e Event) { f(e) }
	default:
		p.onDecision = g
	}
	var errs []error
	for i, s := range cfg.PublicOrigins {
		o, err := parseConfigOrigin(s)
		if err == nil && o.scheme != "https" && o.scheme != "http" {
			err = &FieldError{Msg: fmt.Sprintf("%q: a public origin is served over https or http", s)}
		}
		if err != nil {
			err.Field = fmt.Sprintf("PublicOrigins[%d]", i)
			errs = append(errs, err)
			continue
		}
		p.public = append(p.public, o)
	}
	for i, s := range cfg.TrustedOrigins {
		if err := p.trusted.add(s, cfg.PublicSuffixList); err != nil {
			err.Field = fmt.Sprintf("TrustedOrigins[%d]", i)
			errs = append(errs, err)
		}
	}
	p.bodies = trustedOriginsBodies(cfg.TrustedOriginsName)
	var proxyErrs []error
	p.proxies, proxyErrs = parseProxies(cfg.TrustedProxies)
	errs = append(errs, proxyErrs...)
	switch {
	case cfg.Tokens > TokensOff:
		errs = append(errs, &FieldError{Field: "Tokens", Msg: fmt.Sprintf("Tokens is %d, not a TokenMode", cfg.Tokens),
			Hint: "use SignedTokens, SynchronizerTokens or TokensOff"})
	case cfg.Tokens == TokensDefault:
		p.mode = SignedTokens
	}
	var routeErrs []error
	p.routes, routeErrs = compileRoutes(cfg.Routes)
	errs = append(errs, routeErrs...)
	for _, rt := range p.routes {
		p.checkSafe = p.checkSafe || rt.CheckSafeMethods
		if rt.method != "" && !slices.Contains(p.routeMethods, rt.method) {
			p.routeMethods = append(p.routeMethods, rt.method)
		}
		for _, s := range rt.segs {
			p.foldPatterns = p.foldPatterns || hasUpper(s.lit)
		}
		p.overrides = p.overrides || rt.method != "" || rt.ReauthMaxAge > 0
		p.firsts.add(&rt)
	}
	for i, rt := range cfg.Routes {
		mode := rt.Tokens
		if mode == TokensDefault {
			mode = p.mode
		}
		if rt.OneTimeTokens && mode == TokensOff {
			errs = append(errs, &FieldError{Field: fmt.Sprintf("Routes[%d].OneTimeTokens", i),
				Msg:  fmt.Sprintf("route %q sets OneTimeTokens but its tokens are off", rt.Pattern),
				Hint: "set Tokens to SignedTokens or SynchronizerTokens, or drop OneTimeTokens"})
		}
	}
	if err := p.tok.init(&cfg); err != nil {
		errs = append(errs, err)
	}
	p.reauth.init(&cfg)
	if err := configError(errs); err != nil {
		return nil, err
	}
	return p, nil
}

// A verdict is the outcome of decide.
type verdict struct {
	reason     Reason
	route      *route // the route ServeMux would pick, for Event.Route
	method     string // the effective method
	safe       bool   // a safe method, not checked
	exempt     bool   // an InsecureBypass route
	checked    bool   // the layers ran on a safe method (CheckSafeMethods, override)
	reportOnly bool   // a denial is reported, not enforced
}

// decide runs the decision of the package documentation (see "Decision
// order"). It does not allocate for a safe request, nor for an unsafe
// request with a plain path (see plainPath) when tokens are off, unless a
// method-override query parameter is percent-encoded or the request
// carries more override values than fit in a methodSet.
//
// withRoute asks for the route of a safe request too (for Event.Route).
func (p *Protection) decide(r *http.Request, withRoute bool) verdict {
	safe := isSafeMethod(r.Method)
	v := verdict{method: r.Method}
	if safe && !p.checkSafe && !withRoute && (r.URL == nil || !mayOverride(r.URL.RawQuery)) {
		// No route can make this request checked, no override can make
		// it unsafe, and nobody asked which route it matched.
		v.safe = true
		return v
	}
	if !safe && len(p.routes) == 0 && (r.URL == nil || !mayOverride(r.URL.RawQuery)) {
		// No routes: every method and path has the default rules, and an
		// unsafe request is checked whatever a router dispatches it as.
		// Without a _method query parameter, no override can be invalid
		// (override headers and fields count only when routes differ).
		v.reportOnly = p.reportOnly
		if v.reason = p.checkOrigin(r); v.reason == ReasonNone && p.mode != TokensOff {
			v.reason = p.verifyToken(r, p.mode, false)
		}
		return v
	}
	var ms methodSet
	p.requestMethods(r, safe, &ms)
	mustCheck := ms.invalid || ms.any
	for i := 1; i < ms.len(); i++ {
		if m := ms.at(i); !isSafeMethod(m) && m != upperMethod(r.Method) {
			if v.method == r.Method {
				v.method = m // the first override that names an unsafe method
			}
			mustCheck = true
		}
	}
	if safe && !mustCheck && !p.checkSafe && !withRoute {
		// No route can make this request checked, and nobody asked which
		// route it matched: skip the matching.
		v.safe = true
		return v
	}
	urlPath, raw := "/", ""
	if r.URL != nil {
		urlPath, raw = r.URL.Path, r.URL.RawPath
	}
	var cs candidateSet
	v.route = p.candidates(&ms, urlPath, raw, &cs)
	if ms.invalid {
		// The backend might dispatch the request as anything, or refuse
		// it: the verdict cannot depend on guessing which.
		v.checked = safe
		v.reportOnly = p.reportOnly || (v.route != nil && v.route.ReportOnly)
		v.reason = ReasonMethodOverrideInvalid
		return v
	}
	check, exempt, reportOnly := false, false, true
	for i := 0; i < cs.len(); i++ {
		c := cs.at(i)
		switch {
		case c.rt != nil && c.rt.InsecureBypass:
			exempt = true
		case !isSafeMethod(c.method) || (c.rt != nil && c.rt.CheckSafeMethods):
			c.active = true
			check = true
			reportOnly = reportOnly && c.rt != nil && c.rt.ReportOnly
		}
	}
	if !check {
		// A bypass applies only when every candidate is bypassed or safe.
		v.safe = !exempt
		v.exempt = exempt
		return v
	}
	v.checked = safe
	v.reportOnly = p.reportOnly || reportOnly
	v.reason = p.checkUnsafe(r, &cs)
	return v
}

// checkUnsafe applies layers 3 to 6 to a request that must be checked,
// with the union of the rules of its active candidates: every required
// header, JSONOnly if any sets it, the strictest token mode in use
// (synchronizer, which includes the signed check, then signed; one-time
// tokens if any requires them), and step-up with the smallest
// ReauthMaxAge, its proof bound to the method of every candidate that
// requires it.
func (p *Protection) checkUnsafe(r *http.Request, cs *candidateSet) Reason {
	if reason := p.checkOrigin(r); reason != ReasonNone {
		return reason
	}
	var mode TokenMode = TokensOff // the strictest: synchronizer, then signed
	var oneTime, jsonOnly bool
	var reauth time.Duration
	for i := 0; i < cs.len(); i++ {
		c := cs.at(i)
		if !c.active {
			continue
		}
		m := p.mode
		if rt := c.rt; rt != nil {
			if rt.requireHeader != "" {
				if vs := r.Header[rt.requireHeader]; len(vs) == 0 || vs[0] == "" {
					return ReasonHeaderMissing
				}
			}
			jsonOnly = jsonOnly || rt.JSONOnly
			if rt.Tokens != TokensDefault {
				m = rt.Tokens
			}
			oneTime = oneTime || rt.OneTimeTokens
			if rt.ReauthMaxAge > 0 && (reauth == 0 || rt.ReauthMaxAge < reauth) {
				reauth = rt.ReauthMaxAge
			}
		}
		if m == SynchronizerTokens || (m == SignedTokens && mode == TokensOff) {
			mode = m
		}
	}
	if jsonOnly && !jsonContentType(r) {
		return ReasonContentTypeNotAllowed
	}
	if mode != TokensOff || oneTime {
		if mode == TokensOff {
			mode = SignedTokens
		}
		if reason := p.verifyToken(r, mode, oneTime); reason != ReasonNone {
			return reason
		}
	}
	if reauth > 0 {
		return p.checkReauth(r, reauth, cs)
	}
	return ReasonNone
}

// checkOrigin is the request-origin layer: Sec-Fetch-Site, else Origin,
// else Referer, else the missing-headers policy.
func (p *Protection) checkOrigin(r *http.Request) Reason {
	h := r.Header
	if vs, ok := h["Sec-Fetch-Site"]; ok {
		if len(vs) != 1 {
			return ReasonSecFetchSiteInvalid
		}
		switch vs[0] {
		case "same-origin":
			return ReasonNone
		case "none":
			// The user started the request (a bookmark, the address bar):
			// no page sent it, so no page can have forged it. The value
			// is recorded in Event.SecFetchSite.
			return ReasonNone
		case "same-site":
			if p.originTrusted(h) {
				return ReasonNone
			}
			return ReasonSecFetchSiteSameSite
		case "cross-site":
			if p.originTrusted(h) {
				return ReasonNone
			}
			return ReasonSecFetchSiteCrossSite
		}
		return ReasonSecFetchSiteInvalid
	}
	if vs, ok := h["Origin"]; ok {
		if len(vs) != 1 {
			return ReasonOriginMalformed
		}
		if vs[0] == "null" {
			return ReasonOriginNull
		}
		o, ok := parseOrigin(vs[0])
		if !ok {
			return ReasonOriginMalformed
		}
		// Unlike net/http.CrossOriginProtection, the scheme counts: an
		// http:// page posting to the https:// site is another origin,
		// which a network attacker can serve.
		if o.equal(p.requestOrigin(r)) || p.trusted.contains(o) {
			return ReasonNone
		}
		return ReasonOriginMismatch
	}
	self := p.requestOrigin(r)
	https := strings.EqualFold(self.scheme, "https")
	if vs, ok := h["Referer"]; ok {
		if len(vs) != 1 {
			return ReasonRefererMalformed
		}
		scheme, authority, ok := refererParts(vs[0])
		if !ok {
			return ReasonRefererMalformed
		}
		// As in Django: on HTTPS, a plain-HTTP page is refused before its
		// host is even looked at, since a network attacker controls it.
		if https && !strings.EqualFold(scheme, "https") {
			return ReasonRefererInsecure
		}
		o, ok := parseAuthority(scheme, authority)
		if !ok {
			return ReasonRefererMalformed
		}
		if o.equal(self) || p.trusted.contains(o) {
			return ReasonNone
		}
		return ReasonRefererMismatch
	}
	// No Sec-Fetch-Site, Origin or Referer: current browsers send Origin
	// on every unsafe cross-origin request, so this is a
	// non-browser client or a same-origin request from an old browser
	// with a strict Referrer-Policy. It passes unless configured
	// otherwise; tokens, when enabled, still apply.
	if p.denyMissing {
		if https {
			return ReasonRefererMissing
		}
		return ReasonOriginMissing
	}
	return ReasonNone
}

// originTrusted reports whether the request's Origin is a trusted origin.
func (p *Protection) originTrusted(h http.Header) bool {
	vs := h["Origin"]
	if len(vs) != 1 || len(p.trusted.exact)+len(p.trusted.patterns) == 0 {
		return false
	}
	o, ok := parseOrigin(vs[0])
	return ok && p.trusted.contains(o)
}

// Handler wraps h so that every request is checked before h sees it.
// Rejected requests are answered by the DenyHandler, or with a problem+json
// body, and never reach h (unless the denial is report-only). OnDecision is
// called once for every request, safe and exempt ones included, before h.
func (p *Protection) Handler(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p.onDecision == nil && !p.checkSafe && isSafeMethod(r.Method) && r.URL != nil && r.URL.RawQuery == "" {
			// The common safe request: nothing to check, nobody to tell.
			h.ServeHTTP(w, r)
			return
		}
		v := p.decide(r, p.onDecision != nil)
		p.serve(w, r, h, &v)
	})
}

// serve acts on the verdict v for r: it tells OnDecision, answers a
// rejection that is not report-only, and otherwise passes r to h.
func (p *Protection) serve(w http.ResponseWriter, r *http.Request, h http.Handler, v *verdict) {
	if p.onDecision != nil {
		p.onDecision(r, p.event(r, v))
	}
	if v.reason != ReasonNone && !v.reportOnly {
		p.reject(w, r, v.reason)
		return
	}
	if v.checked {
		// A safe method was checked (a CheckSafeMethods route, a method
		// override or an origin-only check), so whether this cacheable
		// response is served depends on these headers; caches must know.
		// Other safe responses do not depend on them, and unsafe ones are
		// not cached, so they get no Vary and pay no allocation.
		w.Header().Add("Vary", "Origin, Sec-Fetch-Site")
	}
	h.ServeHTTP(w, r)
}

// Check applies every layer to r and returns nil or an [*Error] naming the
// reason. It writes no response and calls neither DenyHandler nor
// OnDecision; on a OneTimeTokens route it does use up the presented token.
// In report-only mode (for the configuration or the request's route) it
// returns the denial all the same, with [Error.ReportOnly] set: the caller
// decides. When the token must be read from a form body, the body is
// restored so that the next handler reads it whole.
func (p *Protection) Check(r *http.Request) error {
	v := p.decide(r, false)
	if v.reason == ReasonNone {
		return nil
	}
	return errorFor(v.reason, v.reportOnly)
}

// event summarizes a verdict. It copies no secret and does not allocate.
func (p *Protection) event(r *http.Request, v *verdict) Event {
	h := r.Header
	e := Event{
		Reason:        v.reason,
		Exempt:        v.exempt,
		Safe:          v.safe,
		Method:        v.method,
		Origin:        first(h, "Origin"),
		RefererOrigin: refererOrigin(first(h, "Referer")),
		SecFetchSite:  first(h, "Sec-Fetch-Site"),
		RemoteAddr:    r.RemoteAddr,
	}
	if r.URL != nil {
		e.Path = r.URL.Path
	}
	if v.route != nil {
		e.Route = v.route.Pattern
	}
	if v.reason != ReasonNone {
		e.Decision = Denied
		e.ReportOnly = v.reportOnly
	}
	return e
}

// first returns the first value of the header with canonical name key.
func first(h http.Header, key string) string {
	if vs := h[key]; len(vs) > 0 {
		return vs[0]
	}
	return ""
}

// reject answers a denied request.
func (p *Protection) reject(w http.ResponseWriter, r *http.Request, reason Reason) {
	if p.deny != nil {
		p.deny(w, r, errorFor(reason, false))
		return
	}
	if body := p.reauthBody(reason); body != nil {
		problem.WriteBody(w, reason.Status(), body)
		return
	}
	if p.bodies != nil && p.bodies[reason] != nil {
		problem.WriteBody(w, reason.Status(), p.bodies[reason])
		return
	}
	problem.WriteBody(w, reason.Status(), problemBodies[reason])
}
