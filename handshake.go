package forgeproof

import "net/http"

// Requests that change state but cannot carry a token.
//
// A WebSocket handshake is a GET that opens a channel which can change
// state, and browsers let a page add neither a header nor a body to it, so
// it can carry no token; the origin layer alone tells a cross-site
// handshake (cross-site WebSocket hijacking) from the application's own.
// The same holds for an endpoint that hands out tokens.

// CheckOrigin applies to r the request-origin layer of an unsafe request,
// whatever r's method, and no other layer: Sec-Fetch-Site, else Origin,
// else Referer, else [Config.DenyMissingOrigin], with
// [Config.TrustedOrigins] and [Config.PublicOrigins] as for every request.
// The route that governs r's method and path (see [Route]) contributes
// only its InsecureBypass and ReportOnly settings: its token, header,
// content-type and re-authentication rules need what such a request cannot
// carry. Use it for WebSocket handshakes, as gorilla/websocket's
// Upgrader.CheckOrigin, or in a proxy, on the request that is passed on:
// the path checked must be the path served.
//
// It returns nil or an [*Error], as [Protection.Check] does; in report-only
// mode the denial has [Error.ReportOnly] set.
func (p *Protection) CheckOrigin(r *http.Request) error {
	v := p.decideOrigin(r)
	if v.reason == ReasonNone {
		return nil
	}
	return errorFor(v.reason, v.reportOnly)
}

// OriginHandler wraps h so that every request is checked as
// [Protection.CheckOrigin] checks it before h sees it. Rejections are
// answered and OnDecision is called as by [Protection.Handler].
func (p *Protection) OriginHandler(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := p.decideOrigin(r)
		p.serve(w, r, h, &v)
	})
}

// decideOrigin is decide for CheckOrigin: the request's routes are
// found as by decide, under every path a router might dispatch it to; an
// InsecureBypass applies only when every one of them is bypassed, and of
// the other settings only ReportOnly counts. Then the origin layer runs.
func (p *Protection) decideOrigin(r *http.Request) verdict {
	urlPath, raw := "/", ""
	if r.URL != nil {
		urlPath, raw = r.URL.Path, r.URL.RawPath
	}
	v := verdict{method: r.Method}
	var ms methodSet
	ms.add(r.Method)
	if hasLower(r.Method) {
		ms.add(upperMethod(r.Method))
	}
	var cs candidateSet
	v.route = p.candidates(&ms, urlPath, raw, &cs)
	exempt, reportOnly := cs.len() > 0, true
	for i := 0; i < cs.len(); i++ {
		rt := cs.at(i).rt
		exempt = exempt && rt != nil && rt.InsecureBypass
		reportOnly = reportOnly && rt != nil && rt.ReportOnly
	}
	if exempt {
		v.exempt = true
		return v
	}
	v.checked = isSafeMethod(r.Method)
	v.reportOnly = p.reportOnly || reportOnly
	v.reason = p.checkOrigin(r)
	return v
}
