package forgeproof

import (
	"log"
	"net/http"
	"net/http/cookiejar"
	"time"
)

// Config configures a [Protection]. The zero Config is a secure default:
// request-origin verification on every unsafe request, signed double-submit
// tokens bound to no session (until SessionCookie or SessionID is set) with
// an ephemeral signing key, and problem+json rejections.
type Config struct {
	// PublicOrigins are the origins ("https://bank.example") at which the
	// protected application is reached by browsers. When set, a request's own
	// origin is the one among them whose host and port match the request's
	// Host, or the first one; Host and the forwarding headers are then not
	// consulted. Set it behind proxies that rewrite Host or terminate TLS.
	// When empty, the request's origin is built from the request: its scheme
	// (TLS, or a forwarding header from a trusted proxy) and its Host.
	PublicOrigins []string

	// TrustedOrigins are other origins whose requests are accepted as if
	// they were the application's own: exact origins such as
	// "https://admin.example.com", and subdomain patterns such as
	// "https://*.example.com" (which matches any subdomain at any depth but
	// not example.com itself). A scheme is required; "*" and "null" are
	// refused by [New]. Every entry widens what is trusted, and a subdomain
	// pattern trusts every subdomain that could ever be taken over.
	TrustedOrigins []string

	// TrustedProxies lists the addresses (single IPs or CIDR prefixes) of
	// reverse proxies whose X-Forwarded-Proto, X-Forwarded-Host and
	// Forwarded headers are believed. A request from any other peer has its
	// forwarding headers ignored. If empty, forwarding headers are never
	// believed. Forwarded (RFC 7239) is preferred to X-Forwarded-Proto and
	// X-Forwarded-Host; X-Forwarded-Port applies when the host names no
	// port. Of a list of hops only the last one, added by the nearest
	// proxy, is used. List only proxies that overwrite or append to
	// these headers: a listed peer can claim any scheme and host.
	TrustedProxies []string

	// DenyMissingOrigin rejects unsafe requests that carry none of
	// Sec-Fetch-Site, Origin and Referer. Browsers always send at least one
	// of them on a cross-origin unsafe request, so by default (false) such
	// requests are taken to come from non-browser clients and pass this
	// layer; tokens, when enabled, still apply to them.
	DenyMissingOrigin bool

	// Tokens selects the anti-CSRF token mode for all routes that do not set
	// their own. The zero value is [SignedTokens].
	Tokens TokenMode

	// Keys signs and verifies tokens. The first key signs; every key
	// verifies, so a key can be retired without invalidating live tokens.
	// If nil, New creates a ring with one random key: tokens then do not
	// survive a restart and are not accepted by other instances.
	Keys *KeyRing

	// Store keeps synchronizer tokens, one-time tokens and
	// re-authentication proofs. If nil, an in-memory store is used, which is
	// not shared between instances.
	Store Store

	// SessionCookie is the name of the application's session cookie. Tokens
	// are bound to its value, so a token issued to one session is refused in
	// another. Ignored when SessionID is set.
	SessionCookie string

	// SessionID, if set, returns the session identifier of a request, or ""
	// before login. It takes precedence over SessionCookie.
	SessionID func(*http.Request) string

	// CookieName is the name of the token cookie. If empty, it is
	// "__Host-forgeproof" on HTTPS and "forgeproof" on plain HTTP, where browsers refuse
	// __Host- cookies (a warning is logged once when that happens).
	CookieName string

	// HeaderName is the request header that carries the token. If empty, it
	// is "X-Forgeproof-Token", a name no framework uses for its own token.
	HeaderName string

	// FieldName is the form field (urlencoded or multipart) that carries the
	// token. If empty, it is "forgeproof_token".
	FieldName string

	// TokenMaxAge is how long a token stays valid after it was issued. If
	// zero, it is 12 hours.
	TokenMaxAge time.Duration

	// MaxFormBytes bounds how much of a form body is read to find the token
	// field. If zero, it is 1 MiB. A token beyond the bound is not found.
	MaxFormBytes int64

	// Routes set rules for parts of the application, matched by pattern.
	// A request takes the rules of the most specific matching route, or none.
	Routes []Route

	// ReauthHeader is the request header that carries a re-authentication
	// proof to a sensitive route (see [Route.ReauthMaxAge]). If empty, it
	// is "X-Reauth-Proof".
	ReauthHeader string

	// ReauthURL is where a client confirms the user's identity again to
	// obtain a re-authentication proof, such as "/reauth". A 401 answer
	// for reauth-required or reauth-reused names it in its problem+json
	// body (members "reauth_url" and "reauth_header"). If empty, the body
	// does not say where to confirm.
	ReauthURL string

	// ReportOnly evaluates every rule and reports the verdict through
	// OnDecision, but lets every request through. Use it to deploy first
	// and enforce later.
	ReportOnly bool

	// DenyHandler, if set, writes the response to a rejected request. The
	// default writes an application/problem+json body (RFC 9457) whose
	// "reason" member is the reason's stable name, with the status from
	// [Reason.Status].
	DenyHandler func(w http.ResponseWriter, r *http.Request, err *Error)

	// OnDecision, if set, is called once for every request that the
	// middleware sees, with the verdict and a summary that holds no secret
	// value. It is called synchronously, so it must be fast; it must not
	// retain the Event's strings beyond the call unless it copies them.
	OnDecision func(Event)

	// OnRequestDecision, if set, is called where OnDecision is, after it,
	// with the request the Event is about. A layer built on top that runs
	// checks of its own after the library's (see [Protection.Refuse]) can
	// use it to find its state for the request in r's context, and so
	// report one Event per request that merges its verdict with the
	// library's. The same rules as for OnDecision apply; it must not keep
	// r beyond the call.
	OnRequestDecision func(r *http.Request, e Event)

	// ErrorLog receives warnings about the configuration seen at run time
	// (such as a token cookie served over plain HTTP). If nil, the log
	// package's standard logger is used.
	ErrorLog *log.Logger

	// PublicSuffixList, if set, lets New refuse a subdomain pattern in
	// TrustedOrigins over a public suffix, such as "https://*.co.uk",
	// "https://*.github.io" or "https://*.herokuapp.com": anyone can
	// register a site under those. Pass golang.org/x/net/publicsuffix.List,
	// which holds both the ICANN and the private domains of the Public
	// Suffix List. If nil, New refuses patterns over a single label
	// ("https://*.com") and over the common second-level labels of
	// two-letter country domains ("https://*.co.uk", "https://*.com.au"),
	// but cannot know the private suffixes: "https://*.github.io" is then
	// accepted. Set it whenever TrustedOrigins holds a pattern.
	PublicSuffixList cookiejar.PublicSuffixList

	// TrustedOriginsName is how the default rejection bodies name the
	// TrustedOrigins setting when they tell a developer to list an origin
	// there, such as "protection.trusted_origins" for a tool that reads a
	// configuration file. If empty, it is "TrustedOrigins".
	TrustedOriginsName string
}

