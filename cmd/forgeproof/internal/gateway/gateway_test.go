package gateway_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/forgeproof/forgeproof"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/gateway"
	"github.com/forgeproof/forgeproof/internal/testenv"
)

func TestNewRejectsBadOptions(t *testing.T) {
	u := mustURL(t, "http://127.0.0.1:1")
	tests := []struct {
		name string
		opts gateway.Options
		want []string // each must appear in the error
	}{
		{"no upstream", gateway.Options{}, []string{"no upstream"}},
		{"upstream without URL", gateway.Options{Upstreams: []gateway.Upstream{{Name: "x"}}}, []string{"Upstreams[0] has no URL"}},
		{"upstream with bad scheme", gateway.Options{Upstreams: []gateway.Upstream{{URL: mustURL(t, "ftp://h")}}}, []string{"not an http or https URL"}},
		{"bad host pattern", gateway.Options{Upstreams: []gateway.Upstream{{URL: u, Hosts: []string{"a*.b"}}}}, []string{"Hosts entry"}},
		{"bad prefix", gateway.Options{Upstreams: []gateway.Upstream{{URL: u}}, ReservedPrefix: "x"}, []string{"ReservedPrefix"}},
		{"route under reserved prefix", gateway.Options{Upstreams: []gateway.Upstream{{URL: u}}, Routes: []gateway.Route{{Pattern: "/.forgeproof/x"}}}, []string{"reserved prefix"}},
		{"cors null and credentials with star", gateway.Options{Upstreams: []gateway.Upstream{{URL: u}}, CORS: &gateway.CORS{AllowOrigins: []string{"null", "*"}, AllowCredentials: true}}, []string{`"null"`, `"*" with AllowCredentials`}},
		{"cors origin with path", gateway.Options{Upstreams: []gateway.Upstream{{URL: u}}, Routes: []gateway.Route{{Pattern: "/api/", CORS: &gateway.CORS{AllowOrigins: []string{"https://a.example/x"}}}}}, []string{`Routes[0] ("/api/") CORS`, "has a path"}},
		{"duplicate cookie rule", gateway.Options{Upstreams: []gateway.Upstream{{URL: u}}, Cookies: []gateway.CookieRule{{Name: "a"}, {Name: "a"}}}, []string{"repeats the rule"}},
		{"every problem at once", gateway.Options{Upstreams: []gateway.Upstream{{Name: "x"}}, ReservedPrefix: "bad"}, []string{"Upstreams[0]", "ReservedPrefix"}},
		{"library config error", gateway.Options{Upstreams: []gateway.Upstream{{URL: u}}, Protection: forgeproof.Config{TrustedOrigins: []string{"null"}}}, []string{"Protection"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := gateway.New(tt.opts)
			if err == nil {
				t.Fatal("New succeeded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestLibraryDecidesEveryUnsafeRequest(t *testing.T) {
	e := start(t, gateway.Options{
		Routes: []gateway.Route{
			{Pattern: "/api/", Protect: forgeproof.Route{JSONOnly: true}},
			{Pattern: "/legacy/", Protect: forgeproof.Route{CheckSafeMethods: true, Tokens: forgeproof.TokensOff}},
			{Pattern: "/hooks/", Protect: forgeproof.Route{InsecureBypass: true}},
			{Pattern: "/report/", Protect: forgeproof.Route{ReportOnly: true}},
		},
	}, http.HandlerFunc(echoHandler))
	tok := e.token()

	tests := []struct {
		name   string
		method string
		path   string
		site   string
		token  bool
		ctype  string
		status int
		reason string
	}{
		{"safe GET passes", "GET", "/page", "cross-site", false, "", 200, ""},
		{"cross-site POST refused", "POST", "/form", "cross-site", true, "application/x-www-form-urlencoded", 403, "sec-fetch-site-cross-site"},
		{"same-origin POST without token refused", "POST", "/form", "same-origin", false, "application/x-www-form-urlencoded", 403, "token-missing"},
		{"same-origin POST with token passes", "POST", "/form", "same-origin", true, "application/x-www-form-urlencoded", 200, ""},
		{"JSON-only route refuses a form", "POST", "/api/transfer", "same-origin", true, "application/x-www-form-urlencoded", 403, "content-type-not-allowed"},
		{"JSON-only route takes JSON", "POST", "/api/transfer", "same-origin", true, "application/json", 200, ""},
		{"legacy GET checked like POST", "GET", "/legacy/transfer?to=x", "cross-site", false, "", 403, "sec-fetch-site-cross-site"},
		{"legacy GET same-origin passes", "GET", "/legacy/transfer?to=x", "same-origin", false, "", 200, ""},
		{"method override on GET checked", "GET", "/x?_method=DELETE", "cross-site", false, "", 403, "sec-fetch-site-cross-site"},
		{"bypass route passes cross-site", "POST", "/hooks/github", "cross-site", false, "application/json", 200, ""},
		{"report-only route passes", "POST", "/report/x", "cross-site", false, "application/json", 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body io.Reader
			if tt.method == "POST" {
				body = strings.NewReader("{}")
			}
			r := e.req(tt.method, tt.path, tt.site, body)
			if tt.ctype != "" {
				r.Header.Set("Content-Type", tt.ctype)
			}
			if tt.token {
				r.Header.Set("X-Forgeproof-Token", tok)
			}
			resp, got := e.do(r)
			if tt.status != 200 {
				wantProblem(t, resp, got, tt.status, tt.reason)
				return
			}
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, got)
			}
			if ec := decodeEcho(t, got); ec.Method != tt.method {
				t.Fatalf("backend saw %s, want %s", ec.Method, tt.method)
			}
		})
	}
}

func TestForwardedHeaders(t *testing.T) {
	tests := []struct {
		name      string
		trusted   []string
		sent      map[string]string
		wantFor   string
		wantHost  string
		wantProto string
		// wantForwarded is the Forwarded header the backend sees.
		wantForwarded string
	}{
		{
			name:    "client's headers replaced",
			sent:    map[string]string{"X-Forwarded-For": "6.6.6.6", "X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https", "Forwarded": "for=6.6.6.6"},
			wantFor: "127.0.0.1", wantHost: "GW", wantProto: "http",
			wantForwarded: "for=127.0.0.1;host=\"GW\";proto=http",
		},
		{
			name:    "trusted proxy's headers extended",
			trusted: []string{"127.0.0.1"},
			sent:    map[string]string{"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Host": "bank.example", "X-Forwarded-Proto": "https", "Forwarded": "for=203.0.113.9;proto=https"},
			wantFor: "203.0.113.9, 127.0.0.1", wantHost: "bank.example", wantProto: "https",
			wantForwarded: "for=203.0.113.9;proto=https, for=127.0.0.1;host=\"GW\";proto=https",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := start(t, gateway.Options{Protection: forgeproof.Config{TrustedProxies: tt.trusted}}, http.HandlerFunc(echoHandler))
			r := e.req("GET", "/", "", nil)
			for k, v := range tt.sent {
				r.Header.Set(k, v)
			}
			resp, body := e.do(r)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			h := decodeEcho(t, body).Header
			wantHost := strings.ReplaceAll(tt.wantHost, "GW", strings.TrimPrefix(e.gw.URL, "http://"))
			if got := h.Get("X-Forwarded-For"); got != tt.wantFor {
				t.Errorf("X-Forwarded-For %q, want %q", got, tt.wantFor)
			}
			if got := h.Get("X-Forwarded-Host"); got != wantHost {
				t.Errorf("X-Forwarded-Host %q, want %q", got, wantHost)
			}
			if got := h.Get("X-Forwarded-Proto"); got != tt.wantProto {
				t.Errorf("X-Forwarded-Proto %q, want %q", got, tt.wantProto)
			}
			if got, want := h.Get("Forwarded"), strings.ReplaceAll(tt.wantForwarded, "GW", strings.TrimPrefix(e.gw.URL, "http://")); got != want {
				t.Errorf("Forwarded %q, want %q", got, want)
			}
		})
	}
}

func TestUpstreamSelection(t *testing.T) {
	named := func(name string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "%s %s", name, r.URL.Path)
		})
	}
	var ups []gateway.Upstream
	for _, u := range []struct {
		name, prefix string
		hosts        []string
	}{
		{"main", "", nil},
		{"api", "/api/", nil},
		{"api-v2", "/api/v2/", nil},
		{"admin", "", []string{"admin.example"}},
		{"tenants", "/", []string{"*.tenants.example"}},
	} {
		srv := newServer(t, named(u.name))
		ups = append(ups, gateway.Upstream{Name: u.name, URL: mustURL(t, srv), PathPrefix: u.prefix, Hosts: u.hosts})
	}
	e := start(t, gateway.Options{Upstreams: ups}, nil)
	tests := []struct{ host, path, want string }{
		{"", "/", "main /"},
		{"", "/api/users", "api /api/users"},
		{"", "/api/v2/users", "api-v2 /api/v2/users"},
		{"ADMIN.example:8443", "/api/users", "admin /api/users"},
		{"a.b.tenants.example", "/x", "tenants /x"},
		{"tenants.example", "/x", "main /x"},
	}
	for _, tt := range tests {
		t.Run(tt.host+tt.path, func(t *testing.T) {
			r := e.req("GET", tt.path, "", nil)
			if tt.host != "" {
				r.Host = tt.host
			}
			_, body := e.do(r)
			if body != tt.want {
				t.Fatalf("got %q, want %q", body, tt.want)
			}
		})
	}
}

