// Package authz is forgeproof's forward-auth service: it answers the
// authorization subrequests of nginx (auth_request), Traefik (forwardAuth),
// Caddy (forward_auth) and Envoy (ext_authz over HTTP), so that a proxy
// already in place asks forgeproof whether to let each request through.
//
// For every subrequest the service rebuilds the request the browser sent
// from what the proxy passes on (see [Original]), decides on it with the
// library, and answers 200 to allow or a problem+json denial (403 for
// most reasons) that names the reason, also in the X-Forgeproof-Reason
// header. It also issues tokens at its token path, which the proxy routes
// to it like any other location.
//
// Forward-auth proxies send headers, never the body: the origin layers,
// the route rules and tokens in a header are checked, but a token in a form
// field cannot be seen, so it counts as missing. Pages behind forward-auth
// send the token in the header (X-Forgeproof-Token, or the configured name), or
// the route turns tokens off and relies on the origin layers.
package authz

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/forgeproof/forgeproof"
	"github.com/forgeproof/forgeproof/internal/problem"
)

// The proxies whose subrequests the service understands, as they appear
// in its decision paths: /auth/nginx, /auth/traefik, /auth/caddy and
// /auth/envoy (Envoy's path_prefix).
const (
	Nginx   = "nginx"
	Traefik = "traefik"
	Caddy   = "caddy"
	Envoy   = "envoy"
)

// Paths of the service.
const (
	// DecisionPrefix starts every decision path: DecisionPrefix + the
	// proxy's name.
	DecisionPrefix = "/auth/"
	// DefaultTokenPath is where pages fetch a token, through the proxy.
	DefaultTokenPath = "/.forgeproof/token"
	// ReasonHeader names the reason of a denial, for proxies (nginx) that
	// do not pass the denial's body on.
	ReasonHeader = "X-Forgeproof-Reason"
)

// Options configure a [Service].
type Options struct {
	// Protection is the library configuration the decisions are made
	// with. Its DenyHandler is not used.
	Protection forgeproof.Config
	// TokenPath is the path at which the service issues tokens. If empty,
	// it is DefaultTokenPath.
	TokenPath string
	// Log receives one line per refused request (never a token or cookie
	// value). If nil, nothing is logged.
	Log *slog.Logger
}

// A Service answers forward-auth subrequests. It is an http.Handler.
type Service struct {
	prot      *forgeproof.Protection
	tokenPath string
	tokenH    http.Handler // the library's TokenHandler
	log       *slog.Logger
}

// New returns the service of opts, or the library's error for its
// configuration.
func New(opts Options) (*Service, error) {
	s := &Service{tokenPath: opts.TokenPath, log: opts.Log}
	if s.tokenPath == "" {
		s.tokenPath = DefaultTokenPath
	}
	if !strings.HasPrefix(s.tokenPath, "/") {
		return nil, fmt.Errorf("token path %q: write it as an absolute path, such as %s", s.tokenPath, DefaultTokenPath)
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	cfg := opts.Protection
	cfg.DenyHandler = nil
	p, err := forgeproof.New(cfg)
	if err != nil {
		return nil, err
	}
	s.prot = p
	s.tokenH = p.TokenHandler()
	return s, nil
}

// ServeHTTP answers decision subrequests at DecisionPrefix + proxy, and
// token requests at the token path.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	switch {
	case path == s.tokenPath:
		s.serveToken(w, r)
	case path == DecisionPrefix+Nginx:
		s.decide(w, r, Nginx)
	case path == DecisionPrefix+Traefik:
		s.decide(w, r, Traefik)
	case path == DecisionPrefix+Caddy:
		s.decide(w, r, Caddy)
	case path == DecisionPrefix+Envoy || strings.HasPrefix(path, DecisionPrefix+Envoy+"/"):
		s.decide(w, r, Envoy)
	default:
		problem.Write(w, problem.Details{
			Type:   problemType("not-found"),
			Title:  "Not Found",
			Status: http.StatusNotFound,
			Detail: fmt.Sprintf("forgeproof authz answers %s{nginx,traefik,caddy,envoy} and %s; point the proxy's forward-auth address at one of them", DecisionPrefix, s.tokenPath),
		})
	}
}

