package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/httpsyntax"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/redact"
)

// An upstream is a compiled [Upstream] with its reverse proxy.
type upstream struct {
	name   string
	hosts  []string // lower case; "*.x" entries match subdomains
	prefix string
	proxy  *httputil.ReverseProxy
}

func newUpstream(g *Gateway, i int, u Upstream, flush time.Duration) (*upstream, error) {
	if u.URL == nil {
		return nil, fmt.Errorf("gateway: Upstreams[%d] has no URL; set it to the backend's base URL, such as http://127.0.0.1:3000", i)
	}
	if u.URL.Scheme != "http" && u.URL.Scheme != "https" || u.URL.Host == "" {
		return nil, fmt.Errorf("gateway: Upstreams[%d] URL %q is not an http or https URL with a host; write it as http://127.0.0.1:3000", i, u.URL.Redacted())
	}
	if u.URL.User != nil {
		return nil, fmt.Errorf("gateway: Upstreams[%d] URL must not carry user information; the gateway passes the client's credentials through", i)
	}
	up := &upstream{name: u.Name, prefix: u.PathPrefix}
	if up.name == "" {
		up.name = u.URL.Host
	}
	if up.prefix == "" {
		up.prefix = "/"
	}
	if up.prefix[0] != '/' {
		return nil, fmt.Errorf("gateway: Upstreams[%d] (%s) PathPrefix %q must start with \"/\"", i, up.name, u.PathPrefix)
	}
	for _, h := range u.Hosts {
		if !ValidHost(h) {
			return nil, fmt.Errorf("gateway: Upstreams[%d] (%s) Hosts entry %q is not a host name; write \"app.example.com\" or \"*.example.com\"", i, up.name, h)
		}
		up.hosts = append(up.hosts, strings.ToLower(h))
	}
	rt := u.Transport
	if rt == nil {
		dial := u.DialTimeout
		if dial == 0 {
			dial = 5 * time.Second
		}
		rht := u.ResponseHeaderTimeout
		if rht == 0 {
			rht = 60 * time.Second
		}
		rt = newTransport(u.URL, dial, rht)
	}
	target := u.URL
	preserveHost := u.PreserveHost
	up.proxy = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			if preserveHost {
				pr.Out.Host = pr.In.Host
			}
			g.forwardHeaders(pr)
			ex := exchangeOf(pr.In)
			if ex == nil {
				return
			}
			if ex.route.inject {
				// Ask only for encodings the injector can rewrite.
				if acceptsGzip(pr.In.Header) {
					pr.Out.Header["Accept-Encoding"] = gzipValue
				} else {
					pr.Out.Header.Del("Accept-Encoding")
				}
			}
			if ex.smallBytes != nil && pr.Out.Body != nil {
				// ReverseProxy wraps the body in a reader of its own,
				// which net/http does not know to be in memory: it
				// would flush the header on its own first. GetBody
				// lets a transport send it again.
				pr.Out.Body = pr.In.Body
				pr.Out.GetBody = ex.resend
			}
		},
		Transport:      rt,
		BufferPool:     copyBuffers,
		FlushInterval:  flush,
		ModifyResponse: g.modifyResponse,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			g.proxyError(w, r, up.name, err)
		},
		ErrorLog: slogErrorLog(g.log),
	}
	return up, nil
}

// ValidHost reports whether h can be an entry of [Upstream.Hosts]: a host
// name without port, or "*." and a host name.
func ValidHost(h string) bool {
	return h != "" && !strings.ContainsAny(h, "/:@ ") && !strings.Contains(h[1:], "*") &&
		(h[0] != '*' || strings.HasPrefix(h, "*."))
}

