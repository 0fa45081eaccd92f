package gateway_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/forgeproof/forgeproof"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/gateway"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/metrics"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/monitor"
)

// benchItem is the backend's answer to every benchmark request, the
// document of bench/gateway's backend.
const benchItem = `{"id":42,"name":"benchmark item","price":"12.50","tags":["a","b","c"]}` + "\n"

// benchTransport answers every request in process as bench/gateway's
// backend does (JSON, and a cookie for the gateway to harden), after
// reading the whole request body, so that the benchmarks measure the
// proxies and not the loopback network. It allocates only the response.
type benchTransport struct{}

func (benchTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	return &http.Response{
		Status:        "200 OK",
		StatusCode:    http.StatusOK,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        http.Header{"Content-Type": {"application/json"}, "Set-Cookie": {"pref=compact; Path=/"}},
		Body:          io.NopCloser(strings.NewReader(benchItem)),
		ContentLength: int64(len(benchItem)),
		Request:       r,
	}, nil
}

// benchGateway returns the gateway with every layer on, as
// bench/gateway/gateway.yaml configures it and "forgeproof serve" wires
// it: origin check, JSON-only route with a required header, signed token
// bound to the session, cookie rules, security headers, CORS, HTML
// injection (on; these responses are JSON), and the Prometheus metrics
// and anomaly detector on every verdict and around every request.
func benchGateway(b *testing.B) http.Handler {
	m, err := metrics.New(prometheus.NewRegistry())
	if err != nil {
		b.Fatal(err)
	}
	mon, err := monitor.New(monitor.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(mon.Close)
	gw, err := gateway.New(gateway.Options{
		Upstreams: []gateway.Upstream{{URL: mustURL(b, "http://backend.internal"), Transport: benchTransport{}}},
		Protection: forgeproof.Config{
			Keys:           testKeys(),
			SessionCookie:  "sid",
			TrustedOrigins: []string{"https://app.example.com"},
			OnDecision: func(e forgeproof.Event) {
				m.Observe(e)
				mon.Observe(e)
			},
		},
		Routes:        []gateway.Route{{Pattern: "POST /api/", Protect: forgeproof.Route{JSONOnly: true, RequireHeader: "X-Requested-With"}}},
		Cookies:       []gateway.CookieRule{{Name: "sid", SameSite: http.SameSiteStrictMode}},
		Headers:       gateway.Headers{ContentSecurityPolicy: "default-src 'self'"},
		CORS:          &gateway.CORS{AllowOrigins: []string{"https://app.example.com"}, AllowCredentials: true},
		OnTokenIssued: m.TokenIssued,
		// HTML injection is on by default.
	})
	if err != nil {
		b.Fatal(err)
	}
	return m.Handler(gw)
}

// bareProxy returns httputil.ReverseProxy with Rewrite calling SetURL and
// SetXForwarded, and nothing else; pool, if not nil, is its BufferPool.
func bareProxy(b *testing.B, pool httputil.BufferPool) http.Handler {
	u := mustURL(b, "http://backend.internal")
	return &httputil.ReverseProxy{
		Rewrite:    func(pr *httputil.ProxyRequest) { pr.SetURL(u); pr.SetXForwarded() },
		Transport:  benchTransport{},
		BufferPool: pool,
	}
}

// benchPool is an httputil.BufferPool of 32 KiB buffers, like the
// gateway's own.
type benchPool struct{ p sync.Pool }

func (p *benchPool) Get() []byte {
	if buf, ok := p.p.Get().(*[32 << 10]byte); ok {
		return buf[:]
	}
	return new([32 << 10]byte)[:]
}

func (p *benchPool) Put(buf []byte) { p.p.Put((*[32 << 10]byte)(buf)) }

// benchRequest is one request of a benchmark, reused for every iteration
// so that only what the handler does is counted.
type benchRequest struct {
	r       *http.Request
	payload string
	body    strings.Reader
}

func (q *benchRequest) next() *http.Request {
	if q.payload != "" {
		q.body.Reset(q.payload)
		q.r.Body = io.NopCloser(&q.body)
	}
	return q.r
}

// benchRequests returns the GET and the 1 KiB JSON POST of
// bench/gateway/run.sh, with a valid token from the gateway gw: both pass
// every layer.
func benchRequests(b *testing.B, gw http.Handler) (get, post *benchRequest) {
	tr := httptest.NewRequest("GET", "http://bank.example/.forgeproof/token", nil)
	tr.Header.Set("Sec-Fetch-Site", "same-origin")
	tr.AddCookie(&http.Cookie{Name: "sid", Value: "s1"})
	tw := httptest.NewRecorder()
	gw.ServeHTTP(tw, tr)
	body := tw.Body.String()
	if tw.Code != http.StatusOK || !strings.Contains(body, `"token":"`) {
		b.Fatalf("token endpoint: %d %s", tw.Code, body)
	}
	token := body[strings.Index(body, `"token":"`)+9 : strings.Index(body, `","header"`)]
	cookie := strings.Split(tw.Header().Get("Set-Cookie"), ";")[0]
	headers := func(r *http.Request) {
		r.RemoteAddr = "127.0.0.1:40000"
		r.Header.Set("Cookie", "sid=s1; "+cookie)
		r.Header.Set("X-Forgeproof-Token", token)
		r.Header.Set("Origin", "http://bank.example")
		r.Header.Set("Sec-Fetch-Site", "same-origin")
		r.Header.Set("X-Requested-With", "XMLHttpRequest")
	}
	get = &benchRequest{r: httptest.NewRequest("GET", "http://bank.example/api/item", nil)}
	headers(get.r)
	payload := `{"data":"` + strings.Repeat("a", 1013) + `"}`
	if len(payload) != 1024 {
		b.Fatalf("payload is %d bytes", len(payload))
	}
	post = &benchRequest{r: httptest.NewRequest("POST", "http://bank.example/api/item", nil), payload: payload}
	post.r.ContentLength = int64(len(payload))
	post.r.Header.Set("Content-Type", "application/json")
	headers(post.r)
	return get, post
}

// benchWriter is a ResponseWriter that keeps the status and discards the
// body, reused across iterations.
type benchWriter struct {
	h    http.Header
	code int
	n    int
}

func (w *benchWriter) Header() http.Header { return w.h }
func (w *benchWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}

func (w *benchWriter) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	w.n += len(p)
	return len(p), nil
}

