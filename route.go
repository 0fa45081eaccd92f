package forgeproof

import (
	"fmt"
	"net/http"
	"net/textproto"
	"path"
	"slices"
	"strings"
)

// A route is a compiled [Route].
type route struct {
	Route
	method        string // "" matches every method
	path          string // ends in "/" for a subtree
	requireHeader string // canonical form of RequireHeader
}

// compileRoutes validates and compiles Config.Routes, ordered so that the
// first match is the most specific: the longest path first, and a route
// with a method before one without.
func compileRoutes(rs []Route) ([]route, []error) {
	var out []route
	var errs []error
	seen := make(map[string]int)
	for i, r := range rs {
		method, p, err := parsePattern(r.Pattern)
		if err != nil {
			errs = append(errs, fmt.Errorf("forgeproof: Routes[%d] pattern %q: %w", i, r.Pattern, err))
			continue
		}
		key := method + " " + p
		if j, dup := seen[key]; dup {
			errs = append(errs, fmt.Errorf("forgeproof: Routes[%d] pattern %q repeats Routes[%d]; merge their rules into one route", i, r.Pattern, j))
			continue
		}
		seen[key] = i
		if r.Tokens > TokensOff {
			errs = append(errs, fmt.Errorf("forgeproof: Routes[%d] (%q) Tokens is %d, not a TokenMode; use SignedTokens, SynchronizerTokens or TokensOff", i, r.Pattern, r.Tokens))
		}
		c := route{Route: r, method: method, path: p}
		if r.RequireHeader != "" {
			if !validToken(r.RequireHeader) {
				errs = append(errs, fmt.Errorf("forgeproof: Routes[%d] (%q) RequireHeader %q is not a header name; use a name such as \"X-Requested-With\"", i, r.Pattern, r.RequireHeader))
			}
			c.requireHeader = textproto.CanonicalMIMEHeaderKey(r.RequireHeader)
		}
		out = append(out, c)
	}
	slices.SortStableFunc(out, func(a, b route) int {
		if len(a.path) != len(b.path) {
			return len(b.path) - len(a.path)
		}
		if (a.method == "") != (b.method == "") {
			if a.method != "" {
				return -1
			}
			return 1
		}
		return 0
	})
	return out, errs
}

// parsePattern splits "[METHOD ]PATH".
func parsePattern(s string) (method, p string, err error) {
	p = s
	if m, rest, ok := strings.Cut(s, " "); ok {
		method, p = m, strings.TrimLeft(rest, " ")
		if !validToken(method) {
			return "", "", fmt.Errorf("%q is not an HTTP method; write patterns as \"POST /path\" or \"/path\"", method)
		}
		if upperMethod(method) != method {
			return "", "", fmt.Errorf("methods are case-sensitive; write %q", upperMethod(method))
		}
	}
	switch {
	case p == "":
		return "", "", fmt.Errorf("no path; write patterns as \"POST /path\" or \"/path/\"")
	case p[0] != '/':
		return "", "", fmt.Errorf("the path must start with \"/\"")
	case strings.ContainsAny(p, " ?#"):
		return "", "", fmt.Errorf("the path must not contain spaces, a query or a fragment")
	case cleanPath(p) != p:
		return "", "", fmt.Errorf("the path is not clean; write %q", cleanPath(p))
	}
	return method, p, nil
}

// validToken reports whether s is an RFC 9110 token (method, header name).
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isAlpha(c) && !isDigit(c) && !strings.ContainsRune("!#$%&'*+-.^_`|~", rune(c)) {
			return false
		}
	}
	return true
}

// cleanPath returns the canonical form of a URL path, as ServeMux sees it:
// no "." or ".." elements, no repeated slashes, the trailing slash kept.
// It returns p itself, without allocating, when p is already clean.
func cleanPath(p string) string {
	if isClean(p) {
		return p
	}
	if p == "" || p[0] != '/' {
		p = "/" + p
	}
	np := path.Clean(p)
	if p[len(p)-1] == '/' && np != "/" {
		np += "/"
	}
	return np
}

// isClean reports whether p is a rooted path without empty, "." or ".."
// elements.
func isClean(p string) bool {
	if p == "" || p[0] != '/' {
		return false
	}
	start := 1
	for i := 1; i <= len(p); i++ {
		if i < len(p) && p[i] != '/' {
			continue
		}
		switch p[start:i] {
		case "":
			if i != len(p) {
				return false // "//"
			}
		case ".", "..":
			return false
		}
		start = i + 1
	}
	return true
}

// match returns the route governing a request with the given effective
// method and URL path, or nil. A route with method GET also governs HEAD,
// as in ServeMux. The path is matched in its clean form, so that
// "/public/../api/x" is governed by the rules of "/api/", never by those
// of "/public/".
//
// InsecureBypass routes are skipped for a path that is not clean: as with
// ServeMux and CrossOriginProtection, only a direct match bypasses, since a
// router that does not clean paths might dispatch "/hooks/../admin/x" to a
// handler outside the bypass. Such a request gets the rules of the next
// route that matches, or the defaults.
// RoutePattern returns the Pattern of the [Config.Routes] entry that
// governs a request with the given method and URL path, or "" when none
// does. It matches exactly as the middleware does (on the clean path; GET
// also governs HEAD; the longest path wins, and a method beats none), so a
// layer built on top, such as a gateway attaching its own per-route
// settings, need not repeat the matching rules.
func (p *Protection) RoutePattern(method, urlPath string) string {
	if rt := p.match(method, urlPath); rt != nil {
		return rt.Pattern
	}
	return ""
}