// A Route sets rules for the requests that match its Pattern.
//
// Patterns have the form "[METHOD ]PATH", in the style of ServeMux. METHOD
// is upper case, and GET also matches HEAD. PATH is clean (no "." or ".."
// elements, no repeated slashes) and decoded (no "%", ";" or "\"). A PATH
// ending in "/" matches the whole subtree below it, any other PATH matches
// exactly. A segment "{name}" matches any one non-empty segment; a last
// segment "{name...}" matches the rest of the path like a trailing slash,
// and "{$}" matches the trailing slash only ("/notes/{$}" is "/notes/"
// alone).
//
// The most specific matching route wins: paths are compared segment by
// segment, and at the first difference a literal beats a wildcard and a
// longer path beats a shorter one; "/a" beats "/a/{$}" beats "/a/"; of
// equal paths, a pattern with a method beats one without. A request takes
// the rules of the winning route only; rules are not merged from shorter
// patterns.
//
// A request is judged under every (method, route) pair that a common
// router might dispatch it to, with the strictest rules of them all: its
// own method and every method override (_method in the query; the
// X-HTTP-Method-Override, X-HTTP-Method and X-Method-Override headers and
// _method in a form body of an unsafe request, when some route names a
// method or is sensitive), and its path as case-insensitive,
// trailing-slash-tolerant, ;params-stripping and dot-resolving routers
// read it. See the package documentation, "Dispatch confusion".
type Route struct {
	// Pattern selects the requests that the route governs, such as
	// "/api/" or "POST /login".
	Pattern string

	// Tokens overrides [Config.Tokens] for this route. The zero value
	// inherits it.
	Tokens TokenMode

	// OneTimeTokens requires tokens minted with [Protection.OneTimeToken];
	// each is accepted once.
	OneTimeTokens bool

	// RequireHeader names a request header, such as "X-Requested-With",
	// that unsafe requests must carry. Browsers let a cross-origin page set
	// custom headers only after a CORS preflight that the server approves.
	RequireHeader string

	// JSONOnly rejects unsafe requests whose Content-Type is one that an
	// HTML form can send cross-origin without a preflight
	// (application/x-www-form-urlencoded, multipart/form-data, text/plain),
	// or that carry a body without a Content-Type.
	JSONOnly bool

	// CheckSafeMethods treats GET, HEAD, OPTIONS and TRACE like POST on this
	// route, for legacy endpoints that change state on GET.
	CheckSafeMethods bool

	// ReportOnly evaluates the route's rules without enforcing them.
	ReportOnly bool

	// ReauthMaxAge marks the route as sensitive: unsafe requests must carry
	// a re-authentication proof (see [Protection.GrantReauth]) issued at
	// most this long ago. Zero means the route is not sensitive.
	ReauthMaxAge time.Duration

	// InsecureBypass disables every check on this route. It exists for
	// endpoints that must accept cross-origin requests by design (webhooks
	// from other services), and is named so that it stands out in review.
	// It applies only to a request whose URL path is unambiguous (clean,
	// sent without percent-encoding, printable ASCII without ";" or "\",
	// no segment ending in a dot) and reaches this route however a common
	// router reads it, so that "/hooks/../admin", "/hooks/..;/admin" and
	// "/HOOKS" are not bypassed.
	InsecureBypass bool
}