func runBench(b *testing.B, h http.Handler, q *benchRequest) {
	w := &benchWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		w.code, w.n = 0, 0
		h.ServeHTTP(w, q.next())
		if w.code != http.StatusOK || w.n != len(benchItem) {
			b.Fatalf("status %d, %d bytes; want 200 and the backend's %d", w.code, w.n, len(benchItem))
		}
	}
}

// BenchmarkOverhead measures, in one run, the cost per request of the
// gateway with every layer on and of a bare httputil.ReverseProxy (as
// configured by default, and with a buffer pool like the gateway's), on
// the GET and the 1 KiB JSON POST of bench/gateway/run.sh, without the
// network: the difference is what the gateway's layers cost. Run it with
// -count to interleave the targets:
//
//	go test -run '^$' -bench Overhead -count 5 ./internal/gateway/
func BenchmarkOverhead(b *testing.B) {
	gw := benchGateway(b)
	get, post := benchRequests(b, gw)
	targets := []struct {
		name string
		h    http.Handler
	}{
		{"bare-default", bareProxy(b, nil)},
		{"bare-pooled", bareProxy(b, &benchPool{})},
		{"gateway", gw},
	}
	for _, req := range []struct {
		name string
		q    *benchRequest
	}{{"GET", get}, {"POST-1KiB-JSON", post}} {
		for _, t := range targets {
			b.Run(req.name+"/"+t.name, func(b *testing.B) { runBench(b, t.h, req.q) })
		}
	}
}
