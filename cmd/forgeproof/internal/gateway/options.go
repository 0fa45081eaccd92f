package gateway

import (
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/forgeproof/forgeproof"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/identity"
)

// Options configure a [Gateway]. Only Upstreams is required: the zero value
// of every other field is a secure default, documented on the field.
//
// Options are read once by [New]; changing them afterwards has no effect.
// To reload a configuration, build a new Gateway and swap it in.
type Options struct {
	// Upstreams are the backends that requests are proxied to. A request
	// goes to the upstream whose Hosts match its Host and whose PathPrefix
	// is the longest prefix of its path; an upstream with Hosts beats one
	// without. A request that matches no upstream is answered with 404
	// (application/problem+json). At least one upstream is required.
	Upstreams []Upstream

	// Routes set per-route rules, matched like the library's routes (see
	// [forgeproof.Route]): "[METHOD ]PATH", a PATH ending in "/" matches its
	// subtree, the longest PATH wins and a pattern with a method beats one
	// without. A request that matches no route takes the defaults of these
	// Options.
	Routes []Route

	// Protection is the library configuration that every proxied request
	// is checked with: keys, store, session cookie, public and trusted
	// origins, trusted proxies, report-only mode, OnDecision, DenyHandler.
	// New builds one [forgeproof.Protection] from it, appending to
	// Protection.Routes the library rules of Routes (Route.Protect, with
	// Route.Pattern) and the rules of the gateway's reserved endpoints.
	// The zero Config is the library's secure default. When
	// Protection.PublicSuffixList is nil, New sets it to
	// golang.org/x/net/publicsuffix.List, so that a trusted-origin pattern
	// over any public suffix ("https://*.github.io") is refused.
	//
	// Protection.SessionCookie also names the backend's session cookie that
	// the gateway watches: when a response sets it, the token is rotated on
	// that same response (see [Options.TokenResponseHeader]).
	//
	// Protection.TrustedProxies also decides whether the client's
	// X-Forwarded-For, X-Forwarded-Host, X-Forwarded-Proto and Forwarded
	// headers are passed on: from a trusted proxy they are extended, from
	// any other peer they are replaced.
	Protection forgeproof.Config

	// ReservedPrefix is the path prefix the gateway answers itself and
	// never proxies: PREFIX+"token" (the token endpoint),
	// PREFIX+"one-time-token" (tokens for routes with OneTimeTokens) and
	// PREFIX+"csrf.js" (the client script). It must start and end with
	// "/". If empty, it is "/.forgeproof/".
	ReservedPrefix string

	// ReauthVerify, if set, turns on step-up through the gateway: it is the
	// path of an upstream endpoint, such as "/api/reauth", that checks the
	// user's credential (password, TOTP…) in the JSON body it receives and
	// answers 2xx when it is right. The gateway then answers POST
	// PREFIX+"reauth" ({"method": …, "path": …, credential…}) with a proof
	// for that operation, accepted by routes whose Protect.ReauthMaxAge is
	// set. If empty, only the application can mint proofs (with the
	// library's GrantReauth).
	ReauthVerify string

	// ReauthSuccess is the answer of ReauthVerify that confirms the
	// credential. It is required with ReauthVerify: any other answer,
	// even a 2xx, mints no proof, so that a page of the upstream that
	// answers 200 to anything (reached through a method override, or a
	// path that now serves another handler) cannot confirm an operation.
	ReauthSuccess ReauthSuccess

	// MaxBodyBytes bounds the size of a request body. A request that
	// declares a larger Content-Length is answered with 413 before the
	// backend sees it; a streamed body that grows past the bound is cut and
	// answered with 413 if no response has started. If zero, it is 10 MiB;
	// if negative, bodies are not bounded.
	MaxBodyBytes int64

	// MaxHeaderBytes bounds the size of a request's header fields and
	// request line, counted as on the wire. A larger request is answered
	// with 431. If zero, it is 64 KiB. The server in front of the gateway
	// should set its own http.Server.MaxHeaderBytes a little above this, so
	// that the gateway (and not the server's plain-text error) answers.
	MaxHeaderBytes int64

	// FlushInterval is how often the response body is flushed to the
	// client while it is copied, as in [httputil.ReverseProxy]. If zero,
	// streamed responses (text/event-stream, or of unknown length) are
	// flushed after every write and others are buffered; a negative value
	// flushes after every write.
	FlushInterval time.Duration

	// Cookies are the default rules for hardening the Set-Cookie headers of
	// the backend's responses, used on routes that set no rules of their
	// own. Whatever the rules, a cookie that does not parse is passed on
	// unchanged and logged. See [CookieRule] for what is done by default.
	Cookies []CookieRule

	// Headers are the default security response headers, used on routes
	// that set none of their own. The zero value sets the gateway's
	// defaults (see [Headers]).
	Headers Headers

	// CORS is the default cross-origin resource sharing policy, used on
	// routes that set none. If nil, the gateway does not handle CORS: the
	// backend's CORS headers and preflight answers pass through unchanged.
	CORS *CORS

	// InjectHTML says whether the gateway inserts the token meta tag, the
	// client script and hidden form fields into text/html responses on
	// every route that does not set Route.InjectHTML itself. If nil, it
	// does: an unchanged application's forms and same-origin fetch and
	// XMLHttpRequest calls then carry the token. The cost: HTML responses
	// are streamed through an HTML tokenizer (and gzip, when the backend
	// compressed them), lose their Content-Length and ETag, and are marked
	// Cache-Control: no-store, since each carries a fresh token. Fields
	// are inserted only into forms that provably POST to the page's own
	// origin (see docs/GATEWAY.md).
	InjectHTML *bool

	// TokenResponseHeader is the response header that carries a freshly
	// rotated masked token to the client script after the backend set a new
	// session cookie (at login or logout). If empty, it is the token request
	// header name (Protection.HeaderName, "X-Forgeproof-Token" by default).
	TokenResponseHeader string

	// Identity is where the roles that Route.Roles requires come from: a
	// verified JSON Web Token or an authenticating proxy's header (see
	// package identity). It is required when a route lists roles, and
	// unused otherwise.
	Identity *identity.Options
	// MaxValidatedBodyBytes bounds a request body that the gateway holds
	// in memory to check it with its route's Validator, and then sends to
	// the backend byte for byte. A larger body is refused with 413 and the
	// reason request-too-large before the backend sees it. If zero, it is
	// 1 MiB.
	MaxValidatedBodyBytes int64

	// UnknownPaths says what happens to a request that matches none of
	// Routes, for a gateway whose routes describe the whole API (the
	// operations of an OpenAPI description). The zero value, UnknownPass,
	// proxies it; UnknownReport proxies it and reports an
	// operation-unknown denial in report-only mode through
	// Protection.OnDecision; UnknownDeny answers 404 with the reason
	// operation-unknown. Paths under ReservedPrefix are never unknown.
	UnknownPaths UnknownPolicy

	// OnTokenIssued, if set, is called once for every token the gateway
	// hands out, with where it went: [TokenEndpoint], [TokenOneTime],
	// [TokenRotation] or [TokenInjection]. It is called on the request's
	// goroutine and must be fast and safe for concurrent use. It is meant
	// for metrics; it never receives the token.
	OnTokenIssued func(kind string)

	// Logger receives the gateway's own log lines (upstream failures,
	// cookies that could not be hardened, responses that could not be
	// rewritten). It never receives a token, cookie or session value. If
	// nil, slog.Default() is used.
	Logger *slog.Logger
}

