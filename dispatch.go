package forgeproof

import (
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Dispatch confusion.
//
// A route's rules protect a handler only if forgeproof and the backend
// agree on which handler a request reaches. They need not: Express and
// ASP.NET match paths without regard to case and ignore a trailing slash,
// Tomcat and Spring strip ";params" from each segment before resolving
// "..", IIS treats "\" as "/" and drops trailing dots, Go's ServeMux
// decodes each segment but keeps "%2F" inside it, Django and Flask see the
// decoded path as it is, and method-override middleware dispatches a POST
// as the method named in a header or a _method field. So a request is
// judged under every (method, route) pair that a common router might
// dispatch it to (its candidates), and the strictest rules of them all
// apply: a route's rules are never escaped by spelling its path or method
// differently.
//
// The common request pays little for this: its path is plain (see
// plainPath), so its candidates are found without allocating, by matching
// the path as it is with and without case and with and without the
// trailing slash, and not at all when no route's first literal can match
// its first byte (see firstIndex); and an unsafe request without override
// fields has one method. Only an ambiguous path is rewritten, into each of the forms that
// the routers above would match.

// overrideHeaders are the headers through which frameworks let a request
// claim another method.
var overrideHeaders = [...]string{"X-Http-Method-Override", "X-Http-Method", "X-Method-Override"}

// maxCandidates is how many candidates are kept without allocating.
const maxCandidates = 4

// A candidate is a method and the route (nil for none: the defaults) that
// a router might dispatch a request to.
type candidate struct {
	rt     *route
	method string
	active bool // decide: its rules apply
}

// A candidateSet holds distinct candidates.
type candidateSet struct {
	n    int
	a    [maxCandidates]candidate
	more []candidate
}

func (c *candidateSet) add(method string, rt *route) {
	for i := 0; i < c.len(); i++ {
		if x := c.at(i); x.method == method && x.rt == rt {
			return
		}
	}
	if c.n < maxCandidates {
		c.a[c.n] = candidate{method: method, rt: rt}
		c.n++
		return
	}
	c.more = append(c.more, candidate{method: method, rt: rt})
}

func (c *candidateSet) len() int { return c.n + len(c.more) }

func (c *candidateSet) at(i int) *candidate {
	if i < c.n {
		return &c.a[i]
	}
	return &c.more[i-c.n]
}

// A methodSet holds the methods that a request might be dispatched as.
type methodSet struct {
	n       int
	a       [4]string
	more    []string
	invalid bool // an override value is not a method name
	any     bool // an override may be hidden (a form beyond the read bound): any method
}

func (m *methodSet) add(method string) {
	for i := 0; i < m.len(); i++ {
		if m.at(i) == method {
			return
		}
	}
	if m.n < len(m.a) {
		m.a[m.n] = method
		m.n++
		return
	}
	m.more = append(m.more, method)
}

func (m *methodSet) len() int { return m.n + len(m.more) }

func (m *methodSet) at(i int) string {
	if i < m.n {
		return m.a[i]
	}
	return m.more[i-m.n]
}

// addOverride adds a method-override value, or marks the set invalid when
// the value is not a method name: ASCII letters, with inner hyphens as in
// M-SEARCH. Frameworks upper-case the value and trim white space around
// it; anything else (a list, parameters, signs, an empty value) is
// refused, since frameworks disagree on what it means (Symfony refuses all
// but letters, Express ignores methods it does not know, Go accepts any
// token).
func (m *methodSet) addOverride(v string) {
	v = trimSpace(v)
	if !methodName(v) {
		m.invalid = true
		return
	}
	m.add(upperMethod(v))
}

// methodName reports whether v is ASCII letters with inner hyphens.
func methodName(v string) bool {
	if v == "" || v[0] == '-' || v[len(v)-1] == '-' {
		return false
	}
	for i := 0; i < len(v); i++ {
		if !isAlpha(v[i]) && v[i] != '-' {
			return false
		}
	}
	return true
}

// requestMethods returns the methods that r might be dispatched as: its
// own, upper-cased as Django does, and every method-override value.
//
// The _method query parameter counts on every request: any link can carry
// it. The override headers and the _method field of a form body count on
// an unsafe request, and only when some route names a method or is
// sensitive: otherwise every method of a path has the same rules, and an
// unsafe request is checked whatever it is dispatched as, so skipping the
// lookups changes no verdict. A cross-origin page can set an override
// header only after a CORS preflight that the server approved, so the
// headers of a safe request are ignored.
func (p *Protection) requestMethods(r *http.Request, safe bool, m *methodSet) {
	m.add(r.Method)
	if hasLower(r.Method) {
		m.add(upperMethod(r.Method))
	}
	if !safe && p.overrides {
		for _, name := range overrideHeaders {
			for _, v := range r.Header[name] {
				m.addOverride(v)
			}
		}
		if hasFormBody(r) {
			vs, complete := formMethods(r, p.tok.maxForm)
			for _, v := range vs {
				m.addOverride(v)
			}
			m.any = !complete
		}
	}
	if r.URL != nil && mayOverride(r.URL.RawQuery) {
		queryMethods(r.URL.RawQuery, m)
	}
}

// mayOverride reports whether the raw query q may hold a _method
// parameter: it has an underscore or a percent-encoded byte.
func mayOverride(q string) bool {
	for i := 0; i < len(q); i++ {
		if q[i] == '_' || q[i] == '%' {
			return true
		}
	}
	return false
}

// queryMethods adds the _method query parameters of the raw query q to m.
// It does not allocate unless a parameter is percent-encoded.
func queryMethods(q string, m *methodSet) {
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
		m.addOverride(v)
	}
}