// forwardHeaders sets X-Forwarded-For, -Host and -Proto and Forwarded
// (RFC 7239) on the outbound request, so that a backend configured for a
// proxy (Django's SECURE_PROXY_SSL_HEADER and USE_X_FORWARDED_HOST,
// Werkzeug's ProxyFix, Express's "trust proxy", Rails's force_ssl) sees the
// public scheme and host and keeps its own origin checks working.
// ReverseProxy has already removed the client's own forwarding headers;
// from a trusted proxy they are restored and extended, from any other peer
// they are replaced with what the gateway saw.
func (g *Gateway) forwardHeaders(pr *httputil.ProxyRequest) {
	in, h := pr.In, pr.Out.Header
	ip, _, err := net.SplitHostPort(in.RemoteAddr)
	if err != nil {
		ip = in.RemoteAddr
	}
	if !g.prot.FromTrustedProxy(in) {
		// What httputil.ProxyRequest.SetXForwarded sets, and Forwarded,
		// with the four values in one allocation and the keys written in
		// their canonical form.
		proto := "http"
		if in.TLS != nil {
			proto = "https"
		}
		vs := new([4]string)
		vs[0], vs[1], vs[2], vs[3] = ip, in.Host, proto, forwardedElement(ip, in.Host, proto)
		if err == nil {
			h["X-Forwarded-For"] = vs[0:1:1]
		}
		h["X-Forwarded-Host"] = vs[1:2:2]
		h["X-Forwarded-Proto"] = vs[2:3:3]
		h["Forwarded"] = vs[3:4:4]
		return
	}
	if prior := in.Header.Values("X-Forwarded-For"); len(prior) > 0 {
		h.Set("X-Forwarded-For", strings.Join(prior, ", ")+", "+ip)
	} else {
		h.Set("X-Forwarded-For", ip)
	}
	if fh := in.Header.Get("X-Forwarded-Host"); fh != "" {
		h.Set("X-Forwarded-Host", fh)
	} else {
		h.Set("X-Forwarded-Host", in.Host)
	}
	proto := in.Header.Get("X-Forwarded-Proto")
	switch {
	case proto != "":
	case in.TLS != nil:
		proto = "https"
	default:
		proto = "http"
	}
	h.Set("X-Forwarded-Proto", proto)
	own := forwardedElement(ip, in.Host, proto)
	if f := in.Header.Values("Forwarded"); len(f) > 0 {
		// The trusted proxy's hops, then this one, as RFC 7239 says.
		h.Set("Forwarded", strings.Join(f, ", ")+", "+own)
	} else {
		h.Set("Forwarded", own)
	}
}

// forwardedElement returns this hop's Forwarded element: the client's
// address ip (from RemoteAddr), the Host it asked for and the scheme. It
// allocates only the string it returns.
func forwardedElement(ip, host, proto string) string {
	a, err := netip.ParseAddr(ip)
	var buf [128]byte // enough for most elements: b stays on the stack
	b := buf[:0]
	b = append(b, "for="...)
	switch {
	case err != nil:
		b = append(b, "unknown"...)
	case a.Is4():
		b = append(b, ip...) // ParseAddr accepts only the canonical form
	case a.Is4In6():
		b = a.Unmap().AppendTo(b)
	default:
		b = append(b, `"[`...)
		b = append(b, ip...)
		b = append(b, `]"`...)
	}
	b = append(b, ";host="...)
	b = appendForwardedValue(b, host)
	b = append(b, ";proto="...)
	b = append(b, proto...)
	return string(b)
}

// appendForwardedValue appends v as an RFC 7239 value: a token as it is,
// anything else as a quoted string.
func appendForwardedValue(b []byte, v string) []byte {
	if v == "" || httpsyntax.IsToken(v) {
		return append(b, v...)
	}
	b = append(b, '"')
	for i := 0; i < len(v); i++ {
		if v[i] == '\\' || v[i] == '"' {
			b = append(b, '\\')
		}
		b = append(b, v[i])
	}
	return append(b, '"')
}

// copyBuffers lends every reverse proxy its body copy buffers:
// httputil.ReverseProxy otherwise allocates a new 32 KiB buffer for every
// response, which then dominates the gateway's garbage.
var copyBuffers = &bufferPool{}

// bufferPool is an httputil.BufferPool of 32 KiB buffers. It stores
// pointers to arrays, so that neither Get nor Put allocates.
type bufferPool struct{ p sync.Pool }

const copyBufferSize = 32 << 10

func (b *bufferPool) Get() []byte {
	if buf, ok := b.p.Get().(*[copyBufferSize]byte); ok {
		return buf[:]
	}
	return new([copyBufferSize]byte)[:]
}

func (b *bufferPool) Put(buf []byte) {
	if cap(buf) >= copyBufferSize {
		b.p.Put((*[copyBufferSize]byte)(buf[:copyBufferSize]))
	}
}

// acceptsGzip reports whether the client accepts gzip-encoded responses.
func acceptsGzip(h http.Header) bool {
	for _, v := range h.Values("Accept-Encoding") {
		for part := range strings.SplitSeq(v, ",") {
			name, params, _ := strings.Cut(part, ";")
			if !strings.EqualFold(strings.TrimSpace(name), "gzip") {
				continue
			}
			q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
			if q == "q=0" || q == "q=0.0" || q == "q=0.00" || q == "q=0.000" {
				return false
			}
			return true
		}
	}
	return false
}

// pick returns the upstream for r, or nil.
func (g *Gateway) pick(r *http.Request) *upstream {
	var best *upstream
	bestHost := false
	for _, up := range g.upstreams {
		if !strings.HasPrefix(r.URL.Path, up.prefix) {
			continue
		}
		byHost := len(up.hosts) > 0
		if byHost && !matchHost(up.hosts, hostname(r.Host)) {
			continue
		}
		switch {
		case best == nil,
			byHost && !bestHost,
			byHost == bestHost && len(up.prefix) > len(best.prefix):
			best, bestHost = up, byHost
		}
	}
	return best
}

