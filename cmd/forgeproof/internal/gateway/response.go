package gateway

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"strings"
)

// modifyResponse rewrites the backend's response on its way to the client:
// CORS, session rotation, cookie hardening, HTML injection and security
// headers, in that order.
func (g *Gateway) modifyResponse(resp *http.Response) error {
	if resp.Request == nil {
		// Every http.RoundTripper must set it; without it the response
		// cannot be tied to its route, so it is not passed on.
		return errors.New("gateway: the upstream transport returned a response without its Request")
	}
	ex := exchangeOf(resp.Request)
	if ex == nil {
		return nil
	}
	rt, in, h := ex.route, ex.in, resp.Header
	if rt.cors != nil {
		rt.cors.apply(h, in.Header.Get("Origin"))
	}
	if resp.StatusCode == http.StatusSwitchingProtocols {
		return nil
	}

	// The library writes its cookies and headers to rec, made only when a
	// token is issued; they are merged after the backend's cookies were
	// hardened, so that the gateway's own token cookie is left as the
	// library made it.
	var rec *headerRecorder
	pageToken := ""
	if g.sessionCookie != "" {
		if sid, changed := sessionChange(h, in, g.sessionCookie); changed {
			rec = new(headerRecorder)
			tok, err := g.prot.Rotate(rec, in, sid)
			if err != nil {
				// Only synchronizer tokens need the store here. The
				// response goes out unrotated: the old session's tokens
				// are refused in the new session, and every check on a
				// store-backed route fails closed until the store is back.
				g.log.Error("token not rotated at session change", "path", in.URL.Path, "error", err.Error())
				rec = nil
			} else {
				pageToken = tok
				h.Set(g.rotatedHeader, pageToken)
				g.issued(TokenRotation)
			}
		}
	}
	g.hardenCookies(h, rt.cookies, in)
	// The security headers go on first: whether the page's <base> can
	// lead elsewhere depends on its final Content-Security-Policy.
	rt.headers.apply(h)
	if rt.inject && in.Method != http.MethodHead && bodyAllowed(resp.StatusCode) && isHTML(h) {
		if err := g.injectBody(resp, ex, &pageToken, &rec); err != nil {
			return err
		}
	}
	if pageToken != "" {
		h.Set("Cache-Control", "no-store")
		addVary(h, "Cookie")
	}
	var recorded http.Header
	if rec != nil {
		recorded = rec.h
	}
	for k, vs := range recorded {
		switch k {
		case "Set-Cookie":
			h[k] = append(h[k], vs...)
		case "Vary":
			for _, v := range vs {
				addVary(h, v)
			}
		default:
			h[k] = vs
		}
	}
	if pageToken != "" || len(recorded["Set-Cookie"]) > 0 {
		noStoreAnywhere(h)
	}
	handOver(ex.w, h)
	return nil
}

// handOver moves the final response header h to the client's response
// writer w, each field the writer does not have yet by assignment: after
// ModifyResponse, httputil.ReverseProxy copies h into w's header with
// Header.Add, one canonicalization and one allocation for every field. The
// fields w already has (a Vary the library added) stay in h, for
// ReverseProxy to append, and so does Content-Type, which ReverseProxy
// reads afterwards to flush event streams at once. h and w's header then
// share value slices, which nothing changes in place once the header is
// written (the gateway's constant values have no spare capacity, so that
// an append copies them).
func handOver(w http.ResponseWriter, h http.Header) {
	if w == nil {
		return
	}
	out := w.Header()
	for k, vs := range h {
		if _, ok := out[k]; !ok && k != "Content-Type" {
			out[k] = vs
			delete(h, k)
		}
	}
}

// cdnCacheHeaders are the cache directives aimed at shared caches only
// (RFC 9213 targeted fields and their vendor forms), which CDNs obey in
// place of Cache-Control.
var cdnCacheHeaders = [...]string{
	"Cdn-Cache-Control",
	"Surrogate-Control",
	"Cloudflare-Cdn-Cache-Control",
	"Vercel-Cdn-Cache-Control",
	"Edge-Control",
}

// noStoreAnywhere marks a response that carries a token or sets the token
// cookie as uncacheable by every cache: a backend's CDN-Cache-Control or
// Surrogate-Control would otherwise let a CDN that obeys it keep the
// response (token, Set-Cookie and all) and serve it to other users.
func noStoreAnywhere(h http.Header) {
	for _, k := range cdnCacheHeaders {
		delete(h, k)
	}
	h["Cache-Control"] = noStoreValue
	h["Cdn-Cache-Control"] = noStoreValue
	h["Surrogate-Control"] = noStoreValue
	delete(h, "Expires")
}

// bodyAllowed reports whether a response with the given status carries a
// whole body that may be rewritten.
func bodyAllowed(status int) bool {
	return status >= 200 && status != http.StatusNoContent && status != http.StatusPartialContent && status != http.StatusNotModified
}

// isHTML reports whether the response is an HTML document: its media type
// is text/html, with or without parameters. It does not allocate.
func isHTML(h http.Header) bool {
	vs := h["Content-Type"]
	if len(vs) == 0 {
		return false
	}
	ct := strings.TrimLeft(vs[0], " \t")
	const mt = "text/html"
	if len(ct) < len(mt) || !strings.EqualFold(ct[:len(mt)], mt) {
		return false
	}
	rest := strings.TrimLeft(ct[len(mt):], " \t")
	return rest == "" || rest[0] == ';'
}