func (p *Protection) match(method, urlPath string) *route {
	if len(p.routes) == 0 {
		return nil
	}
	direct := isClean(urlPath)
	if !direct {
		urlPath = cleanPath(urlPath)
	}
	for i := range p.routes {
		rt := &p.routes[i]
		if rt.method != "" && rt.method != method && !(rt.method == "GET" && method == "HEAD") {
			continue
		}
		if rt.InsecureBypass && !direct {
			continue
		}
		if strings.HasSuffix(rt.path, "/") {
			if strings.HasPrefix(urlPath, rt.path) {
				return rt
			}
		} else if urlPath == rt.path {
			return rt
		}
	}
	return nil
}

// isSafeMethod reports whether m is GET, HEAD, OPTIONS or TRACE, ignoring
// case (method-override values arrive in any case).
func isSafeMethod(m string) bool {
	switch m {
	case "GET", "HEAD", "OPTIONS", "TRACE":
		return true
	}
	if !hasLower(m) { // the common case
		return false
	}
	return strings.EqualFold(m, "GET") || strings.EqualFold(m, "HEAD") ||
		strings.EqualFold(m, "OPTIONS") || strings.EqualFold(m, "TRACE")
}

// overrideHeaders are the headers through which frameworks let a request
// claim another method.
var overrideHeaders = [...]string{"X-Http-Method-Override", "X-Http-Method", "X-Method-Override"}

// effectiveMethod returns the method a request must be judged by. A method
// override that names an unsafe method wins, so a GET that a framework will
// dispatch as a DELETE is checked as a DELETE. An override never makes an
// unsafe request safe: a POST with _method=GET is still a POST here.
//
// On a safe request only the _method query parameter counts: any link can
// carry it, while a cross-origin page can set an override header
// (overrideHeaders) only after a CORS preflight that the server approved.
// Skipping the header lookups keeps the safe path at a few nanoseconds. It
// does not allocate unless the query parameter is percent-encoded.
func effectiveMethod(r *http.Request) string {
	if !isSafeMethod(r.Method) {
		for _, name := range overrideHeaders {
			for _, v := range r.Header[name] {
				if v = strings.TrimSpace(v); v != "" && !isSafeMethod(v) {
					return upperMethod(v)
				}
			}
		}
	}
	if r.URL != nil && r.URL.RawQuery != "" {
		if v := queryMethod(r.URL.RawQuery); v != "" {
			return upperMethod(v)
		}
	}
	return r.Method
}

// queryMethod returns the first _method query parameter value that names an
// unsafe method, or "".
func queryMethod(q string) string {
	if !strings.Contains(q, "_method") && !strings.Contains(q, "%") {
		return ""
	}
	for q != "" {
		var kv string
		kv, q, _ = strings.Cut(q, "&")
		k, v, _ := strings.Cut(kv, "=")
		if k != "_method" {
			if !strings.ContainsAny(k, "%+") || unescapeQuery(k) != "_method" {
				continue
			}
		}
		if strings.ContainsAny(v, "%+") {
			v = unescapeQuery(v)
		}
		if v = strings.TrimSpace(v); v != "" && !isSafeMethod(v) {
			return v
		}
	}
	return ""
}

// unescapeQuery decodes a query component; an invalid escape yields the
// input unchanged.
func unescapeQuery(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '+':
			b.WriteByte(' ')
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func isHex(c byte) bool { return isDigit(c) || ('a' <= c|0x20 && c|0x20 <= 'f') }

func unhex(c byte) byte {
	if isDigit(c) {
		return c - '0'
	}
	return c | 0x20 - 'a' + 10
}

// upperMethod returns m in upper case, allocating only when it is not.
func upperMethod(m string) string {
	if hasLower(m) {
		return strings.ToUpper(m)
	}
	return m
}

// hasLower reports whether s holds an ASCII lower-case letter.
func hasLower(s string) bool {
	for i := 0; i < len(s); i++ {
		if 'a' <= s[i] && s[i] <= 'z' {
			return true
		}
	}
	return false
}

// jsonContentType reports whether the request's Content-Type allows it on a
// JSONOnly route: application/json or application/<anything>+json, with
// any parameters. A request without a body needs no Content-Type; a request
// with a body and no Content-Type, or with several, is refused, because
// text/plain bodies from cross-site forms must not slip through.
func jsonContentType(r *http.Request) bool {
	vs := r.Header["Content-Type"]
	switch len(vs) {
	case 0:
		return r.ContentLength == 0
	case 1:
	default:
		return false
	}
	mt, _, _ := strings.Cut(vs[0], ";")
	mt = strings.TrimSpace(mt)
	typ, sub, ok := strings.Cut(mt, "/")
	if !ok || !strings.EqualFold(typ, "application") {
		return false
	}
	if strings.EqualFold(sub, "json") {
		return true
	}
	const suffix = "+json"
	return len(sub) > len(suffix) && strings.EqualFold(sub[len(sub)-len(suffix):], suffix) &&
		validToken(sub[:len(sub)-len(suffix)])
}
