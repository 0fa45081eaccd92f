// Package config reads the configuration file of "forgeproof serve".
//
// A configuration is a YAML document decoded strictly into [Config]: an
// unknown or misspelt key, a value of the wrong type and an invalid value are
// all errors that name their line and column, and [Parse] reports every
// problem of a file at once as an [ErrorList]. The file format is described
// key by key in docs/CONFIGURATION.md and, for editors, by the JSON Schema
// docs/config.schema.json; a test keeps both in step with the types below.
//
// # Secrets
//
// Values that must not be written into a file, the signing keys and the
// store URL, are of type [Secret]: either a literal string or a reference,
// {env: NAME} for an environment variable or {file: PATH} for a file whose
// content (without trailing white space) is the value. References are
// resolved when the file is parsed, so a missing variable is reported with
// the other problems.
//
// # Defaults
//
// A key left out, or set to its zero value, takes the default named by one
// of the Default constants. [Config.SetDefaults] applies them; [Parse] calls
// it before validation.
//
// # Adding a section
//
// A new section is one field of [Config] with a yaml tag, a section heading
// in docs/CONFIGURATION.md and a regenerated schema
// (go test ./internal/config -run TestSchema -update).
package config

import (
	"time"

	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/operations"
)

// Defaults of the keys left out of a configuration file.
const (
	// DefaultAddr is the address the gateway listens on. It is loopback so
	// that a gateway started without thought is not reachable from the
	// network.
	DefaultAddr = "127.0.0.1:8080"
	// DefaultAdminAddr is the address of the admin listener (health and
	// metrics).
	DefaultAdminAddr = "127.0.0.1:9090"
	// DefaultReservedPrefix is the path prefix the gateway answers itself
	// (token endpoint, csrf.js) instead of proxying.
	DefaultReservedPrefix = "/.forgeproof/"
	// DefaultStore keeps tokens in the gateway's memory.
	DefaultStore = "memory"
	// DefaultLogLevel is the least severe level that is logged.
	DefaultLogLevel = "info"
	// DefaultLogFormat writes one JSON object per line.
	DefaultLogFormat = "json"
	// DefaultMaxBodyBytes bounds a proxied request body (10 MiB).
	DefaultMaxBodyBytes = 10 << 20
	// DefaultMaxHeaderBytes bounds the request line and headers (64 KiB).
	DefaultMaxHeaderBytes = 64 << 10
	// DefaultReadHeaderTimeout bounds the time to read a request's headers.
	DefaultReadHeaderTimeout = 10 * time.Second
	// DefaultReadTimeout bounds the time to read a whole request, body
	// included.
	DefaultReadTimeout = time.Minute
	// DefaultIdleTimeout closes keep-alive connections idle this long.
	DefaultIdleTimeout = 2 * time.Minute
	// DefaultShutdownTimeout bounds how long in-flight requests may run
	// after a shutdown signal.
	DefaultShutdownTimeout = 30 * time.Second
	// DefaultInjectHTML inserts the token into HTML pages, so that an
	// unchanged application's forms and fetch calls carry it.
	DefaultInjectHTML = true
	// DefaultTokens is the token mode of routes that do not choose one.
	DefaultTokens = "signed"
	// DefaultTokenMaxAge is how long a token stays valid.
	DefaultTokenMaxAge = 12 * time.Hour
	// DefaultMaxFormBytes bounds how much of a form body is read to find
	// the token field (1 MiB).
	DefaultMaxFormBytes = 1 << 20
	// DefaultPathPrefix routes every path to an upstream.
	DefaultPathPrefix = "/"
	// DefaultDialTimeout bounds connecting to an upstream.
	DefaultDialTimeout = 5 * time.Second
	// DefaultResponseHeaderTimeout bounds the wait for an upstream's
	// response headers.
	DefaultResponseHeaderTimeout = time.Minute
)