// ReauthSuccess is the explicit signal by which the upstream's
// confirmation endpoint says that the user's credential is right: a
// status code and a response header with an exact value, which the
// endpoint sets only then.
type ReauthSuccess struct {
	// Status is the status code of a confirmation. If zero, it is 200.
	Status int

	// Header is the response header that the endpoint sets only when the
	// credential is right, such as "X-Reauth-Verified". Required.
	Header string

	// Value is the exact value of Header on a confirmation, such as
	// "true". Required.
	Value string
}

// Token issue kinds, the values passed to [Options.OnTokenIssued].
const (
	// TokenEndpoint is a token answered by the token endpoint
	// (PREFIX+"token").
	TokenEndpoint = "endpoint"
	// TokenOneTime is a token answered by the one-time token endpoint
	// (PREFIX+"one-time-token").
	TokenOneTime = "one_time"
	// TokenRotation is a token rotated onto a response that set a new
	// session cookie.
	TokenRotation = "rotation"
	// TokenInjection is a token inserted into an HTML response when the
	// response did not already carry a rotated one.
	TokenInjection = "injection"
)

// An Upstream is a backend that the gateway proxies to.
type Upstream struct {
	// Name identifies the upstream in logs and errors. If empty, the URL's
	// host is used.
	Name string

	// URL is the backend's base URL, with scheme http or https. Its path,
	// if any, is prefixed to the request path, as with
	// [httputil.ProxyRequest.SetURL]. Required.
	URL *url.URL

	// Hosts restricts the upstream to requests whose Host (without port)
	// is one of these names, compared without regard to case; an entry
	// "*.example.com" matches any subdomain of example.com. If empty, the
	// upstream serves every host.
	Hosts []string

	// PathPrefix restricts the upstream to requests whose path starts with
	// it. If empty, it is "/".
	PathPrefix string

	// PreserveHost sends the client's Host header to the backend instead
	// of the host of URL.
	PreserveHost bool

	// DialTimeout bounds connecting to the backend. If zero, it is 5 s.
	// A failure to connect is answered with 502.
	DialTimeout time.Duration

	// ResponseHeaderTimeout bounds the wait for the backend's response
	// headers after the request was written. If zero, it is 60 s. A
	// timeout is answered with 504.
	ResponseHeaderTimeout time.Duration

	// Transport, if set, is used instead of the gateway's own transport
	// (and DialTimeout and ResponseHeaderTimeout are then ignored).
	Transport http.RoundTripper
}