func newServer(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestUpstreamFailures(t *testing.T) {
	dead := "http://127.0.0.1:" + strconv.Itoa(testenv.FreePort(t)) // nothing listens
	slow := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(5 * time.Second):
		case <-r.Context().Done():
		}
	}))
	e := start(t, gateway.Options{Upstreams: []gateway.Upstream{
		{Name: "dead", URL: mustURL(t, dead), PathPrefix: "/dead/"},
		{Name: "slow", URL: mustURL(t, slow), PathPrefix: "/slow/", ResponseHeaderTimeout: 200 * time.Millisecond},
	}}, nil)

	resp, body := e.do(e.req("GET", "/dead/x", "", nil))
	p := wantProblem(t, resp, body, http.StatusBadGateway, "")
	if !strings.Contains(p.Type, "upstream-unavailable") || !strings.Contains(p.Detail, "dead") {
		t.Errorf("502 problem %+v does not name the upstream", p)
	}
	start := time.Now()
	resp, body = e.do(e.req("GET", "/slow/x", "", nil))
	p = wantProblem(t, resp, body, http.StatusGatewayTimeout, "")
	if !strings.Contains(p.Type, "upstream-timeout") {
		t.Errorf("504 problem type %q", p.Type)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("timeout took %v", d)
	}
	resp, body = e.do(e.req("GET", "/elsewhere", "", nil))
	wantProblem(t, resp, body, http.StatusNotFound, "")
	if !strings.Contains(e.logs.String(), `"upstream":"dead"`) {
		t.Errorf("upstream failure not logged: %s", e.logs)
	}
}

