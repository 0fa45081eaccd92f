package forgeproof

import (
	"fmt"
	"net/http"
	"net/textproto"
	"path"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// A route is a compiled [Route].
type route struct {
	Route
	method        string   // "" matches every method
	segs          []patSeg // the path's segments
	end           patEnd
	requireHeader string // canonical form of RequireHeader
}

// A patSeg is one segment of a route pattern's path: a literal, or a
// wildcard ("{id}") that matches any one non-empty segment.
type patSeg struct {
	lit  string
	wild bool
}

// patEnd says how a pattern's path ends.
type patEnd uint8

const (
	endExact   patEnd = iota // "/a/b": that path only
	endSubtree               // "/a/", "/a/{rest...}": the path with a trailing slash and everything below
	endSlash                 // "/a/{$}": "/a/" only
)

// compileRoutes validates and compiles Config.Routes, ordered so that the
// first match is the most specific (see routeOrder).
func compileRoutes(rs []Route) ([]route, []error) {
	var out []route
	var errs []error
	seen := make(map[string]int)
	for i, r := range rs {
		c, err := parsePattern(r.Pattern)
		if err != nil {
			msg, hint, _ := strings.Cut(err.Error(), "; ")
			errs = append(errs, &FieldError{Field: fmt.Sprintf("Routes[%d].Pattern", i), Msg: fmt.Sprintf("%q: %s", r.Pattern, msg), Hint: hint})
			continue
		}
		key := c.shape()
		if j, dup := seen[key]; dup {
			errs = append(errs, &FieldError{Field: fmt.Sprintf("Routes[%d].Pattern", i),
				Msg: fmt.Sprintf("%q repeats Routes[%d]", r.Pattern, j), Hint: "merge their rules into one route"})
			continue
		}
		seen[key] = i
		if r.Tokens > TokensOff {
			errs = append(errs, &FieldError{Field: fmt.Sprintf("Routes[%d].Tokens", i),
				Msg: fmt.Sprintf("Tokens is %d, not a TokenMode", r.Tokens), Hint: "use SignedTokens, SynchronizerTokens or TokensOff"})
		}
		c.Route = r
		if r.RequireHeader != "" {
			if !validToken(r.RequireHeader) {
				errs = append(errs, &FieldError{Field: fmt.Sprintf("Routes[%d].RequireHeader", i),
					Msg: fmt.Sprintf("%q is not a header name", r.RequireHeader), Hint: `use a name such as "X-Requested-With"`})
			}
			c.requireHeader = textproto.CanonicalMIMEHeaderKey(r.RequireHeader)
		}
		out = append(out, c)
	}
	slices.SortStableFunc(out, func(a, b route) int { return routeOrder(&a, &b) })
	return out, errs
}

// routeOrder orders routes from the most specific to the least. The paths
// are compared segment by segment: at the first segment where one pattern
// has a literal and the other a wildcard, the literal wins; where one
// pattern's path ends and the other's goes on, the longer wins; of two
// paths that end at the same segment, "/a" beats "/a/{$}" beats "/a/". Of
// equal paths, a pattern with a method beats one without.
func routeOrder(a, b *route) int {
	for i := 0; ; i++ {
		switch {
		case i == len(a.segs) && i == len(b.segs):
			if a.end != b.end {
				return int(a.end) - int(b.end)
			}
			switch {
			case (a.method == "") == (b.method == ""):
				return 0
			case a.method != "":
				return -1
			}
			return 1
		case i == len(a.segs):
			return 1
		case i == len(b.segs):
			return -1
		}
		if a.segs[i].wild != b.segs[i].wild {
			if b.segs[i].wild {
				return -1
			}
			return 1
		}
	}
}

// shape returns a key that two patterns share when they match the same
// requests: wildcard names do not count.
func (rt *route) shape() string {
	var b strings.Builder
	b.WriteString(rt.method)
	for _, s := range rt.segs {
		b.WriteByte('/')
		if s.wild {
			b.WriteString("{}")
		} else {
			b.WriteString(s.lit)
		}
	}
	b.WriteString([...]string{"", "/", "/{$}"}[rt.end])
	return b.String()
}

// parsePattern parses a route pattern, "[METHOD ]PATH", into a route
// without its rules.
//
// PATH is clean (no "." or ".." segments, no empty segment) and holds
// decoded text: no "%", ";" or "\", which routers decode, strip or treat
// as a separator, no space or control character. A segment may be a
// wildcard "{name}", which matches any one non-empty segment; the last
// segment may be "{name...}", which matches the rest of the path like a
// trailing slash does, or "{$}", which matches the trailing slash only.
func parsePattern(s string) (route, error) {
	var rt route
	p := s
	if m, rest, ok := strings.Cut(s, " "); ok {
		method := m
		p = strings.TrimLeft(rest, " ")
		if !validToken(method) {
			return rt, fmt.Errorf("%q is not an HTTP method; write patterns as \"POST /path\" or \"/path\"", method)
		}
		if upperMethod(method) != method {
			return rt, fmt.Errorf("methods are case-sensitive; write %q", upperMethod(method))
		}
		rt.method = method
	}
	switch {
	case p == "":
		return rt, fmt.Errorf("no path; write patterns as \"POST /path\" or \"/path/\"")
	case p[0] != '/':
		return rt, fmt.Errorf("the path must start with \"/\"")
	case strings.ContainsAny(p, " ?#"):
		return rt, fmt.Errorf("the path must not contain spaces, a query or a fragment")
	case strings.ContainsAny(p, "%;\\"):
		return rt, fmt.Errorf("the path must not contain %q, %q or %q, which routers decode, strip or treat as a separator; write the decoded path", '%', ';', '\\')
	case strings.ContainsFunc(p, func(r rune) bool { return r < ' ' || r == 0x7f || r == utf8.RuneError }):
		return rt, fmt.Errorf("the path holds a control character or invalid UTF-8")
	case cleanPath(p) != p:
		return rt, fmt.Errorf("the path is not clean; write %q", cleanPath(p))
	}
	rest := p[1:]
	names := make(map[string]bool)
	for rest != "" {
		seg, tail, more := strings.Cut(rest, "/")
		rest = tail
		if !strings.ContainsAny(seg, "{}") {
			rt.segs = append(rt.segs, patSeg{lit: seg})
			if !more {
				return rt, nil // endExact
			}
			continue
		}
		if len(seg) < 2 || seg[0] != '{' || seg[len(seg)-1] != '}' {
			return rt, fmt.Errorf("segment %q: a wildcard fills a whole segment, as in \"/items/{id}\"", seg)
		}
		name := seg[1 : len(seg)-1]
		last := !more
		switch {
		case name == "$":
			if !last {
				return rt, fmt.Errorf("{$} may only end the path, as in \"/items/{$}\"")
			}
			rt.end = endSlash
			return rt, nil
		case strings.HasSuffix(name, "..."):
			name = strings.TrimSuffix(name, "...")
			if !last {
				return rt, fmt.Errorf("%q may only be the last segment, as in \"/files/{path...}\"", seg)
			}
			if !isIdent(name) {
				return rt, fmt.Errorf("wildcard %q: its name must be a Go identifier, as in \"{path...}\"", seg)
			}
			if names[name] {
				return rt, fmt.Errorf("wildcard name %q appears twice", name)
			}
			rt.end = endSubtree
			return rt, nil
		case !isIdent(name):
			return rt, fmt.Errorf("wildcard %q: its name must be a Go identifier, as in \"{id}\"", seg)
		case names[name]:
			return rt, fmt.Errorf("wildcard name %q appears twice", name)
		}
		names[name] = true
		rt.segs = append(rt.segs, patSeg{wild: true})
		if last {
			return rt, nil
		}
	}
	rt.end = endSubtree // the path ends in "/"
	return rt, nil
}

// isIdent reports whether s is a Go identifier, as ServeMux requires of a
// wildcard's name.
func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		if !unicode.IsLetter(c) && c != '_' && (i == 0 || !unicode.IsDigit(c)) {
			return false
		}
	}
	return true
}