// Config is the whole configuration of the gateway. Its yaml keys are the
// snake_case names in the struct tags; docs/CONFIGURATION.md documents each.
// A string field with an enum tag takes one of the listed values, or ""
// for its default.
type Config struct {
	// Addr is the host:port the gateway listens on.
	Addr string `yaml:"addr"`
	// TLS configures HTTPS on Addr.
	TLS TLS `yaml:"tls"`
	// Admin configures the admin listener.
	Admin Admin `yaml:"admin"`
	// Log configures the structured log.
	Log Log `yaml:"log"`
	// Limits bounds requests and connections.
	Limits Limits `yaml:"limits"`
	// ReservedPrefix is the path prefix that the gateway serves itself.
	ReservedPrefix string `yaml:"reserved_prefix"`
	// FlushInterval is how often streamed response bodies are flushed.
	FlushInterval time.Duration `yaml:"flush_interval"`
	// Store is "memory" or a Redis URL of a form that redisstore.Open
	// accepts: a single server (redis://, rediss://), Sentinels
	// (redis+sentinel://) or a Cluster (redis+cluster://).
	Store Secret `yaml:"store"`
	// Preset names the backend's framework, whose session cookie
	// protection.session_cookie defaults to.
	Preset string `yaml:"preset" enum:"django,flask,express,rails,laravel,spring"`
	// Protection holds the defaults of every route.
	Protection Protection `yaml:"protection"`
	// Upstreams are the backends, chosen by host and path prefix.
	Upstreams []Upstream `yaml:"upstreams"`
	// Cookies are the default Set-Cookie hardening rules.
	Cookies []Cookie `yaml:"cookies"`
	// Headers are the default security response headers.
	Headers Headers `yaml:"headers"`
	// CORS is the default CORS policy; unset leaves CORS to the backend.
	CORS *CORS `yaml:"cors"`
	// InjectHTML inserts the token into text/html responses; unset means
	// true.
	InjectHTML *bool `yaml:"inject_html"`
	// TokenResponseHeader carries a rotated token to the client script.
	TokenResponseHeader string `yaml:"token_response_header"`
	// Routes set rules for parts of the application.
	Routes []Route `yaml:"routes"`
	// ReauthVerify is the upstream path that checks a user's credential
	// for step-up; the gateway then mints the proof.
	ReauthVerify string `yaml:"reauth_verify"`
	// ReauthSuccess is the answer of ReauthVerify that confirms the
	// credential; required with it.
	ReauthSuccess ReauthSuccess `yaml:"reauth_success"`
	// Monitor configures the anomaly detector.
	Monitor Monitor `yaml:"monitor"`
	// Identity says where the roles that routes[].roles require come
	// from.
	Identity Identity `yaml:"identity"`
	// OpenAPI takes routes and request validation from the API's OpenAPI
	// description.
	OpenAPI OpenAPI `yaml:"openapi"`

	// pos maps the path of every key read from the file ("routes[0].tokens")
	// to where it was written.
	pos map[string]Pos
	// bad holds the paths whose values did not decode; validation does not
	// report them again.
	bad map[string]bool
	// file is the name errors are reported against.
	file string
	// api is the compiled OpenAPI description, set by Validate.
	api *operations.Description
}

// TLS configures HTTPS termination.
type TLS struct {
	// Cert is the PEM certificate chain file.
	Cert string `yaml:"cert"`
	// Key is the PEM private key file.
	Key string `yaml:"key"`
	// SelfSigned serves a throwaway self-signed certificate for localhost.
	SelfSigned bool `yaml:"self_signed"`
}

// ReauthSuccess is the explicit answer by which the reauth_verify
// endpoint confirms a credential.
type ReauthSuccess struct {
	// Status is the status code of a confirmation.
	Status int `yaml:"status"`
	// Header is the response header set only on a confirmation.
	Header string `yaml:"header"`
	// Value is the exact value of Header on a confirmation.
	Value string `yaml:"value"`
}

// Admin configures the admin listener.
type Admin struct {
	// Addr is the host:port of the admin listener.
	Addr string `yaml:"addr"`
	// Hosts are the host names, besides localhost and IP addresses, that
	// requests to the admin listener may name in their Host header.
	Hosts []string `yaml:"hosts"`
}

// Log configures logging.
type Log struct {
	// Level is debug, info, warn or error.
	Level string `yaml:"level" enum:"debug,info,warn,error"`
	// Format is json or text.
	Format string `yaml:"format" enum:"json,text"`
}

// Limits bounds requests and connections.
type Limits struct {
	// MaxBodyBytes bounds a request body.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// MaxHeaderBytes bounds the request line and headers.
	MaxHeaderBytes int `yaml:"max_header_bytes"`
	// ReadHeaderTimeout bounds reading the request headers.
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"`
	// ReadTimeout bounds reading a whole request, body included.
	ReadTimeout time.Duration `yaml:"read_timeout"`
	// IdleTimeout closes idle keep-alive connections.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// ShutdownTimeout bounds the drain on shutdown.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
}