func TestBodyAndHeaderLimits(t *testing.T) {
	// The backend may still be finishing the request of an earlier subtest, so
	// the form subtest counts only the requests for its own path.
	var reached, formReached atomic.Int64
	e := start(t, gateway.Options{
		MaxBodyBytes:   1000,
		MaxHeaderBytes: 4096,
		Routes:         []gateway.Route{{Pattern: "/upload/", Protect: forgeproof.Route{Tokens: forgeproof.TokensOff}}},
	}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached.Add(1)
		if r.URL.Path == "/form" {
			formReached.Add(1)
		}
		echoHandler(w, r)
	}))

	t.Run("declared length over the limit", func(t *testing.T) {
		r := e.req("POST", "/upload/x", "same-origin", strings.NewReader(strings.Repeat("a", 1001)))
		r.Header.Set("Content-Type", "application/octet-stream")
		before := reached.Load()
		resp, body := e.do(r)
		wantProblem(t, resp, body, http.StatusRequestEntityTooLarge, "")
		if reached.Load() != before {
			t.Error("the backend saw the oversized request")
		}
	})
	t.Run("streamed body over the limit", func(t *testing.T) {
		r := e.req("POST", "/upload/x", "same-origin", io.MultiReader(strings.NewReader(strings.Repeat("a", 4000))))
		r.ContentLength = -1 // chunked
		r.Header.Set("Content-Type", "application/octet-stream")
		resp, body := e.do(r)
		wantProblem(t, resp, body, http.StatusRequestEntityTooLarge, "")
	})
	t.Run("streamed form over the limit, read by the library", func(t *testing.T) {
		form := "forgeproof_token=x&pad=" + strings.Repeat("a", 4000)
		r := e.req("POST", "/form", "same-origin", io.MultiReader(strings.NewReader(form)))
		r.ContentLength = -1
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		before := formReached.Load()
		resp, body := e.do(r)
		wantProblem(t, resp, body, http.StatusRequestEntityTooLarge, "")
		if formReached.Load() != before {
			t.Error("the backend saw the oversized request")
		}
	})
	t.Run("body at the limit", func(t *testing.T) {
		r := e.req("POST", "/upload/x", "same-origin", strings.NewReader(strings.Repeat("a", 1000)))
		r.ContentLength = -1
		resp, body := e.do(r)
		if resp.StatusCode != 200 || decodeEcho(t, body).BodyLen != 1000 {
			t.Fatalf("status %d, body %s", resp.StatusCode, body)
		}
	})
	t.Run("headers over the limit", func(t *testing.T) {
		r := e.req("GET", "/", "", nil)
		r.Header.Set("X-Big", strings.Repeat("b", 5000))
		resp, body := e.do(r)
		wantProblem(t, resp, body, http.StatusRequestHeaderFieldsTooLarge, "")
	})
}