// The ways of matching a path, as bits: exactly; with the trailing slash
// optional, as in routers that ignore it or redirect to the other form;
// without regard to case, as in Express and ASP.NET; and both.
const (
	modeExact uint8 = 1 << iota
	modeSlash
	modeFold
	modeFoldSlash

	modesCased = modeExact | modeSlash
	modesAll   = modesCased | modeFold | modeFoldSlash
)

// modes returns the ways (among want) in which the rooted URL path p
// matches rt's path, walking p once. It does not allocate unless a
// segment differs from a literal in a Turkish i.
func (rt *route) modes(p string, want uint8) uint8 {
	if p == "" || p[0] != '/' {
		return 0
	}
	rest, ended := p[1:], false
	cased, fold := true, want&(modeFold|modeFoldSlash) != 0
	for _, s := range rt.segs {
		if ended || rest == "" {
			return 0
		}
		if !fold && !s.wild {
			// A literal compared with case: it starts rest and ends at a
			// slash or at the end of the path. No need to find the
			// segment's end first.
			if !strings.HasPrefix(rest, s.lit) {
				return 0
			}
			switch tail := rest[len(s.lit):]; {
			case tail == "":
				rest, ended = "", true
			case tail[0] == '/':
				rest = tail[1:]
			default:
				return 0
			}
			continue
		}
		seg, tail, more := strings.Cut(rest, "/")
		switch {
		case s.wild:
			if seg == "" {
				return 0
			}
		case seg == s.lit:
		case !fold || !foldEqual(seg, s.lit):
			return 0
		default:
			cased = false
		}
		rest, ended = tail, !more
	}
	var exact, slash bool
	switch rt.end {
	case endExact:
		exact, slash = ended, ended || rest == ""
	case endSlash:
		exact, slash = !ended && rest == "", ended || rest == ""
	default: // endSubtree
		exact, slash = !ended, true
	}
	var m uint8
	if exact {
		m |= modeFold
	}
	if slash {
		m |= modeFoldSlash
	}
	if cased {
		m |= m >> 2 // modeFold → modeExact, modeFoldSlash → modeSlash
	}
	return m & want
}