// A Route sets the gateway's rules for the requests that match Pattern.
type Route struct {
	// Pattern selects requests as the library's route patterns do:
	// "[METHOD ]PATH", such as "/api/" or "POST /login". Required.
	Pattern string

	// Protect holds the library's rules for this route: token mode,
	// JSONOnly, RequireHeader, CheckSafeMethods, OneTimeTokens,
	// ReauthMaxAge, InsecureBypass, ReportOnly. Its Pattern field is
	// ignored; Route.Pattern is used. The zero value applies the defaults
	// of Options.Protection.
	Protect forgeproof.Route

	// Cookies are the Set-Cookie hardening rules for this route. If nil,
	// Options.Cookies apply.
	Cookies []CookieRule

	// Headers are the security response headers for this route. If nil,
	// Options.Headers apply.
	Headers *Headers

	// CORS is the CORS policy for this route. If nil, Options.CORS
	// applies.
	CORS *CORS

	// InjectHTML overrides Options.InjectHTML on this route when set.
	InjectHTML *bool

	// Roles, if set, restricts the route to senders that hold at least
	// one of these roles, as found by Options.Identity. The gateway
	// decides before the backend is called: a request without a verified
	// identity is answered 401 (reason unauthenticated), one whose
	// identity holds none of the roles 403 (role-forbidden). A request
	// that some common router might dispatch to several routes (see the
	// library's "Dispatch confusion") must satisfy the roles of each.
	// With Protect.ReportOnly (or Protection.ReportOnly) the refusal is
	// only reported. If empty, the route requires no role.
	Roles []string
	// Validator, if set, checks every request of the route that the
	// library checks (unsafe methods, and safe ones when
	// Protect.CheckSafeMethods is set) after the library let it through and
	// before the backend sees it. A request it refuses is answered with its
	// reason (400 request-invalid or 415 media-type-unsupported) and the
	// offending field, and reported through Protection.OnDecision; with
	// Protect.ReportOnly or Protection.ReportOnly it is only reported.
	Validator RequestValidator
}

// A Flag says what the gateway does with one attribute of a cookie.
type Flag uint8

const (
	// FlagAuto applies the gateway's default for the attribute, documented
	// on the field that holds the Flag.
	FlagAuto Flag = iota
	// FlagSet always adds the attribute.
	FlagSet
	// FlagKeep leaves the attribute as the backend sent it.
	FlagKeep
)

