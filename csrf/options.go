package csrf

import (
	"net/http"
	"time"
)

// An Option configures the middleware that [Protect] returns.
type Option func(*options)

// options holds what the Options set.
type options struct {
	maxAge         int
	domain         string
	path           string
	httpOnly       bool
	secure         bool
	sameSite       SameSiteMode
	header         string
	fieldName      string
	errorHandler   http.Handler
	cookieName     string
	trusted        []string
	publicOrigins  []string
	trustedProxies []string
}

// SameSiteMode is the SameSite attribute of the token cookie; its values
// are those of [net/http.SameSite].
type SameSiteMode int

// The SameSite modes.
const (
	SameSiteDefaultMode SameSiteMode = iota + 1
	SameSiteLaxMode
	SameSiteStrictMode
	SameSiteNoneMode
)

// MaxAge sets how long, in seconds, a token and its cookie stay valid. The
// default is 12 hours, and so is a negative age. Zero makes the cookie a
// session cookie (deleted when the browser closes) whose tokens are valid
// for 12 hours.
func MaxAge(age int) Option { return func(o *options) { o.maxAge = age } }

// Domain sets the Domain attribute of the token cookie, which shares it
// with subdomains. The default is none: the cookie goes to the host that
// set it only.
func Domain(domain string) Option { return func(o *options) { o.domain = domain } }

// Path sets the Path attribute of the token cookie. The default is "/"
// (gorilla's default is none, which scopes the cookie to the directory of
// the first page that set it).
func Path(p string) Option { return func(o *options) { o.path = p } }

// Secure sets whether the token cookie is marked Secure (sent over HTTPS
// only). The default is true; set it to false for development over plain
// HTTP.
func Secure(s bool) Option { return func(o *options) { o.secure = s } }

// HttpOnly sets whether the token cookie is hidden from scripts. The
// default is true; scripts get the token from the page, not the cookie.
func HttpOnly(h bool) Option { return func(o *options) { o.httpOnly = h } }

// SameSite sets the SameSite attribute of the token cookie. The default is
// [SameSiteLaxMode].
func SameSite(s SameSiteMode) Option { return func(o *options) { o.sameSite = s } }

// ErrorHandler sets the handler for refused requests; [FailureReason]
// tells it why. The default answers 403 Forbidden with the reason.
func ErrorHandler(h http.Handler) Option { return func(o *options) { o.errorHandler = h } }

// RequestHeader sets the request header that carries the token. The
// default is X-CSRF-Token.
func RequestHeader(header string) Option { return func(o *options) { o.header = header } }

// FieldName sets the form field that carries the token. The default is
// "gorilla.csrf.Token", so that pages and forms keep working after a
// migration.
func FieldName(name string) Option { return func(o *options) { o.fieldName = name } }

// CookieName sets the name of the token cookie. The default is
// "_gorilla_csrf".
func CookieName(name string) Option { return func(o *options) { o.cookieName = name } }

// TrustedOrigins lists other origins whose pages may send unsafe requests.
// As with gorilla, an entry may be a host, with a port if it is not the
// default ("ui.example.com", "localhost:3000"): it trusts https://HOST, and
// also http://HOST for requests marked with [PlaintextHTTPRequest]. An
// entry may also be a forgeproof origin with its scheme
// ("https://ui.example.com") or a subdomain pattern
// ("https://*.example.com").
func TrustedOrigins(origins []string) Option {
	return func(o *options) { o.trusted = append([]string(nil), origins...) }
}

// PublicOrigins, which gorilla lacks, names the origins at which browsers
// reach the application ("https://app.example.com"). Set it behind a
// proxy that rewrites Host (or terminates TLS): the request's own origin is
// then the public origin whose host matches Host, or the first one, not the
// Host the proxy sent. See forgeproof's Config.PublicOrigins.
func PublicOrigins(origins ...string) Option {
	return func(o *options) { o.publicOrigins = append([]string(nil), origins...) }
}

// TrustedProxies, which gorilla lacks, lists the addresses (IPs or CIDR
// prefixes) of reverse proxies whose Forwarded and X-Forwarded-* headers
// say which host and scheme the browser used. See forgeproof's
// Config.TrustedProxies.
func TrustedProxies(proxies ...string) Option {
	return func(o *options) { o.trustedProxies = append([]string(nil), proxies...) }
}

// secondsDuration returns n seconds.
func secondsDuration(n int) time.Duration { return time.Duration(n) * time.Second }