// foldEqual reports whether a and b are equal under Unicode case folding,
// counting the dotted and dotless i of Turkish as i, as .NET's
// case-insensitive comparison does.
func foldEqual(a, b string) bool {
	if strings.EqualFold(a, b) {
		return true
	}
	if !strings.ContainsAny(a, "ıİ") && !strings.ContainsAny(b, "ıİ") {
		return false
	}
	r := strings.NewReplacer("ı", "i", "İ", "i")
	return strings.EqualFold(r.Replace(a), r.Replace(b))
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

// RoutePattern returns the Pattern of the [Config.Routes] entry that
// governs a request with the given method and URL path as ServeMux would
// dispatch it, or "" when none does: the most specific route matching the
// clean path (GET also governs HEAD), bypass routes included only when the
// path is unambiguous (see [Route]). A layer built on top, such as a
// gateway attaching its own per-route settings, can call it instead of
// repeating the matching rules. The middleware itself applies the rules of
// every route that some common router might dispatch the request to; see
// the package documentation, "Dispatch confusion".
func (p *Protection) RoutePattern(method, urlPath string) string {
	plain, _ := plainPath(urlPath, "")
	if rt := p.match(method, cleanPath(urlPath), plain); rt != nil {
		return rt.Pattern
	}
	return ""
}

// match returns the most specific route for method and the rooted path
// urlPath matched exactly, or nil.
func (p *Protection) match(method, urlPath string, bypass bool) *route {
	for i := range p.routes {
		if rt := &p.routes[i]; rt.serves(method, bypass) && rt.modes(urlPath, modeExact) != 0 {
			return rt
		}
	}
	return nil
}

// serves reports whether rt may govern a request with the given method: a
// route without a method governs every method, and one with method GET
// also governs HEAD, as in ServeMux. InsecureBypass routes count only when
// bypass is set.
func (rt *route) serves(method string, bypass bool) bool {
	if rt.method != "" && rt.method != method && !(rt.method == "GET" && method == "HEAD") {
		return false
	}
	return bypass || !rt.InsecureBypass
}

// isSafeMethod reports whether m is GET, HEAD, OPTIONS or TRACE, ignoring
// case (method-override values arrive in any case).
func isSafeMethod(m string) bool {
	switch m {
	case "GET", "HEAD", "OPTIONS", "TRACE":
		return true
	case "POST", "PUT", "PATCH", "DELETE":
		return false
	}
	if !hasLower(m) {
		return false
	}
	return strings.EqualFold(m, "GET") || strings.EqualFold(m, "HEAD") ||
		strings.EqualFold(m, "OPTIONS") || strings.EqualFold(m, "TRACE")
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