// hostname returns the lower-case host of a Host header, without port
// and trailing dot.
func hostname(hostport string) string {
	h := hostport
	if i := strings.LastIndexByte(h, ':'); i >= 0 && !strings.HasSuffix(h, "]") {
		h = h[:i]
	}
	h = strings.TrimSuffix(strings.TrimSuffix(strings.TrimPrefix(h, "["), "]"), ".")
	return strings.ToLower(h)
}

func matchHost(patterns []string, host string) bool {
	for _, p := range patterns {
		if p == host {
			return true
		}
		if strings.HasPrefix(p, "*.") && strings.HasSuffix(host, p[1:]) && len(host) > len(p)-1 {
			return true
		}
	}
	return false
}

// proxy sends a request that the library let through to its upstream.
func (g *Gateway) proxy(w http.ResponseWriter, r *http.Request) {
	up := g.pick(r)
	if up == nil {
		g.fail(w, http.StatusNotFound, "no-upstream", "No Upstream",
			"no upstream serves this host and path; add an upstream whose Hosts and PathPrefix match it")
		return
	}
	ex := exchangeOf(r)
	if lb, ok := r.Body.(*limitedBody); ok && r.ContentLength > 0 && r.ContentLength <= smallBody {
		buf, err := readSmallBody(lb, r.ContentLength)
		if err != nil {
			r.Body = struct {
				io.Reader
				io.Closer
			}{io.MultiReader(bytes.NewReader(buf), errReader{err}), lb}
		} else {
			// An io.NopCloser over a bytes.Reader is a body net/http
			// knows to be in memory (for http.Transport's requests).
			r.Body = io.NopCloser(bytes.NewReader(buf))
			if ex != nil {
				ex.smallBytes = buf
			}
		}
	}
	if ex != nil {
		ex.w = w
	}
	up.proxy.ServeHTTP(w, r)
}

// smallBody is the size up to which a request body of declared length is
// read whole before the request is proxied (nginx's request buffering, for
// small bodies only): net/http writes a body that is not in memory after
// flushing the header on its own, so that a small request would cost the
// gateway two writes to the upstream instead of one.
const smallBody = 4 << 10

// readSmallBody reads the n bytes of a small request body. If the client
// does not send them all, it returns what was read and the error, which the
// proxy then meets as it would have while streaming.
func readSmallBody(b *limitedBody, n int64) ([]byte, error) {
	buf := make([]byte, n)
	got, err := io.ReadFull(b, buf)
	return buf[:got], err
}

// errReader is a reader that fails with its error.
type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

// proxyUpgrade proxies a protocol upgrade (WebSocket) whose handshake the
// library checked under its mirror path.
func (g *Gateway) proxyUpgrade(w http.ResponseWriter, r *http.Request) {
	g.flushDecision(r)
	ex := exchangeOf(r)
	in := ex.in.WithContext(r.Context())
	g.proxy(w, in)
}

// proxyError answers a request that the upstream failed: 413 when the
// request body was cut at the limit, 504 on a timeout, 502 otherwise.
func (g *Gateway) proxyError(w http.ResponseWriter, r *http.Request, name string, err error) {
	if ex := exchangeOf(r); ex != nil && ex.body != nil && ex.body.exceeded.Load() {
		g.tooLarge(w)
		return
	}
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		// The client went away; nobody reads the answer.
		w.WriteHeader(499)
		return
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
		g.log.Warn("upstream timed out", "upstream", name, "method", r.Method, "path", r.URL.Path, "error", redact.Error(err))
		g.fail(w, http.StatusGatewayTimeout, "upstream-timeout", "Gateway Timeout",
			"the upstream "+name+" did not answer in time; retry later, or raise the upstream's timeouts")
		return
	}
	g.log.Error("upstream failed", "upstream", name, "method", r.Method, "path", r.URL.Path, "error", redact.Error(err))
	g.fail(w, http.StatusBadGateway, "upstream-unavailable", "Bad Gateway",
		"the upstream "+name+" could not be reached or gave an invalid answer; check that it is running")
}

// limitedBody is a request body that fails once more than left bytes were
// read from it.
type limitedBody struct {
	rc       io.ReadCloser
	left     int64
	exceeded atomic.Bool
}

// errBodyTooLarge is returned by a limitedBody past its limit.
var errBodyTooLarge = errors.New("gateway: request body too large")

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left < 0 {
		return 0, errBodyTooLarge
	}
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	if b.left < 0 {
		b.exceeded.Store(true)
		return 0, errBodyTooLarge
	}
	return n, err
}

func (b *limitedBody) Close() error { return b.rc.Close() }