// decide answers one decision subrequest.
func (s *Service) decide(w http.ResponseWriter, r *http.Request, proxy string) {
	orig, err := Original(proxy, r)
	if err != nil {
		// The proxy is configured wrong, or the client's request was
		// not HTTP a proxy should pass: refuse, and say which.
		s.log.Error("forward-auth request refused", "proxy", proxy, "error", err.Error())
		problem.Write(w, problem.Details{
			Type:   problemType("bad-forward-auth-request"),
			Title:  "Bad forward-auth request",
			Status: http.StatusBadRequest,
			Detail: err.Error(),
		})
		return
	}
	err = s.prot.Check(orig)
	var e *forgeproof.Error
	if err == nil || (errors.As(err, &e) && e.ReportOnly) {
		if e != nil {
			s.log.Info("request refused (report-only)", "reason", e.Reason.String(), "proxy", proxy,
				"method", orig.Method, "path", orig.URL.Path)
		}
		w.WriteHeader(http.StatusOK)
		return
	}
	reason := forgeproof.ReasonTokenInvalid
	if e != nil {
		reason = e.Reason
	}
	s.log.Info("request refused", "reason", reason.String(), "proxy", proxy,
		"method", orig.Method, "path", orig.URL.Path, "origin", orig.Header.Get("Origin"))
	w.Header().Set(ReasonHeader, reason.String())
	problem.Write(w, problem.Details{
		Type:   "https://github.com/forgeproof/forgeproof/blob/main/docs/REASONS.md#" + reason.String(),
		Title:  reason.Title(),
		Status: reason.Status(),
		Detail: "forgeproof refused the request: " + reason.Title() + "; the type explains what to do",
	}, problem.Member{Name: "reason", Value: reason.String()})
}

// serveToken answers at the token path with the library's TokenHandler,
// on the request as the proxy reports it (scheme and host), so that the
// cookie is Secure on HTTPS.
func (s *Service) serveToken(w http.ResponseWriter, r *http.Request) {
	s.tokenH.ServeHTTP(w, forwardedView(r))
}

// forwardedView returns r as the browser sent it to the proxy, for the
// token path: with the scheme and host of X-Forwarded-Proto and
// X-Forwarded-Host when the proxy set them.
func forwardedView(r *http.Request) *http.Request {
	v := *r
	if host := lastValue(r.Header, "X-Forwarded-Host"); host != "" {
		v.Host = host
	}
	switch strings.ToLower(lastValue(r.Header, "X-Forwarded-Proto")) {
	case "https":
		v.TLS = &tls.ConnectionState{}
	case "http":
		v.TLS = nil
	}
	return &v
}

// lastValue returns the last element of the comma-separated list in the
// header key (the one the nearest proxy added), or "".
func lastValue(h http.Header, key string) string {
	vs := h[key]
	if len(vs) == 0 {
		return ""
	}
	v := vs[len(vs)-1]
	if i := strings.LastIndexByte(v, ','); i >= 0 {
		v = v[i+1:]
	}
	return strings.TrimSpace(v)
}

// The headers each proxy uses to describe the original request: they are
// read by Original and removed from the rebuilt request.
var describing = []string{
	"X-Original-Method", "X-Original-Uri",
	"X-Forwarded-Method", "X-Forwarded-Uri", "X-Forwarded-Host", "X-Forwarded-Proto",
}