// Protection holds the library settings that apply to every route.
type Protection struct {
	// PublicOrigins are the origins browsers reach the application at.
	PublicOrigins []string `yaml:"public_origins"`
	// TrustedOrigins are other origins accepted as the application's own.
	TrustedOrigins []string `yaml:"trusted_origins"`
	// TrustedProxies are the addresses whose forwarding headers are believed.
	TrustedProxies []string `yaml:"trusted_proxies"`
	// DenyMissingOrigin rejects unsafe requests with no origin header.
	DenyMissingOrigin bool `yaml:"deny_missing_origin"`
	// SessionCookie is the backend's session cookie that tokens bind to.
	SessionCookie string `yaml:"session_cookie"`
	// Tokens is signed, synchronizer or off.
	Tokens string `yaml:"tokens" enum:"signed,synchronizer,off"`
	// Keys sign tokens (the first) and verify them (all).
	Keys []Secret `yaml:"keys"`
	// CookieName is the token cookie's name.
	CookieName string `yaml:"cookie_name"`
	// HeaderName is the token request header.
	HeaderName string `yaml:"header_name"`
	// FieldName is the token form field.
	FieldName string `yaml:"field_name"`
	// TokenMaxAge is how long a token stays valid.
	TokenMaxAge time.Duration `yaml:"token_max_age"`
	// MaxFormBytes bounds the form body read to find the token.
	MaxFormBytes int64 `yaml:"max_form_bytes"`
	// ReportOnly reports denials without enforcing them.
	ReportOnly bool `yaml:"report_only"`
}

// Upstream is a backend.
type Upstream struct {
	// Name identifies the upstream in logs.
	Name string `yaml:"name"`
	// URL is the backend's base URL.
	URL string `yaml:"url"`
	// Hosts are the request hosts routed to this upstream; empty means any.
	Hosts []string `yaml:"hosts"`
	// PathPrefix is the request path prefix routed to this upstream.
	PathPrefix string `yaml:"path_prefix"`
	// PreserveHost sends the client's Host header to the backend.
	PreserveHost bool `yaml:"preserve_host"`
	// DialTimeout bounds connecting to the upstream.
	DialTimeout time.Duration `yaml:"dial_timeout"`
	// ResponseHeaderTimeout bounds the wait for response headers.
	ResponseHeaderTimeout time.Duration `yaml:"response_header_timeout"`
}

// Route sets rules for the requests that match Pattern. The response rules
// (Cookies, Headers, CORS, InjectHTML) replace the top-level ones of
// [Config] when set.
type Route struct {
	// Pattern is "[METHOD ]PATH"; a PATH ending in "/" is a subtree.
	Pattern string `yaml:"pattern"`
	// Tokens overrides protection.tokens.
	Tokens string `yaml:"tokens" enum:"signed,synchronizer,off"`
	// OneTimeTokens accepts each token once.
	OneTimeTokens bool `yaml:"one_time_tokens"`
	// JSONOnly refuses bodies that a form can send cross-site.
	JSONOnly bool `yaml:"json_only"`
	// RequireHeader names a header unsafe requests must carry.
	RequireHeader string `yaml:"require_header"`
	// CheckSafeMethods checks GET, HEAD, OPTIONS and TRACE like POST.
	CheckSafeMethods bool `yaml:"check_safe_methods"`
	// ReportOnly reports denials on this route without enforcing them.
	ReportOnly bool `yaml:"report_only"`
	// ReauthMaxAge requires a re-authentication proof this fresh.
	ReauthMaxAge time.Duration `yaml:"reauth_max_age"`
	// InsecureBypass disables every check on the route.
	InsecureBypass bool `yaml:"insecure_bypass"`
	// Roles restricts the route to senders holding one of these roles.
	Roles []string `yaml:"roles"`
	// Cookies harden the backend's Set-Cookie headers.
	Cookies []Cookie `yaml:"cookies"`
	// Headers are the security response headers.
	Headers *Headers `yaml:"headers"`
	// CORS answers cross-origin requests from an allowlist.
	CORS *CORS `yaml:"cors"`
	// InjectHTML inserts the token into text/html responses.
	InjectHTML *bool `yaml:"inject_html"`
}