// injectBody makes the response body insert the token meta tag, the client
// script and hidden form fields as it streams. A gzip-encoded body is
// decompressed and compressed again; a body in any other encoding is left
// alone (and logged).
func (g *Gateway) injectBody(resp *http.Response, ex *exchange, pageToken *string, rec **headerRecorder) error {
	h := resp.Header
	enc := strings.ToLower(strings.TrimSpace(h.Get("Content-Encoding")))
	if enc != "" && enc != "identity" && enc != "gzip" && enc != "x-gzip" {
		g.log.Warn("html not rewritten: content encoding not supported", "encoding", enc, "path", ex.in.URL.Path)
		return nil
	}
	if *pageToken == "" {
		*rec = new(headerRecorder)
		tok, err := g.prot.Token(*rec, ex.in)
		if err != nil {
			*rec = nil
			g.log.Error("html not rewritten: no token", "path", ex.in.URL.Path, "error", err.Error())
			return nil
		}
		*pageToken = tok
		g.issued(TokenInjection)
	}
	body := resp.Body
	var src io.Reader = body
	gz := enc == "gzip" || enc == "x-gzip"
	if gz {
		zr, err := gzip.NewReader(body)
		if err != nil {
			body.Close()
			return fmt.Errorf("gateway: gzip body of %s does not decode: %w", ex.in.URL.Path, err)
		}
		src = zr
	}
	inj := newInjector(src, g.headSnippet(*pageToken), g.fieldSnippet(*pageToken), g.prot.PublicOrigin(ex.in),
		cspLocksBase(h.Values("Content-Security-Policy")))
	resp.Body = newRewriteBody(body, inj, gz)
	resp.ContentLength = -1
	h.Del("Content-Length")
	h.Del("Content-MD5")
	h.Del("ETag")
	h.Del("Accept-Ranges")
	return nil
}

// MetaName is the name of the meta tag that carries the token in pages
// the gateway rewrites. It differs from every framework's own (Rails and
// Laravel use csrf-token, Spring _csrf), so that the application's scripts
// keep reading their own token.
const MetaName = "forgeproof-token"

// headSnippet is inserted after <head>: the token meta tag and the client
// script.
func (g *Gateway) headSnippet(token string) []byte {
	return []byte(`<meta name="` + MetaName + `" content="` + token + `"><script src="` + g.scriptPath + `"></script>`)
}

// fieldSnippet is inserted before the end tag of a form that posts to the
// page's origin (see injector).
func (g *Gateway) fieldSnippet(token string) []byte {
	return []byte(`<input type="hidden" name="` + htmlAttr(g.tokenField) + `" value="` + token + `">`)
}

// htmlAttr escapes s for a double-quoted attribute value.
func htmlAttr(s string) string {
	return strings.NewReplacer(`&`, "&amp;", `"`, "&quot;", `<`, "&lt;", `>`, "&gt;").Replace(s)
}

// addVary adds v to the Vary header unless it is already listed.
func addVary(h http.Header, v string) {
	if len(h["Vary"]) == 0 {
		if v == "Origin" {
			h["Vary"] = varyOrigin // no allocation on the common path
		} else {
			h["Vary"] = []string{v}
		}
		return
	}
	for _, have := range h.Values("Vary") {
		for part := range strings.SplitSeq(have, ",") {
			p := strings.TrimSpace(part)
			if p == "*" || strings.EqualFold(p, v) {
				return
			}
		}
	}
	h.Add("Vary", v)
}

// Shared header values, with len == cap: assigning them costs no
// allocation, and a later Add copies them instead of writing into them.
var (
	varyOrigin   = []string{"Origin"}
	gzipValue    = []string{"gzip"}
	trueValue    = []string{"true"}
	noStoreValue = []string{"no-store"}
)

// sessionChange reports whether the response sets the session cookie to a
// value other than the one the request carried (a login, or a new session),
// or deletes it (a logout), and returns the new session id ("" after a
// logout).
func sessionChange(h http.Header, in *http.Request, name string) (sid string, changed bool) {
	found, deleted := false, false
	for _, line := range h["Set-Cookie"] {
		if n, _, _ := strings.Cut(line, "="); strings.TrimSpace(n) != name {
			// Not the session cookie, or no cookie at all: parsed as
			// parseSetCookie would, without its allocations.
			continue
		}
		c, ok := parseSetCookie(line)
		if !ok || c.name != name {
			continue
		}
		found = true
		sid, deleted = c.value, c.deletes()
	}
	if !found {
		return "", false
	}
	old := ""
	if c, err := in.Cookie(name); err == nil {
		old = c.Value
	}
	if deleted {
		return "", old != ""
	}
	sid = strings.Trim(sid, `"`)
	if sid == old {
		return "", false
	}
	return sid, true
}

// headerRecorder is the ResponseWriter given to the library when the
// gateway asks it for a token while proxying: it keeps the headers the
// library sets (token cookie, Cache-Control, Vary) for the proxied
// response. The library never writes a body to it.
type headerRecorder struct{ h http.Header }

func (r *headerRecorder) Header() http.Header {
	if r.h == nil {
		r.h = make(http.Header)
	}
	return r.h
}

func (r *headerRecorder) Write(p []byte) (int, error) { return len(p), nil }
func (r *headerRecorder) WriteHeader(int)             {}

// slogErrorLog adapts the gateway's logger to ReverseProxy.ErrorLog.
func slogErrorLog(l *slog.Logger) *log.Logger {
	return slog.NewLogLogger(l.Handler(), slog.LevelWarn)
}