// TestMalformedInput sends raw HTTP/1.1 requests with broken cookies and
// headers: each gets a clear answer, and the gateway keeps serving.
func TestMalformedInput(t *testing.T) {
	e := start(t, gateway.Options{}, http.HandlerFunc(echoHandler))
	host := strings.TrimPrefix(e.gw.URL, "http://")
	tests := []struct {
		name    string
		request string
		status  int
		reason  string // in the body, when not ""
	}{
		{"garbage cookie header", "POST /x HTTP/1.1\r\nHost: {host}\r\nSec-Fetch-Site: same-origin\r\nCookie: ;;;=;forgeproof=\"\"\"; forgeproof==; __Host-forgeproof; forgeproof=%%%\r\nX-Forgeproof-Token: %%%\r\nContent-Length: 0\r\n\r\n", 403, "cookie-conflict"}, // several csrf cookies with different values
		{"token with no cookie", "POST /x HTTP/1.1\r\nHost: {host}\r\nSec-Fetch-Site: same-origin\r\nX-Forgeproof-Token: AAAA\r\nContent-Length: 0\r\n\r\n", 403, ""},
		{"origin with a path", "POST /x HTTP/1.1\r\nHost: {host}\r\nOrigin: http://{host}/path\r\nContent-Length: 0\r\n\r\n", 403, "origin-malformed"},
		{"origin null", "POST /x HTTP/1.1\r\nHost: {host}\r\nOrigin: null\r\nContent-Length: 0\r\n\r\n", 403, "origin-null"},
		{"unknown Sec-Fetch-Site", "POST /x HTTP/1.1\r\nHost: {host}\r\nSec-Fetch-Site: sideways\r\nContent-Length: 0\r\n\r\n", 403, "sec-fetch-site-invalid"},
		{"referer not a URL", "POST /x HTTP/1.1\r\nHost: {host}\r\nReferer: ::::\r\nContent-Length: 0\r\n\r\n", 403, "referer-malformed"},
		{"broken form body", "POST /x HTTP/1.1\r\nHost: {host}\r\nSec-Fetch-Site: same-origin\r\nContent-Type: multipart/form-data; boundary=\r\nContent-Length: 5\r\n\r\n--x--", 403, ""},
		{"header without colon", "GET / HTTP/1.1\r\nHost: {host}\r\nNoColonHere\r\n\r\n", 400, ""},
		{"control byte in cookie", "GET / HTTP/1.1\r\nHost: {host}\r\nCookie: a=\x01\r\n\r\n", 400, ""},
		{"control byte in header", "GET / HTTP/1.1\r\nHost: {host}\r\nX-A: a\x00b\r\n\r\n", 400, ""},
		{"bad content length", "POST /x HTTP/1.1\r\nHost: {host}\r\nContent-Length: -5\r\n\r\n", 400, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := rawRequest(t, host, strings.ReplaceAll(tt.request, "{host}", host))
			if status != tt.status {
				t.Fatalf("status %d, want %d; body %s", status, tt.status, body)
			}
			if tt.reason != "" && !strings.Contains(body, `"reason":"`+tt.reason+`"`) {
				t.Fatalf("body %s does not name reason %s", body, tt.reason)
			}
			if tt.status == 403 && !strings.Contains(body, `"reason":"`) {
				t.Fatalf("refusal without a reason: %s", body)
			}
		})
	}
	// Still serving.
	resp, _ := e.do(e.req("GET", "/", "", nil))
	if resp.StatusCode != 200 {
		t.Fatalf("gateway stopped serving: %d", resp.StatusCode)
	}
}