// Cookie hardens one cookie that the backend sets.
type Cookie struct {
	// Name is the cookie's name, or "*" for every cookie no other rule
	// names.
	Name string `yaml:"name"`
	// SameSite is lax, strict, none or keep; empty adds Lax when the
	// backend set none.
	SameSite string `yaml:"same_site" enum:"lax,strict,none,keep"`
	// Secure is auto, set or keep.
	Secure string `yaml:"secure" enum:"auto,set,keep"`
	// HTTPOnly is auto, set or keep.
	HTTPOnly string `yaml:"http_only" enum:"auto,set,keep"`
	// Skip passes the cookie through unchanged.
	Skip bool `yaml:"skip"`
}

// Headers are security response headers.
type Headers struct {
	// ContentSecurityPolicy is the Content-Security-Policy value.
	ContentSecurityPolicy string `yaml:"content_security_policy"`
	// FrameAncestors is the CSP frame-ancestors source list.
	FrameAncestors string `yaml:"frame_ancestors"`
	// ReferrerPolicy is the Referrer-Policy value.
	ReferrerPolicy string `yaml:"referrer_policy"`
	// Override replaces headers that the backend set itself.
	Override bool `yaml:"override"`
	// Disable turns the security headers off.
	Disable bool `yaml:"disable"`
}

// CORS is a cross-origin resource sharing allowlist.
type CORS struct {
	// AllowOrigins are the exact origins allowed.
	AllowOrigins []string `yaml:"allow_origins"`
	// AllowMethods are the methods a preflight may approve.
	AllowMethods []string `yaml:"allow_methods"`
	// AllowHeaders are the request headers a preflight may approve.
	AllowHeaders []string `yaml:"allow_headers"`
	// ExposeHeaders are the response headers scripts may read.
	ExposeHeaders []string `yaml:"expose_headers"`
	// AllowCredentials lets requests carry cookies.
	AllowCredentials bool `yaml:"allow_credentials"`
	// MaxAge is how long a preflight answer may be cached.
	MaxAge time.Duration `yaml:"max_age"`
}

// SetDefaults replaces every zero value that has a default with it.
func (c *Config) SetDefaults() {
	setDefault(&c.Addr, DefaultAddr)
	setDefault(&c.Admin.Addr, DefaultAdminAddr)
	setDefault(&c.ReauthSuccess.Status, 200)
	setDefault(&c.Log.Level, DefaultLogLevel)
	setDefault(&c.Log.Format, DefaultLogFormat)
	setDefault(&c.ReservedPrefix, DefaultReservedPrefix)
	if c.Store.IsZero() {
		c.Store = Literal(DefaultStore)
	}
	setDefault(&c.Limits.MaxBodyBytes, DefaultMaxBodyBytes)
	setDefault(&c.Limits.MaxHeaderBytes, DefaultMaxHeaderBytes)
	setDefault(&c.Limits.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	setDefault(&c.Limits.ReadTimeout, DefaultReadTimeout)
	setDefault(&c.Limits.IdleTimeout, DefaultIdleTimeout)
	setDefault(&c.Limits.ShutdownTimeout, DefaultShutdownTimeout)
	c.applyPreset()
	if c.InjectHTML == nil {
		on := DefaultInjectHTML
		c.InjectHTML = &on
	}
	setDefault(&c.Protection.Tokens, DefaultTokens)
	setDefault(&c.Protection.TokenMaxAge, DefaultTokenMaxAge)
	setDefault(&c.Protection.MaxFormBytes, DefaultMaxFormBytes)
	setDefault(&c.Monitor.Window, DefaultMonitorWindow)
	setDefault(&c.Monitor.OriginThreshold, DefaultOriginThreshold)
	setDefault(&c.Monitor.ReasonThreshold, DefaultReasonThreshold)
	setDefault(&c.Monitor.TotalThreshold, DefaultTotalThreshold)
	setDefault(&c.OpenAPI.UnknownPaths, DefaultUnknownPaths)
	setDefault(&c.OpenAPI.MaxBodyBytes, DefaultOpenAPIMaxBodyBytes)
	for i := range c.Upstreams {
		u := &c.Upstreams[i]
		setDefault(&u.PathPrefix, DefaultPathPrefix)
		setDefault(&u.DialTimeout, DefaultDialTimeout)
		setDefault(&u.ResponseHeaderTimeout, DefaultResponseHeaderTimeout)
	}
}

func setDefault[T comparable](p *T, def T) {
	var zero T
	if *p == zero {
		*p = def
	}
}
