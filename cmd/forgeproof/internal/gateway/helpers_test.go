package gateway_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/forgeproof/forgeproof"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/gateway"
)

// testKeys is one key ring for every gateway in a test binary.
var testKeys = sync.OnceValue(func() *forgeproof.KeyRing {
	kr, err := forgeproof.NewKeyRing(forgeproof.GenerateKey())
	if err != nil {
		panic(err)
	}
	return kr
})

// env is a gateway on loopback in front of a backend.
type env struct {
	t       *testing.T
	gw      *httptest.Server
	backend *httptest.Server
	client  *http.Client // with a cookie jar
	logs    *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// start runs backend on loopback and a gateway in front of it. When
// opts.Upstreams is empty, the backend is the only upstream.
func start(t *testing.T, opts gateway.Options, backend http.Handler) *env {
	t.Helper()
	e := &env{t: t, logs: &syncBuffer{}}
	if backend != nil {
		e.backend = httptest.NewServer(backend)
		t.Cleanup(e.backend.Close)
	}
	if len(opts.Upstreams) == 0 {
		opts.Upstreams = []gateway.Upstream{{Name: "backend", URL: mustURL(t, e.backend.URL)}}
	}
	if opts.Protection.Keys == nil {
		opts.Protection.Keys = testKeys()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewJSONHandler(e.logs, nil))
	}
	if opts.Protection.ErrorLog == nil {
		opts.Protection.ErrorLog = slog.NewLogLogger(opts.Logger.Handler(), slog.LevelWarn)
	}
	g, err := gateway.New(opts)
	if err != nil {
		t.Fatalf("gateway.New: %v", err)
	}
	e.gw = httptest.NewServer(g)
	t.Cleanup(e.gw.Close)
	jar, _ := cookiejar.New(nil)
	e.client = &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return e
}

func mustURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// req builds a request to the gateway. site is the Sec-Fetch-Site value a
// browser would send ("" for none); for "cross-site" the Origin is
// https://evil.example, for "same-origin" the gateway's own.
func (e *env) req(method, path, site string, body io.Reader) *http.Request {
	e.t.Helper()
	r, err := http.NewRequest(method, e.gw.URL+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	switch site {
	case "same-origin":
		r.Header.Set("Sec-Fetch-Site", "same-origin")
		r.Header.Set("Origin", e.gw.URL)
	case "cross-site":
		r.Header.Set("Sec-Fetch-Site", "cross-site")
		r.Header.Set("Origin", "https://evil.example")
	}
	return r
}

// do sends r with the env's client and returns the response with its body
// read.
func (e *env) do(r *http.Request) (*http.Response, string) {
	e.t.Helper()
	resp, err := e.client.Do(r)
	if err != nil {
		e.t.Fatalf("%s %s: %v", r.Method, r.URL.Path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("%s %s: read body: %v", r.Method, r.URL.Path, err)
	}
	return resp, string(b)
}

// token fetches a token from the gateway's token endpoint as a same-origin
// page would; the token cookie lands in the client's jar.
func (e *env) token() string {
	e.t.Helper()
	resp, body := e.do(e.req("GET", "/.forgeproof/token", "same-origin", nil))
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("token endpoint: %d %s", resp.StatusCode, body)
	}
	var tr struct{ Token, Header, Field string }
	if err := json.Unmarshal([]byte(body), &tr); err != nil {
		e.t.Fatalf("token endpoint: %v in %q", err, body)
	}
	return tr.Token
}

// problemBody is an application/problem+json body.
type problemBody struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Reason string `json:"reason"`
}

// wantProblem checks that a response is a problem+json with the status and,
// when reason is not "", the library reason; it returns the problem.
func wantProblem(t *testing.T, resp *http.Response, body string, status int, reason string) problemBody {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("status %d, want %d; body %s", resp.StatusCode, status, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type %q, want application/problem+json; body %s", ct, body)
	}
	var p problemBody
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		t.Fatalf("problem body %q: %v", body, err)
	}
	if p.Status != status || p.Title == "" || p.Type == "" || p.Detail == "" {
		t.Fatalf("incomplete problem %+v", p)
	}
	if reason != "" && p.Reason != reason {
		t.Fatalf("reason %q, want %q; body %s", p.Reason, reason, body)
	}
	return p
}

// echo is a backend that answers with what it received.
type echoed struct {
	Method  string      `json:"method"`
	Path    string      `json:"path"`
	Host    string      `json:"host"`
	Header  http.Header `json:"header"`
	BodyLen int         `json:"body_len"`
}

func echoHandler(w http.ResponseWriter, r *http.Request) {
	n, _ := io.Copy(io.Discard, r.Body)
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(echoed{r.Method, r.URL.Path, r.Host, r.Header, int(n)})
}

func decodeEcho(t *testing.T, body string) echoed {
	t.Helper()
	var e echoed
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("backend answer %q: %v", body, err)
	}
	return e
}

func ptr[T any](v T) *T { return &v }

func contains(list []string, s string) bool {
	for _, v := range list {
		if strings.Contains(v, s) {
			return true
		}
	}
	return false
}