// rawRequest writes req on a fresh connection and returns the status and
// body of the answer.
func rawRequest(t *testing.T, addr, req string) (int, string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestStreamingResponse(t *testing.T) {
	release := make(chan struct{})
	e := start(t, gateway.Options{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: first\n\n")
		w.(http.Flusher).Flush()
		<-release
		io.WriteString(w, "data: second\n\n")
	}))
	resp, err := e.client.Do(e.req("GET", "/events", "", nil))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	got := make(chan string, 1)
	go func() {
		line, _ := br.ReadString('\n')
		got <- line
	}()
	select {
	case line := <-got:
		if line != "data: first\n" {
			t.Fatalf("first line %q", line)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("the first event was not streamed before the response ended")
	}
	close(release)
	rest, _ := io.ReadAll(br)
	if !strings.Contains(string(rest), "data: second") {
		t.Fatalf("rest %q", rest)
	}
}

func TestReservedEndpoints(t *testing.T) {
	e := start(t, gateway.Options{
		ReservedPrefix: "/_fp/",
		Routes:         []gateway.Route{{Pattern: "/pay/", Protect: forgeproof.Route{OneTimeTokens: true}}},
	}, http.HandlerFunc(echoHandler))

	t.Run("token same-origin", func(t *testing.T) {
		resp, body := e.do(e.req("GET", "/_fp/token", "same-origin", nil))
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		for _, want := range []string{`"token":"`, `"header":"X-Forgeproof-Token"`, `"field":"forgeproof_token"`} {
			if !strings.Contains(body, want) {
				t.Errorf("body %s lacks %s", body, want)
			}
		}
		if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("Cache-Control %q", cc)
		}
		if !contains(resp.Header.Values("Set-Cookie"), "forgeproof=") {
			t.Errorf("no token cookie: %v", resp.Header.Values("Set-Cookie"))
		}
	})
	t.Run("token masked afresh", func(t *testing.T) {
		if a, b := e.token2("/_fp/token"), e.token2("/_fp/token"); a == b {
			t.Error("two calls returned the same masked token")
		}
	})
	t.Run("token cross-site refused", func(t *testing.T) {
		resp, body := e.do(e.req("GET", "/_fp/token", "cross-site", nil))
		wantProblem(t, resp, body, 403, "sec-fetch-site-cross-site")
	})
	t.Run("token POST refused", func(t *testing.T) {
		resp, body := e.do(e.req("POST", "/_fp/token", "same-origin", nil))
		wantProblem(t, resp, body, 405, "")
	})
	t.Run("one-time token", func(t *testing.T) {
		resp, body := e.do(e.req("GET", "/_fp/one-time-token", "same-origin", nil))
		if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("status %d, Cache-Control %q: %s", resp.StatusCode, resp.Header.Get("Cache-Control"), body)
		}
		tok := body[strings.Index(body, `"token":"`)+9 : strings.Index(body, `","header"`)]
		for i, want := range []int{200, 403} {
			r := e.req("POST", "/pay/now", "same-origin", strings.NewReader("{}"))
			r.Header.Set("Content-Type", "application/json")
			r.Header.Set("X-Forgeproof-Token", tok)
			resp, body := e.do(r)
			if want == 403 {
				wantProblem(t, resp, body, 403, "token-reused")
			} else if resp.StatusCode != want {
				t.Fatalf("use %d: status %d, want %d: %s", i+1, resp.StatusCode, want, body)
			}
		}
		resp, body = e.do(e.req("GET", "/_fp/one-time-token", "cross-site", nil))
		wantProblem(t, resp, body, 403, "sec-fetch-site-cross-site")
	})
	t.Run("script", func(t *testing.T) {
		resp, body := e.do(e.req("GET", "/_fp/csrf.js", "", nil))
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/javascript") {
			t.Fatalf("status %d, type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		for _, want := range []string{`"endpoint":"/_fp/token"`, `"oneTime":"/_fp/one-time-token"`, `"rotated":"X-Forgeproof-Token"`, "XMLHttpRequest", "submit"} {
			if !strings.Contains(body, want) {
				t.Errorf("script lacks %s", want)
			}
		}
		if strings.Contains(body, "localStorage") || strings.Contains(body, "/*CONFIG*/") {
			t.Error("script stores the token or was not configured")
		}
		r := e.req("GET", "/_fp/csrf.js", "", nil)
		r.Header.Set("If-None-Match", resp.Header.Get("ETag"))
		if resp, _ := e.do(r); resp.StatusCode != http.StatusNotModified {
			t.Errorf("revalidation: status %d", resp.StatusCode)
		}
	})
	t.Run("unknown reserved path never proxied", func(t *testing.T) {
		resp, body := e.do(e.req("GET", "/_fp/admin", "", nil))
		wantProblem(t, resp, body, 404, "")
	})
	t.Run("default prefix is an ordinary path", func(t *testing.T) {
		resp, body := e.do(e.req("GET", "/.forgeproof/token", "", nil))
		if resp.StatusCode != 200 || decodeEcho(t, body).Path != "/.forgeproof/token" {
			t.Fatalf("status %d body %s", resp.StatusCode, body)
		}
	})
}

func (e *env) token2(path string) string {
	e.t.Helper()
	_, body := e.do(e.req("GET", path, "same-origin", nil))
	return body
}

// TestNewRefusesPublicSuffixPatterns checks that the gateway refuses
// trusted-origin patterns over public suffixes, private ones included,
// even when its caller passed no list.
func TestNewRefusesPublicSuffixPatterns(t *testing.T) {
	u := mustURL(t, "http://127.0.0.1:1")
	for _, o := range []string{"https://*.co.uk", "https://*.github.io", "https://*.herokuapp.com"} {
		_, err := gateway.New(gateway.Options{Upstreams: []gateway.Upstream{{URL: u}}, Protection: forgeproof.Config{TrustedOrigins: []string{o}}})
		if err == nil || !strings.Contains(err.Error(), "public suffix") {
			t.Errorf("%s: New error %v, want a public-suffix refusal", o, err)
		}
	}
	if _, err := gateway.New(gateway.Options{Upstreams: []gateway.Upstream{{URL: u}}, Protection: forgeproof.Config{TrustedOrigins: []string{"https://*.me.github.io"}}}); err != nil {
		t.Errorf("a pattern under a registrable domain: %v", err)
	}
}
