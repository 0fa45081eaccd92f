package gateway_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"strings"
	"testing"

	"github.com/forgeproof/forgeproof"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/gateway"
)

// handlerTransport serves requests with a handler in process, so that the
// benchmarks measure the proxy and not the loopback network.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	w := httptest.NewRecorder()
	t.h.ServeHTTP(w, r)
	if r.Body != nil {
		r.Body.Close()
	}
	resp := w.Result()
	resp.Request = r
	return resp, nil
}

var benchBackend = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	if r.Body != nil {
		io.Copy(io.Discard, r.Body)
	}
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, `{"ok":true}`)
})

func benchRequests(b *testing.B) (get, post func() *http.Request, g http.Handler) {
	u := mustURL(b, "http://backend.internal")
	gw, err := gateway.New(gateway.Options{
		Upstreams:  []gateway.Upstream{{URL: u, Transport: handlerTransport{benchBackend}}},
		Protection: forgeproof.Config{Keys: testKeys(), SessionCookie: "sid", TrustedOrigins: []string{"https://app.example.com"}},
		Routes:     []gateway.Route{{Pattern: "POST /api/", Protect: forgeproof.Route{JSONOnly: true, RequireHeader: "X-Requested-With"}}},
		Cookies:    []gateway.CookieRule{{Name: "sid", SameSite: http.SameSiteStrictMode}},
		Headers:    gateway.Headers{ContentSecurityPolicy: "default-src 'self'"},
		CORS:       &gateway.CORS{AllowOrigins: []string{"https://app.example.com"}, AllowCredentials: true},
		// HTML injection is on by default.
	})
	if err != nil {
		b.Fatal(err)
	}
	tr := httptest.NewRequest("GET", "http://bank.example/.forgeproof/token", nil)
	tr.Header.Set("Sec-Fetch-Site", "same-origin")
	tr.AddCookie(&http.Cookie{Name: "sid", Value: "s1"})
	tw := httptest.NewRecorder()
	gw.ServeHTTP(tw, tr)
	body := tw.Body.String()
	token := body[strings.Index(body, `"token":"`)+9 : strings.Index(body, `","header"`)]
	cookie := strings.Split(tw.Header().Get("Set-Cookie"), ";")[0]
	payload := strings.Repeat("x", 1000)
	get = func() *http.Request {
		r := httptest.NewRequest("GET", "http://bank.example/api/balance", nil)
		r.Header.Set("Cookie", "sid=s1; "+cookie)
		return r
	}
	post = func() *http.Request {
		r := httptest.NewRequest("POST", "http://bank.example/api/transfer", strings.NewReader(`{"pad":"`+payload+`"}`))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Sec-Fetch-Site", "same-origin")
		r.Header.Set("Origin", "http://bank.example")
		r.Header.Set("X-Forgeproof-Token", token)
		r.Header.Set("X-Requested-With", "fetch")
		r.Header.Set("Cookie", "sid=s1; "+cookie)
		return r
	}
	return get, post, gw
}

func runBench(b *testing.B, h http.Handler, mk func() *http.Request, want int) {
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		r := mk()
		w := httptest.NewRecorder()
		b.StartTimer()
		h.ServeHTTP(w, r)
		if w.Code != want {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
}

// BenchmarkBareProxy is the baseline: httputil.ReverseProxy alone.
func BenchmarkBareProxy(b *testing.B) {
	get, post, _ := benchRequests(b)
	u := mustURL(b, "http://backend.internal")
	rp := &httputil.ReverseProxy{
		Rewrite:   func(pr *httputil.ProxyRequest) { pr.SetURL(u); pr.SetXForwarded() },
		Transport: handlerTransport{benchBackend},
	}
	b.Run("GET", func(b *testing.B) { runBench(b, rp, get, 200) })
	b.Run("POST-1KiB-JSON", func(b *testing.B) { runBench(b, rp, post, 200) })
}

// BenchmarkGateway is the gateway with every layer on the same requests
// (the configuration of bench/gateway/gateway.yaml): origin check,
// JSON-only route with a required header, signed token bound to the
// session, cookie rules, security headers, CORS and HTML injection.
func BenchmarkGateway(b *testing.B) {
	get, post, gw := benchRequests(b)
	b.Run("GET", func(b *testing.B) { runBench(b, gw, get, 200) })
	b.Run("POST-1KiB-JSON", func(b *testing.B) { runBench(b, gw, post, 200) })
}