// plainPath reports whether the URL path p (with raw, its escaped form when
// it differs from the default) is unambiguous: every common router splits
// it into the same segments and none of them rewrites it. It is rooted and
// clean, was sent without percent-encoding, and holds only printable ASCII
// other than ";", "\" and "%", with no segment ending in a dot. Letters
// may be of either case: case-insensitive routers are accounted for by
// matching with and without case; upper reports whether p has an
// upper-case letter. It reads p once and does not allocate.
func plainPath(p, raw string) (plain, upper bool) {
	if raw != "" || p == "" || p[0] != '/' {
		return false, false
	}
	start := 1
	for i := 1; i <= len(p); i++ {
		if i == len(p) || p[i] == '/' {
			seg := p[start:i]
			if (seg == "" && i != len(p)) || (seg != "" && seg[len(seg)-1] == '.') {
				return false, false // "//", ".", ".." or a trailing dot
			}
			start = i + 1
			continue
		}
		switch c := p[i]; {
		case c <= ' ' || c >= 0x7f || c == ';' || c == '\\' || c == '%':
			return false, false
		case 'A' <= c && c <= 'Z':
			upper = true
		}
	}
	return true, upper
}

// candidates returns the (method, route) pairs that some common router
// might dispatch a request with the given methods and URL path (raw: its
// escaped form, or "") to, and the route that ServeMux would pick for the
// request's own method (for Event.Route and RoutePattern).
//
// An InsecureBypass route is a candidate only for a plain path: a path that
// routers may read in different ways gets the rules of the other routes
// that match it, as in ServeMux and CrossOriginProtection, so that
// "/hooks/../admin" or "/hooks/x;/../../admin" is never bypassed.
func (p *Protection) candidates(ms *methodSet, urlPath, raw string, cs *candidateSet) (primary *route) {
	methods := ms
	if ms.any {
		methods = p.allMethods(ms)
	}
	plain, upper := false, false
	if len(p.routes) > 0 {
		plain, upper = plainPath(urlPath, raw)
	}
	if len(p.routes) == 0 || (plain && !p.firsts.mayMatch(urlPath)) {
		// No route can match this path in any way.
		for i := 0; i < methods.len(); i++ {
			cs.add(methods.at(i), nil)
		}
		return nil
	}
	if plain {
		want := modesCased
		if p.foldPatterns || upper {
			want = modesAll
		}
		for i := 0; i < methods.len(); i++ {
			if exact := p.addMatches(cs, methods.at(i), urlPath, true, want); i == 0 {
				primary = exact
			}
		}
		return primary
	}
	keys := pathKeys(urlPath, raw)
	for i := 0; i < methods.len(); i++ {
		m := methods.at(i)
		if i == 0 {
			primary = p.match(m, cleanPath(urlPath), false)
		}
		for _, k := range keys {
			p.addMatches(cs, m, k, false, modesAll)
		}
	}
	return primary
}

// addMatches adds to cs, for method m, the most specific route that
// matches the rooted path urlPath in each way of want (see modeExact),
// and the defaults (a nil route) when some way matches no route; see
// route.serves for which routes count. It returns the route matched
// exactly, or nil.
func (p *Protection) addMatches(cs *candidateSet, m, urlPath string, bypass bool, want uint8) (exact *route) {
	for i := range p.routes {
		rt := &p.routes[i]
		if !rt.serves(m, bypass) {
			continue
		}
		got := rt.modes(urlPath, want)
		if got == 0 {
			continue
		}
		if got&modeExact != 0 {
			exact = rt
		}
		cs.add(m, rt)
		if want &^= got; want == 0 {
			return exact
		}
	}
	cs.add(m, nil)
	return exact
}

// allMethods returns ms with every method that a route pattern names, for
// a request whose method cannot be known.
func (p *Protection) allMethods(ms *methodSet) *methodSet {
	all := *ms
	all.more = append([]string(nil), ms.more...)
	for _, m := range p.routeMethods {
		all.add(m)
	}
	return &all
}