// Original rebuilds the request the browser sent, from a forward-auth
// subrequest of proxy:
//
//   - nginx: X-Original-Method and X-Original-URI (set by the snippet in
//     docs/FORWARD-AUTH.md), X-Forwarded-Proto, and X-Forwarded-Host or
//     else Host;
//   - Traefik and Caddy: X-Forwarded-Method, X-Forwarded-Uri,
//     X-Forwarded-Host and X-Forwarded-Proto;
//   - Envoy: the subrequest itself, which keeps the original method, host
//     and headers, with the path after the /auth/envoy path_prefix, and
//     X-Forwarded-Proto.
//
// Every other header (Origin, Referer, Sec-Fetch-Site, Cookie, the token
// header, Content-Type) is the original request's, as the proxy copies
// it. The rebuilt request has no body, and a body of unknown length.
// Original fails when a header it
// needs is missing, repeated or malformed; the service refuses such
// subrequests.
func Original(proxy string, r *http.Request) (*http.Request, error) {
	h := r.Header
	var method, uri, host, proto string
	var err error
	one := func(key string) string {
		if err != nil {
			return ""
		}
		switch vs := h[key]; {
		case len(vs) == 0 || vs[0] == "":
			err = fmt.Errorf("the %s subrequest has no %s header; configure the proxy as docs/FORWARD-AUTH.md shows", proxy, key)
		case len(vs) > 1:
			err = fmt.Errorf("the %s subrequest has %d %s headers; it must have one", proxy, len(vs), key)
		default:
			return vs[0]
		}
		return ""
	}
	switch proxy {
	case Nginx:
		method, uri = one("X-Original-Method"), one("X-Original-Uri")
		host = lastValue(h, "X-Forwarded-Host")
		if host == "" {
			host = r.Host
		}
	case Traefik, Caddy:
		method, uri, host = one("X-Forwarded-Method"), one("X-Forwarded-Uri"), lastValue(h, "X-Forwarded-Host")
		if host == "" && err == nil {
			err = fmt.Errorf("the %s subrequest has no X-Forwarded-Host header; configure the proxy as docs/FORWARD-AUTH.md shows", proxy)
		}
	case Envoy:
		method, host = r.Method, r.Host
		uri = strings.TrimPrefix(r.URL.RequestURI(), DecisionPrefix+Envoy)
		if uri == "" || uri[0] == '?' {
			uri = "/" + uri
		}
	default:
		return nil, fmt.Errorf("unknown proxy %q; use nginx, traefik, caddy or envoy", proxy)
	}
	if err != nil {
		return nil, err
	}
	proto = strings.ToLower(lastValue(h, "X-Forwarded-Proto"))
	switch proto {
	case "https", "http":
	case "":
		return nil, fmt.Errorf("the %s subrequest has no X-Forwarded-Proto header; configure the proxy as docs/FORWARD-AUTH.md shows", proxy)
	default:
		return nil, fmt.Errorf("X-Forwarded-Proto %q is neither http nor https", proto)
	}
	if !validMethod(method) {
		return nil, fmt.Errorf("method %q is not an HTTP method", method)
	}
	u, perr := url.ParseRequestURI(uri)
	if perr != nil || u.Opaque != "" || (!u.IsAbs() && !strings.HasPrefix(u.Path, "/")) {
		return nil, fmt.Errorf("request URI %q is not an absolute path or URL", uri)
	}
	target := &url.URL{Path: u.Path, RawPath: u.RawPath, RawQuery: u.RawQuery}
	orig := &http.Request{
		Method:     method,
		URL:        target,
		RequestURI: target.RequestURI(),
		Proto:      r.Proto,
		ProtoMajor: r.ProtoMajor,
		ProtoMinor: r.ProtoMinor,
		Header:     r.Header.Clone(),
		Host:       host,
		RemoteAddr: r.RemoteAddr,
		Body:       http.NoBody,
	}
	for _, k := range describing {
		delete(orig.Header, k)
	}
	// The body is not forwarded, and its length is not known (nginx
	// drops Content-Length, Envoy sends the subrequest's own): a
	// JSON-only route then needs a JSON Content-Type on every unsafe
	// request, with a body or not.
	orig.ContentLength = -1
	delete(orig.Header, "Content-Length")
	delete(orig.Header, "Transfer-Encoding")
	if proto == "https" {
		orig.TLS = &tls.ConnectionState{}
	}
	return orig.WithContext(r.Context()), nil
}

// validMethod reports whether m is an HTTP method token.
func validMethod(m string) bool {
	if m == "" || len(m) > 32 {
		return false
	}
	for i := 0; i < len(m); i++ {
		c := m[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// problemType returns the documentation URL of one of the service's own
// problem types.
func problemType(name string) string {
	return "https://github.com/forgeproof/forgeproof/blob/main/docs/FORWARD-AUTH.md#" + name
}
