// Package forgeproof defends net/http applications against cross-site
// request forgery (CSRF) with layered checks and secure defaults: where a
// request comes from (Fetch Metadata, Origin, Referer), per-route rules for
// JSON APIs, anti-CSRF tokens, and step-up re-authentication for sensitive
// actions. It imports the standard library only.
//
// # Quick start
//
// Create a [Protection] once and wrap the application's handler:
//
//	p, err := forgeproof.New(forgeproof.Config{})
//	if err != nil {
//		log.Fatal(err)
//	}
//	http.ListenAndServe(":8080", p.Handler(mux))
//
// [Protection.Handler] has the shape func(http.Handler) http.Handler, so it
// works with the standard ServeMux, chi, gorilla/mux and any other router.
// Frameworks whose handlers are not http.Handlers call [Protection.Check],
// which returns the decision without writing anything.
//
// The zero [Config] checks the origin of every unsafe request and requires
// a signed double-submit token. Pages get the token with [Protection.Token]
// or [Protection.TemplateField]; single-page applications fetch it from
// [Protection.TokenHandler]. An API that only browsers of its own origin
// call can turn tokens off ([TokensOff]) and rely on the origin layer,
// which is what [net/http.CrossOriginProtection] does.
//
// # Decision order
//
// Every request goes through these steps; the first failure decides.
//
//  1. Methods. GET, HEAD, OPTIONS and TRACE are safe. A request is judged
//     under its own method and every method that an override names,
//     because frameworks with method-override support may dispatch it so:
//     the _method query parameter on any request (any link can carry it),
//     and, when some route names a method or is sensitive (otherwise the
//     method cannot change the verdict), on an unsafe request the
//     X-HTTP-Method-Override, X-HTTP-Method and X-Method-Override headers
//     and the _method field of a form body. A safe request with
//     an override naming an unsafe method is checked. An override that is
//     not a method name ("+PUT", "PUT;x", "PUT, DELETE", "") is refused
//     (method-override-invalid). An override never makes an unsafe request
//     safe.
//  2. Routes. For each method, the most specific [Route] of
//     [Config.Routes] that a common router might dispatch the request to
//     (see "Dispatch confusion"); the request takes the strictest rules of
//     them all. A safe request passes untouched unless one of them sets
//     CheckSafeMethods; it costs no allocation. A request passes with no
//     check when every route it might reach has InsecureBypass, which
//     takes an unambiguous path (so "/hooks/../admin" is never bypassed).
//  3. Origin. Sec-Fetch-Site is believed first: same-origin and none pass;
//     same-site and cross-site fail unless the Origin is trusted; any other
//     value fails. Without it, the Origin header must equal the request's
//     own origin (scheme, host and port) or a trusted origin; "null", and
//     values with userinfo, a path, a query or a fragment, fail. Without
//     Origin, a Referer, when present, must name a page of such an origin,
//     and on HTTPS it must itself be HTTPS. A request with none of the
//     three headers comes from a non-browser client (or a very old
//     browser) and passes, unless [Config.DenyMissingOrigin] is set.
//  4. Route rules: RequireHeader, then JSONOnly.
//  5. Token, unless tokens are off for the route: from the X-Forgeproof-Token
//     header, else the forgeproof_token form field (urlencoded or multipart; the body
//     is restored for the next handler).
//  6. Step-up: a route with ReauthMaxAge needs a fresh re-authentication
//     proof ([Protection.GrantReauth]).
//  7. Report-only: with [Config.ReportOnly] or [Route.ReportOnly], a denial
//     is reported through [Config.OnDecision] and the request goes on.
//
// # Dispatch confusion
//
// A route's rules protect a handler only if forgeproof and the backend's
// router agree on which handler a request reaches. Routers disagree:
// Express and ASP.NET ignore case and a trailing slash, Tomcat and Spring
// strip ";params" from each segment and then resolve "..", IIS reads "\"
// as "/" and drops trailing dots, ServeMux decodes each segment but keeps
// "%2F" inside it, and Django and Flask match the decoded path as it is.
// So the route matching fails closed: a request is judged under every
// route that some common router might dispatch it to, and an InsecureBypass
// route applies only when all of them are bypassed and the path is
// unambiguous. When the rules of several routes apply, every
// RequireHeader must be present, JSONOnly applies if any sets it, the
// strictest token mode is required (one-time, then synchronizer, then
// signed), and a step-up proof must be fresh for the smallest ReauthMaxAge
// and minted for the request's path and the method of every sensitive
// route among them. Event.Route and [Protection.RoutePattern] name the
// route that ServeMux would pick.
//
// The common request pays little for this: a plain path is matched four
// ways (with and without case, with and without a trailing slash) without
// allocating; only an ambiguous path is rewritten into the forms above.
//
// # The request's own origin
//
// Origins are compared with their scheme: a page at http://bank.example
// posting to https://bank.example is cross-origin, since anyone on the
// network can serve the plain-HTTP page. The request's own origin is, in
// order of preference:
//
//   - one of [Config.PublicOrigins], when set (the one whose host matches
//     the Host header, else the first);
//   - the scheme of the connection (TLS or not) and the Host header, each
//     replaced by what a proxy in [Config.TrustedProxies] reports in
//     Forwarded (RFC 7239) or X-Forwarded-Proto, X-Forwarded-Host and
//     X-Forwarded-Port.
//     Forwarding headers from any other peer are ignored, and of a list
//     only the last element (added by the nearest proxy) counts.
//
// Default ports are ignored (https://a:443 is https://a) and hosts compare
// without regard to case.
//
// # Trusted origins
//
// [Config.TrustedOrigins] lists other origins whose pages may send unsafe
// requests: exact origins such as "https://admin.example.com" and subdomain
// patterns such as "https://*.example.com" (any depth, not the apex). Every
// entry needs a scheme; "*" and "null" are refused by [New], and so is a
// pattern over a public suffix such as "https://*.co.uk": set
// [Config.PublicSuffixList] to golang.org/x/net/publicsuffix.List to refuse
// private suffixes such as "https://*.github.io" too. New reports every bad
// field at once, as a [*ConfigError] whose [FieldError] values name each
// field by its path ("TrustedOrigins[2]", "Routes[1].Pattern").
//
// # WebSocket handshakes
//
// A WebSocket handshake is a GET that can change state and carries no
// token. [Protection.CheckOrigin] and [Protection.OriginHandler] judge such
// a request by the origin layer alone, under its route's InsecureBypass and
// ReportOnly settings; pass them the request that is served, not a copy
// with another path.
//
// # Rejections and events
//
// A rejected request gets a response with the status of its [Reason] (403,
// 401 for step-up, 503 when the token store is down) and an
// application/problem+json body (RFC 9457) whose "reason" member is the
// reason's stable name and whose "type" links to its documentation.
// [Config.DenyHandler] replaces that response. [Config.OnDecision] receives
// an [Event] for every request, allowed or not; it carries no token, cookie
// or session value, so it can feed logs, metrics and alerts.
// [Config.OnRequestDecision] receives the same Event with the request, for
// a layer built on top that merges its own verdicts into one event per
// request.
//
// # Caching
//
// Responses that carry a token are marked Cache-Control: no-store and Vary:
// Cookie. A safe request that was checked (a CheckSafeMethods route, or a
// method override) gets Vary: Origin, Sec-Fetch-Site, since its response
// then depends on them; other responses do not, and pay nothing for it.
package forgeproof