// pathKeys returns the forms in which common routers may match the
// ambiguous URL path p (raw is its escaped form, or ""), each rooted:
// from the decoded path, and from the escaped one decoded segment by
// segment with "%2F" kept inside its segment (ServeMux); each with and
// without ";params" stripped from every segment (Tomcat, Spring), with and
// without "\" read as "/", overlong UTF-8 dots and slashes decoded and
// trailing dots and spaces dropped from segments (IIS), and as sent or
// with "." and ".." resolved and empty segments dropped (ServeMux,
// Tomcat). Case and the trailing slash are left to the matching.
func pathKeys(p, raw string) []string {
	sources := []string{p}
	if raw != "" {
		if s := decodeSegments(raw); s != p {
			sources = append(sources, s)
		}
	}
	var keys []string
	add := func(k string) {
		if k == "" || k[0] != '/' {
			k = "/" + k
		}
		for _, have := range keys {
			if have == k {
				return
			}
		}
		keys = append(keys, k)
	}
	for _, s := range sources {
		for _, semi := range [...]bool{false, true} {
			if semi && !strings.Contains(s, ";") {
				continue
			}
			for _, win := range [...]bool{false, true} {
				k := s
				if semi {
					k = stripParams(k)
				}
				if win {
					k = windowsPath(k)
				}
				add(k)
				add(cleanPath(k))
			}
		}
	}
	return keys
}

// decodeSegments decodes the escaped path raw as ServeMux does, segment by
// segment, except that an encoded "/" stays "%2F" within its segment. An
// invalid escape is kept as it is.
func decodeSegments(raw string) string {
	var b strings.Builder
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c == '%' && i+2 < len(raw) && isHex(raw[i+1]) && isHex(raw[i+2]) {
			d := unhex(raw[i+1])<<4 | unhex(raw[i+2])
			if d == '/' {
				b.WriteString("%2F")
			} else {
				b.WriteByte(d)
			}
			i += 2
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// stripParams removes the ";params" of every segment of p, as Tomcat does
// before it resolves "." and "..": "/a/..;x/b;y" becomes "/a/../b".
func stripParams(p string) string {
	var b strings.Builder
	for p != "" {
		seg, rest, more := strings.Cut(p, "/")
		seg, _, _ = strings.Cut(seg, ";")
		b.WriteString(seg)
		if more {
			b.WriteByte('/')
		}
		p = rest
	}
	return b.String()
}

// windowsPath rewrites p as IIS and other Windows servers read it: "\" is
// a separator, the overlong UTF-8 forms of "." and "/" are those
// characters, and each segment loses its trailing dots and spaces.
func windowsPath(p string) string {
	p = strings.NewReplacer("\\", "/", "\xc0\xae", ".", "\xc0\xaf", "/", "\xe0\x80\xae", ".", "\xe0\x80\xaf", "/").Replace(p)
	var b strings.Builder
	for p != "" {
		seg, rest, more := strings.Cut(p, "/")
		if seg != "." && seg != ".." {
			seg = strings.TrimRight(seg, ". ")
		}
		b.WriteString(seg)
		if more {
			b.WriteByte('/')
		}
		p = rest
	}
	return b.String()
}

// hasUpper reports whether s holds a byte that case folding may change: an
// ASCII upper-case letter or a non-ASCII byte.
func hasUpper(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; ('A' <= c && c <= 'Z') || c >= 0x80 {
			return true
		}
	}
	return false
}

// A firstIndex holds the bytes with which the first segment of a plain
// path must start to match some route, in either case, so that most
// paths that no route governs skip the route table.
type firstIndex struct {
	any   bool      // a route has no first literal: it may match any path
	bytes [4]uint64 // bit c: a route's first literal may match a segment starting with c
}

// add records rt's first literal.
func (f *firstIndex) add(rt *route) {
	if len(rt.segs) == 0 || rt.segs[0].wild {
		f.any = true
		return
	}
	first, _ := utf8.DecodeRuneInString(rt.segs[0].lit)
	if first == 'ı' || first == 'İ' { // foldEqual reads both as i
		first = 'i'
	}
	for r := unicode.SimpleFold(first); ; r = unicode.SimpleFold(r) {
		if r < utf8.RuneSelf {
			f.bytes[r/64] |= 1 << (r % 64)
		}
		if r == first {
			break
		}
	}
}

// mayMatch reports whether some route may match the plain path p (see
// plainPath), which is ASCII.
func (f *firstIndex) mayMatch(p string) bool {
	if f.any || len(p) < 2 {
		return f.any
	}
	c := p[1]
	return f.bytes[c/64]&(1<<(c%64)) != 0
}