// A TokenMode selects how anti-CSRF tokens are issued and verified.
type TokenMode uint8

const (
	// TokensDefault inherits the mode from the enclosing configuration; at
	// the top level it means SignedTokens.
	TokensDefault TokenMode = iota

	// SignedTokens is the signed double-submit cookie pattern: a random
	// value and an HMAC-SHA256 over it and the session identifier, kept in a
	// cookie and echoed in a header or form field. It needs no server-side
	// state.
	SignedTokens

	// SynchronizerTokens keeps one token per session in the [Store]; the
	// request must echo it.
	SynchronizerTokens

	// TokensOff disables tokens: only request-origin verification and the
	// route rules apply, as with [net/http.CrossOriginProtection].
	TokensOff
)

// String returns "signed", "synchronizer", "off" or "default".
func (m TokenMode) String() string {
	switch m {
	case SignedTokens:
		return "signed"
	case SynchronizerTokens:
		return "synchronizer"
	case TokensOff:
		return "off"
	}
	return "default"
}

// A Decision is the verdict on a request.
type Decision uint8

const (
	// Allowed means the request passed every layer.
	Allowed Decision = iota
	// Denied means a layer rejected the request. In report-only mode the
	// request was let through all the same; see [Event.ReportOnly].
	Denied
)

// String returns "allow" or "deny".
func (d Decision) String() string {
	if d == Denied {
		return "deny"
	}
	return "allow"
}

// An Event summarizes one decision for logs, metrics and alerts. It carries
// no token, cookie or session value.
type Event struct {
	Decision Decision
	Reason   Reason // ReasonNone when allowed

	// ReportOnly is true when a denial was not enforced.
	ReportOnly bool
	// Exempt is true when the request matched an InsecureBypass route.
	Exempt bool
	// Safe is true when the request used a safe method and was not checked.
	Safe bool

	// Method is the method the request was judged by: the request's
	// method, or the unsafe method named by a method override.
	Method        string
	Path          string // the URL path, without the query
	Route         string // the matched route pattern, or ""
	Origin        string // the Origin header as sent, or ""
	RefererOrigin string // the origin of the Referer header, or ""
	SecFetchSite  string // the Sec-Fetch-Site header as sent, or ""
	RemoteAddr    string
}

// Error is the error returned by [Protection.Check] for a rejected request,
// and passed to [Config.DenyHandler]. The values that forgeproof returns
// are shared between requests and must not be modified.
type Error struct {
	Reason Reason

	// ReportOnly is true when the configuration or the request's route is
	// in report-only mode: the request is to be let through, and the
	// denial only reported.
	ReportOnly bool
}

// Error returns a message that names the reason.
func (e *Error) Error() string {
	return "forgeproof: " + e.Reason.Title() + " (" + e.Reason.String() + ")"
}