// String returns "auto", "set" or "keep".
func (f Flag) String() string {
	switch f {
	case FlagSet:
		return "set"
	case FlagKeep:
		return "keep"
	}
	return "auto"
}

// A CookieRule says how the gateway hardens the cookies that the backend
// sets with Set-Cookie. The zero rule (for any cookie without a rule of its
// own) adds SameSite=Lax when the backend chose no SameSite, adds Secure
// when the public origin is HTTPS, adds HttpOnly to the session cookie
// (Protection.SessionCookie) only, and makes __Host- and __Secure- cookies
// meet the requirements of their prefix as far as it safely can.
type CookieRule struct {
	// Name is the cookie the rule applies to. The empty name is the rule
	// for every cookie that no other rule names.
	Name string

	// SameSite is the SameSite attribute. If zero, SameSite=Lax is added
	// when the backend set none and the backend's choice is kept
	// otherwise; http.SameSiteDefaultMode keeps whatever the backend sent
	// (including nothing); Lax, Strict and None replace the backend's
	// value (None also adds Secure, which browsers require with it).
	SameSite http.SameSite

	// Secure is the Secure attribute. FlagAuto adds it when the request's
	// public origin is HTTPS (browsers drop Secure cookies set over plain
	// HTTP, except on localhost).
	Secure Flag

	// HttpOnly is the HttpOnly attribute. FlagAuto adds it to the session
	// cookie and keeps the backend's choice for every other cookie, since
	// the application's own scripts may need to read them.
	HttpOnly Flag

	// Skip passes the cookie through exactly as the backend sent it.
	Skip bool
}

// Headers are the security response headers that the gateway adds to
// proxied responses. A header is set only when the backend's response does
// not carry it, unless Override is set.
type Headers struct {
	// ContentSecurityPolicy is the Content-Security-Policy header. If
	// empty, it is "frame-ancestors " + FrameAncestors + "; base-uri
	// 'self'". A non-empty policy
	// without a frame-ancestors directive gets one appended.
	ContentSecurityPolicy string

	// FrameAncestors is the source list of the CSP frame-ancestors
	// directive, which says which pages may frame this one (clickjacking
	// defence). If empty, it is "'self'".
	FrameAncestors string

	// ReferrerPolicy is the Referrer-Policy header. If empty, it is
	// "strict-origin-when-cross-origin".
	ReferrerPolicy string

	// Override replaces the backend's own values of these headers instead
	// of keeping them.
	Override bool

	// Disable turns the security headers off (X-Content-Type-Options:
	// nosniff included).
	Disable bool
}

// CORS is an explicit cross-origin resource sharing policy. When a route
// has one, the gateway answers CORS preflight requests itself and removes
// the backend's own Access-Control-* response headers, so that the backend
// can never reflect an origin that is not on the list.
//
// CORS only lets other origins read responses. It does not exempt their
// state-changing requests from the origin and token checks: to accept
// those, list the origin in Protection.TrustedOrigins as well.
type CORS struct {
	// AllowOrigins are the exact origins ("https://app.example.com")
	// allowed to read responses. "*" allows any origin, without
	// credentials; "null" is always refused by New, because sandboxed
	// frames and data: URLs of any site send it.
	AllowOrigins []string

	// AllowMethods are the methods allowed in a preflight. If empty, they
	// are GET, HEAD and POST.
	AllowMethods []string

	// AllowHeaders are the request headers allowed in a preflight,
	// compared without regard to case. If empty, they are Content-Type and
	// the token header (Protection.HeaderName).
	AllowHeaders []string

	// ExposeHeaders are the response headers that the allowed origins may
	// read, beyond the CORS-safelisted ones.
	ExposeHeaders []string

	// AllowCredentials lets allowed origins send cookies and read the
	// responses. It requires explicit origins: New refuses it with "*".
	AllowCredentials bool

	// MaxAge is how long a browser may cache a preflight answer. If zero,
	// it is 5 minutes; if negative, preflight answers are not cached.
	MaxAge time.Duration
}
