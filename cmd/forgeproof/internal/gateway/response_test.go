package gateway_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/forgeproof/forgeproof"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/gateway"
)

func TestCookieHardeningEndToEnd(t *testing.T) {
	e := start(t, gateway.Options{
		Protection: forgeproof.Config{SessionCookie: "sid"},
		Cookies: []gateway.CookieRule{
			{Name: "theme", SameSite: http.SameSiteStrictMode},
			{Name: "legacy", Skip: true},
		},
		Routes: []gateway.Route{{Pattern: "/raw/", Cookies: []gateway.CookieRule{{SameSite: http.SameSiteDefaultMode, HttpOnly: gateway.FlagKeep}}}},
	}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Add("Set-Cookie", "sid=abc; Path=/")
		h.Add("Set-Cookie", "theme=dark; SameSite=None")
		h.Add("Set-Cookie", "legacy=1")
		h.Add("Set-Cookie", "broken cookie line without pair")
		h.Add("Set-Cookie", "pref=1; Partitioned; Priority=High")
		io.WriteString(w, "ok")
	}))
	resp, _ := e.do(e.req("GET", "/", "", nil))
	got := resp.Header.Values("Set-Cookie")
	want := []string{
		"sid=abc; Path=/; SameSite=Lax; HttpOnly",
		"theme=dark; SameSite=Strict",
		"legacy=1",
		"broken cookie line without pair",
		"pref=1; Partitioned; Priority=High; SameSite=Lax",
	}
	for _, w := range want {
		found := false
		for _, g := range got {
			if g == w {
				found = true
			}
		}
		if !found {
			t.Errorf("Set-Cookie %q missing; got %q", w, got)
		}
	}
	if !strings.Contains(e.logs.String(), "Set-Cookie header does not parse") {
		t.Errorf("unparseable cookie not logged: %s", e.logs)
	}
	if strings.Contains(e.logs.String(), "abc") {
		t.Errorf("a cookie value reached the log: %s", e.logs)
	}

	resp, _ = e.do(e.req("GET", "/raw/x", "", nil))
	if got := resp.Header.Values("Set-Cookie"); !contains(got, "sid=abc; Path=/") || contains(got, "sid=abc; Path=/; SameSite") {
		t.Errorf("route rules not applied: %q", got)
	}
}

func TestSecurityHeaders(t *testing.T) {
	tests := []struct {
		name    string
		headers *gateway.Headers
		backend map[string]string
		want    map[string][]string
	}{
		{
			name: "defaults when the backend sets none",
			want: map[string][]string{
				"Content-Security-Policy": {"frame-ancestors 'self'; base-uri 'self'"},
				"Referrer-Policy":         {"strict-origin-when-cross-origin"},
				"X-Content-Type-Options":  {"nosniff"},
			},
		},
		{
			name:    "backend's choices kept, framing rule added beside its policy",
			backend: map[string]string{"Content-Security-Policy": "default-src 'self'", "Referrer-Policy": "no-referrer"},
			want: map[string][]string{
				"Content-Security-Policy": {"default-src 'self'", "frame-ancestors 'self'"},
				"Referrer-Policy":         {"no-referrer"},
			},
		},
		{
			name:    "backend's X-Frame-Options respected",
			headers: &gateway.Headers{ContentSecurityPolicy: "default-src 'self'"},
			backend: map[string]string{"X-Frame-Options": "DENY"},
			want: map[string][]string{
				"Content-Security-Policy": {"default-src 'self'"},
				"X-Frame-Options":         {"DENY"},
			},
		},
		{
			name:    "override",
			headers: &gateway.Headers{Override: true, FrameAncestors: "'none'", ReferrerPolicy: "same-origin"},
			backend: map[string]string{"Content-Security-Policy": "frame-ancestors *", "Referrer-Policy": "unsafe-url", "X-Frame-Options": "ALLOWALL"},
			want: map[string][]string{
				"Content-Security-Policy": {"frame-ancestors 'none'; base-uri 'self'"},
				"Referrer-Policy":         {"same-origin"},
				"X-Frame-Options":         nil,
			},
		},
		{
			name:    "disabled",
			headers: &gateway.Headers{Disable: true},
			want:    map[string][]string{"Content-Security-Policy": nil, "Referrer-Policy": nil, "X-Content-Type-Options": nil},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := start(t, gateway.Options{Routes: []gateway.Route{{Pattern: "/", Headers: tt.headers}}},
				http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					for k, v := range tt.backend {
						w.Header().Set(k, v)
					}
				}))
			resp, _ := e.do(e.req("GET", "/", "", nil))
			for k, want := range tt.want {
				if got := resp.Header.Values(k); strings.Join(got, "|") != strings.Join(want, "|") {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
		})
	}
}

func TestCORS(t *testing.T) {
	backendCORS := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A careless backend that reflects any origin.
		w.Header().Set("Access-Control-Allow-Origin", r.Header.Get("Origin"))
		w.Header().Set("Access-Control-Allow-Credentials", "true")
		io.WriteString(w, "data")
	})
	e := start(t, gateway.Options{
		Routes: []gateway.Route{
			{Pattern: "/api/", CORS: &gateway.CORS{
				AllowOrigins:     []string{"https://app.example", "http://localhost:3000"},
				AllowMethods:     []string{"GET", "POST", "PUT"},
				AllowHeaders:     []string{"Content-Type", "X-Forgeproof-Token"},
				ExposeHeaders:    []string{"X-Request-Id"},
				AllowCredentials: true,
			}},
			{Pattern: "/public/", CORS: &gateway.CORS{AllowOrigins: []string{"*"}}},
		},
	}, backendCORS)

	preflights := []struct {
		name, path, origin, method, headers string
		status                              int
		allow, creds                        string
	}{
		{"allowed origin and method", "/api/x", "https://app.example", "PUT", "content-type, x-forgeproof-token", 204, "https://app.example", "true"},
		{"allowed origin, default port written", "/api/x", "https://app.example:443", "POST", "", 204, "https://app.example:443", "true"},
		{"allowed origin on another port", "/api/x", "http://localhost:3000", "POST", "", 204, "http://localhost:3000", "true"},
		{"origin not listed", "/api/x", "https://evil.example", "POST", "", 403, "", ""},
		{"origin null", "/api/x", "null", "POST", "", 403, "", ""},
		{"listed host, other scheme", "/api/x", "http://app.example", "POST", "", 403, "", ""},
		{"suffix of a listed origin", "/api/x", "https://app.example.evil.example", "POST", "", 403, "", ""},
		{"method not allowed", "/api/x", "https://app.example", "DELETE", "", 403, "", ""},
		{"header not allowed", "/api/x", "https://app.example", "POST", "x-secret", 403, "", ""},
		{"wildcard route, no credentials", "/public/x", "https://anyone.example", "GET", "", 204, "*", ""},
		{"wildcard route still refuses null", "/public/x", "null", "GET", "", 403, "", ""},
	}
	for _, tt := range preflights {
		t.Run("preflight/"+tt.name, func(t *testing.T) {
			r := e.req("OPTIONS", tt.path, "", nil)
			r.Header.Set("Origin", tt.origin)
			r.Header.Set("Access-Control-Request-Method", tt.method)
			if tt.headers != "" {
				r.Header.Set("Access-Control-Request-Headers", tt.headers)
			}
			resp, body := e.do(r)
			if tt.status == 403 {
				wantProblem(t, resp, body, 403, "")
			} else if resp.StatusCode != tt.status {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			if got := resp.Header.Get("Access-Control-Allow-Origin"); got != tt.allow {
				t.Errorf("Allow-Origin %q, want %q", got, tt.allow)
			}
			if got := resp.Header.Get("Access-Control-Allow-Credentials"); got != tt.creds {
				t.Errorf("Allow-Credentials %q, want %q", got, tt.creds)
			}
			if !contains(resp.Header.Values("Vary"), "Origin") {
				t.Errorf("no Vary: Origin: %q", resp.Header.Values("Vary"))
			}
			if tt.status == 204 && resp.Header.Get("Access-Control-Max-Age") != "300" {
				t.Errorf("Max-Age %q", resp.Header.Get("Access-Control-Max-Age"))
			}
		})
	}

	actual := []struct {
		name, path, origin string
		allow, creds       string
	}{
		{"listed origin", "/api/x", "https://app.example", "https://app.example", "true"},
		{"unlisted origin: backend's reflection removed", "/api/x", "https://evil.example", "", ""},
		{"null: backend's reflection removed", "/api/x", "null", "", ""},
		{"wildcard", "/public/x", "https://anyone.example", "*", ""},
	}
	for _, tt := range actual {
		t.Run("request/"+tt.name, func(t *testing.T) {
			r := e.req("GET", tt.path, "", nil)
			r.Header.Set("Origin", tt.origin)
			resp, _ := e.do(r)
			if got := resp.Header.Get("Access-Control-Allow-Origin"); got != tt.allow {
				t.Errorf("Allow-Origin %q, want %q", got, tt.allow)
			}
			if got := resp.Header.Get("Access-Control-Allow-Credentials"); got != tt.creds {
				t.Errorf("Allow-Credentials %q, want %q", got, tt.creds)
			}
			if tt.allow == "https://app.example" && resp.Header.Get("Access-Control-Expose-Headers") != "X-Request-Id" {
				t.Errorf("Expose-Headers %q", resp.Header.Get("Access-Control-Expose-Headers"))
			}
			if !contains(resp.Header.Values("Vary"), "Origin") {
				t.Errorf("no Vary: Origin")
			}
		})
	}

	t.Run("CORS does not exempt state-changing requests", func(t *testing.T) {
		r := e.req("POST", "/api/x", "", strings.NewReader("{}"))
		r.Header.Set("Origin", "https://app.example")
		r.Header.Set("Sec-Fetch-Site", "cross-site")
		resp, body := e.do(r)
		wantProblem(t, resp, body, 403, "sec-fetch-site-cross-site")
	})
	t.Run("route without CORS passes the backend's headers", func(t *testing.T) {
		r := e.req("GET", "/other", "", nil)
		r.Header.Set("Origin", "https://x.example")
		resp, _ := e.do(r)
		if resp.Header.Get("Access-Control-Allow-Origin") != "https://x.example" {
			t.Errorf("backend's CORS header was changed on a route without a policy")
		}
	})
}

const page = `<!doctype html>
<html><HEAD lang="en"><title>Bank <form method=post></title>
<script>var s = "<form method=post>";</script>
</HEAD><body>
<!-- <form method="post"> in a comment -->
<form method="POST" action="/transfer"><input name=amount></form>
<form method=post action="https://evil.example/steal"><input name=x></form>
<form method="get" action="/search"></form>
<form action='//evil.example/x' method='post'></form>
<form method=post></form>
</body></html>`

var metaRE = regexp.MustCompile(`<meta name="forgeproof-token" content="([A-Za-z0-9_-]+)"><script src="/.forgeproof/csrf.js"></script>`)
var fieldRE = regexp.MustCompile(`<input type="hidden" name="forgeproof_token" value="([A-Za-z0-9_-]+)">`)

func TestHTMLInjection(t *testing.T) {
	for _, gz := range []bool{false, true} {
		name := "plain"
		if gz {
			name = "gzip"
		}
		t.Run(name, func(t *testing.T) {
			var sawEncoding string
			e := start(t, gateway.Options{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				sawEncoding = r.Header.Get("Accept-Encoding")
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				w.Header().Set("ETag", `"v1"`)
				if !gz {
					w.Header().Set("Content-Length", strconv.Itoa(len(page)))
					io.WriteString(w, page)
					return
				}
				w.Header().Set("Content-Encoding", "gzip")
				zw := gzip.NewWriter(w)
				// Split the page inside tags to exercise streaming.
				for i := 0; i < len(page); i += 7 {
					zw.Write([]byte(page[i:min(i+7, len(page))]))
					zw.Flush()
				}
				zw.Close()
			}))
			r := e.req("GET", "/", "", nil)
			if gz {
				r.Header.Set("Accept-Encoding", "gzip, br;q=0.9")
			}
			// With Accept-Encoding set by hand, the client does not
			// decompress on its own.
			resp, err := e.client.Do(r)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			raw, _ := io.ReadAll(resp.Body)
			body := raw
			if gz {
				if sawEncoding != "gzip" {
					t.Errorf("backend was asked for %q, want gzip only", sawEncoding)
				}
				if resp.Header.Get("Content-Encoding") != "gzip" {
					t.Fatalf("Content-Encoding %q", resp.Header.Get("Content-Encoding"))
				}
				zr, err := gzip.NewReader(bytes.NewReader(raw))
				if err != nil {
					t.Fatal(err)
				}
				if body, err = io.ReadAll(zr); err != nil {
					t.Fatal(err)
				}
			}
			checkInjected(t, string(body))
			if resp.Header.Get("ETag") != "" || resp.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("ETag %q, Cache-Control %q", resp.Header.Get("ETag"), resp.Header.Get("Cache-Control"))
			}
			if resp.ContentLength != -1 && resp.ContentLength != int64(len(raw)) {
				t.Errorf("Content-Length %d for %d bytes", resp.ContentLength, len(raw))
			}
			// The injected token works with the cookie the page came with.
			tok := fieldRE.FindStringSubmatch(string(body))[1]
			pr := e.req("POST", "/transfer", "same-origin", strings.NewReader("amount=5&forgeproof_token="+tok))
			pr.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if resp, body := e.do(pr); resp.StatusCode != 200 {
				t.Fatalf("form with the injected token: %d %s", resp.StatusCode, body)
			}
		})
	}
}

func checkInjected(t *testing.T, body string) {
	t.Helper()
	if n := len(metaRE.FindAllString(body, -1)); n != 1 {
		t.Fatalf("%d meta tags, want 1:\n%s", n, body)
	}
	if !strings.Contains(body, `<HEAD lang="en"><meta name="forgeproof-token"`) {
		t.Errorf("meta tag not right after <head>:\n%s", body)
	}
	if n := len(fieldRE.FindAllString(body, -1)); n != 2 {
		t.Errorf("%d hidden fields, want 2 (the same-origin POST forms):\n%s", n, body)
	}
	for _, want := range []string{
		`<form method="POST" action="/transfer"><input name=amount><input type="hidden"`,
		`<form method=post><input type="hidden"`,
		`<form method=post action="https://evil.example/steal"><input name=x>`,
		`<form action='//evil.example/x' method='post'></form>`,
		`<title>Bank <form method=post></title>`,
		`var s = "<form method=post>";`,
		`<!-- <form method="post"> in a comment -->`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %s:\n%s", want, body)
		}
	}
	stripped := fieldRE.ReplaceAllString(metaRE.ReplaceAllString(body, ""), "")
	if stripped != page {
		t.Errorf("the page changed beyond the insertions:\n%s", stripped)
	}
}

func TestHTMLInjectionSkipsOtherResponses(t *testing.T) {
	e := start(t, gateway.Options{InjectHTML: ptr(false), Routes: []gateway.Route{{Pattern: "/app/", InjectHTML: ptr(true)}}},
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch r.URL.Path {
			case "/app/data":
				w.Header().Set("Content-Type", "application/json")
			case "/app/br":
				w.Header().Set("Content-Type", "text/html")
				w.Header().Set("Content-Encoding", "br")
			default:
				w.Header().Set("Content-Type", "text/html")
			}
			io.WriteString(w, "<head></head><form method=post></form>")
		}))
	for _, tt := range []struct {
		path   string
		inject bool
	}{{"/app/page", true}, {"/app/data", false}, {"/app/br", false}, {"/other", false}} {
		t.Run(tt.path, func(t *testing.T) {
			resp, body := e.do(e.req("GET", tt.path, "", nil))
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if got := strings.Contains(body, "forgeproof-token"); got != tt.inject {
				t.Errorf("injected = %v, want %v: %s", got, tt.inject, body)
			}
		})
	}
	if !strings.Contains(e.logs.String(), "content encoding not supported") {
		t.Errorf("skipped encoding not logged")
	}
}

func TestSessionRotationOnLogin(t *testing.T) {
	e := start(t, gateway.Options{Protection: forgeproof.Config{SessionCookie: "sid"}},
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch r.URL.Path {
			case "/login":
				http.SetCookie(w, &http.Cookie{Name: "sid", Value: "session-" + r.FormValue("user"), Path: "/"})
			case "/logout":
				http.SetCookie(w, &http.Cookie{Name: "sid", Value: "", Path: "/", MaxAge: -1})
			}
			io.WriteString(w, "ok")
		}))
	post := func(path, tok string) (*http.Response, string) {
		r := e.req("POST", path, "same-origin", strings.NewReader("user=alice"))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if tok != "" {
			r.Header.Set("X-Forgeproof-Token", tok)
		}
		return e.do(r)
	}
	before := e.token()
	resp, body := post("/login", before)
	if resp.StatusCode != 200 {
		t.Fatalf("login: %d %s", resp.StatusCode, body)
	}
	rotated := resp.Header.Get("X-Forgeproof-Token")
	if rotated == "" || rotated == before {
		t.Fatalf("no rotated token on the login response (got %q)", rotated)
	}
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("login response Cache-Control %q", resp.Header.Get("Cache-Control"))
	}
	if sc := resp.Header.Values("Set-Cookie"); !contains(sc, "sid=session-alice") || !contains(sc, "forgeproof=") {
		t.Fatalf("login response cookies %q", sc)
	}
	if resp, body := post("/transfer", before); resp.StatusCode != 403 {
		t.Errorf("the pre-login token still works after login: %d %s", resp.StatusCode, body)
	}
	if resp, body := post("/transfer", rotated); resp.StatusCode != 200 {
		t.Fatalf("the rotated token is refused: %d %s", resp.StatusCode, body)
	}
	// A response that sets the same session again does not rotate.
	resp, _ = post("/login", rotated)
	if resp.Header.Get("X-Forgeproof-Token") != "" {
		t.Errorf("rotated although the session did not change")
	}
	resp, _ = post("/logout", rotated)
	afterLogout := resp.Header.Get("X-Forgeproof-Token")
	if afterLogout == "" {
		t.Fatal("no rotation at logout")
	}
	if resp, body := post("/transfer", rotated); resp.StatusCode != 403 {
		t.Errorf("the session's token still works after logout: %d %s", resp.StatusCode, body)
	}
	if resp, body := post("/transfer", afterLogout); resp.StatusCode != 200 {
		t.Errorf("the logged-out token is refused: %d %s", resp.StatusCode, body)
	}
}

// TestHTMLInjectionStreams checks that a rewritten page reaches the client
// as the backend produces it, plain and gzip-encoded.
func TestHTMLInjectionStreams(t *testing.T) {
	for _, gz := range []bool{false, true} {
		t.Run("gzip="+strconv.FormatBool(gz), func(t *testing.T) {
			release := make(chan struct{})
			e := start(t, gateway.Options{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html")
				var out io.Writer = w
				flush := func() { w.(http.Flusher).Flush() }
				if gz {
					w.Header().Set("Content-Encoding", "gzip")
					zw := gzip.NewWriter(w)
					defer zw.Close()
					out = zw
					flush = func() { zw.Flush(); w.(http.Flusher).Flush() }
				}
				io.WriteString(out, "<html><head><title>slow</title>")
				flush()
				<-release
				io.WriteString(out, "</head><body><form method=post></form></body></html>")
			}))
			r := e.req("GET", "/", "", nil)
			r.Header.Set("Accept-Encoding", "gzip")
			if !gz {
				r.Header.Set("Accept-Encoding", "identity")
			}
			resp, err := e.client.Do(r)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body io.Reader = resp.Body
			if gz {
				zr, err := gzip.NewReader(resp.Body)
				if err != nil {
					t.Fatal(err)
				}
				body = zr
			}
			first := make(chan string, 1)
			go func() {
				buf := make([]byte, 4096)
				var got []byte
				for !bytes.Contains(got, []byte("<title>slow</title>")) {
					n, err := body.Read(buf)
					got = append(got, buf[:n]...)
					if err != nil {
						break
					}
				}
				first <- string(got)
			}()
			select {
			case got := <-first:
				if !metaRE.MatchString(got) {
					t.Fatalf("first part %q lacks the meta tag", got)
				}
			case <-time.After(3 * time.Second):
				t.Fatal("the head of the page was held back until the backend finished")
			}
			close(release)
			rest, err := io.ReadAll(body)
			if err != nil || !fieldRE.Match(rest) {
				t.Fatalf("rest %q, %v", rest, err)
			}
		})
	}
}

// TestCookieSecureBehindProxy checks that Secure is added when the public
// origin is HTTPS, as reported by a trusted proxy or configured, and only
// then.
func TestCookieSecureBehindProxy(t *testing.T) {
	tests := []struct {
		name    string
		cfg     forgeproof.Config
		headers map[string]string
		secure  bool
	}{
		{"plain HTTP", forgeproof.Config{}, nil, false},
		{"untrusted peer claims HTTPS", forgeproof.Config{}, map[string]string{"X-Forwarded-Proto": "https"}, false},
		{"trusted proxy, X-Forwarded-Proto", forgeproof.Config{TrustedProxies: []string{"127.0.0.0/8"}}, map[string]string{"X-Forwarded-Proto": "http, https"}, true},
		{"trusted proxy, Forwarded", forgeproof.Config{TrustedProxies: []string{"127.0.0.1"}}, map[string]string{"Forwarded": `for=1.2.3.4;proto=http, for="[::1]";proto=https;host="bank.example"`}, true},
		{"Forwarded wins over X-Forwarded-Proto", forgeproof.Config{TrustedProxies: []string{"127.0.0.1"}}, map[string]string{"Forwarded": "proto=http", "X-Forwarded-Proto": "https"}, false},
		{"public origin", forgeproof.Config{PublicOrigins: []string{"https://bank.example"}}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := start(t, gateway.Options{Protection: tt.cfg}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Add("Set-Cookie", "pref=1")
			}))
			r := e.req("GET", "/", "", nil)
			for k, v := range tt.headers {
				r.Header.Set(k, v)
			}
			resp, _ := e.do(r)
			got := resp.Header.Get("Set-Cookie")
			if strings.Contains(got, "Secure") != tt.secure {
				t.Errorf("Set-Cookie %q, want Secure: %v", got, tt.secure)
			}
		})
	}
}

// TestResponseHeaderFields checks the response header the client gets after
// the gateway hands its fields to the response writer: every field of the
// backend and of the gateway arrives, once, with all its values; a field
// the library set before proxying (Vary, on a checked safe request) is
// merged with the backend's; and an event stream is still flushed at once.
func TestResponseHeaderFields(t *testing.T) {
	backend := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["Set-Cookie"] = []string{"a=1; Path=/", "b=2; Path=/"}
		h.Set("Vary", "Accept-Encoding")
		h.Set("X-Backend", "yes")
		h.Set("Cache-Control", "private")
		if r.URL.Path == "/events" {
			h.Set("Content-Type", "text/event-stream")
			// A declared length: only its type makes the stream flushed.
			h.Set("Content-Length", "1000")
			w.WriteHeader(http.StatusOK)
			io.WriteString(w, "data: first\n\n")
			w.(http.Flusher).Flush()
			<-r.Context().Done() // the stream stays open
			return
		}
		h.Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "hello")
	})
	e := start(t, gateway.Options{
		Routes:  []gateway.Route{{Pattern: "/checked/", Protect: forgeproof.Route{CheckSafeMethods: true, Tokens: forgeproof.TokensOff}}},
		Headers: gateway.Headers{ContentSecurityPolicy: "default-src 'self'"},
		CORS:    &gateway.CORS{AllowOrigins: []string{"https://app.example"}, AllowCredentials: true},
	}, backend)

	for _, path := range []string{"/plain", "/checked/x"} {
		t.Run(path, func(t *testing.T) {
			r := e.req("GET", path, "same-origin", nil)
			r.Header.Set("Origin", "https://app.example")
			resp, body := e.do(r)
			if resp.StatusCode != 200 || body != "hello" {
				t.Fatalf("status %d, body %q", resp.StatusCode, body)
			}
			want := map[string][]string{
				"X-Backend":                        {"yes"},
				"Cache-Control":                    {"private"},
				"Content-Type":                     {"text/plain; charset=utf-8"},
				"Content-Security-Policy":          {"default-src 'self'; frame-ancestors 'self'"},
				"X-Content-Type-Options":           {"nosniff"},
				"Access-Control-Allow-Origin":      {"https://app.example"},
				"Access-Control-Allow-Credentials": {"true"},
			}
			for k, vs := range want {
				if got := resp.Header.Values(k); !slices.Equal(got, vs) {
					t.Errorf("%s: %q, want %q", k, got, vs)
				}
			}
			var cookies []string
			for _, c := range resp.Header.Values("Set-Cookie") {
				cookies = append(cookies, strings.SplitN(c, ";", 2)[0])
			}
			if !slices.Equal(cookies, []string{"a=1", "b=2"}) {
				t.Errorf("Set-Cookie: %q, want a=1 and b=2 once each", resp.Header.Values("Set-Cookie"))
			}
			var vary []string
			for _, v := range resp.Header.Values("Vary") {
				for f := range strings.SplitSeq(v, ",") {
					vary = append(vary, strings.TrimSpace(f))
				}
			}
			slices.Sort(vary)
			wantVary := []string{"Accept-Encoding", "Origin"}
			if path == "/checked/x" {
				// The library's, set on the writer before proxying.
				wantVary = []string{"Accept-Encoding", "Origin", "Origin", "Sec-Fetch-Site"}
			}
			if !slices.Equal(vary, wantVary) {
				t.Errorf("Vary: %q, want the fields %q", resp.Header.Values("Vary"), wantVary)
			}
		})
	}

	t.Run("event stream", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		r := e.req("GET", "/events", "same-origin", nil).WithContext(ctx)
		resp, err := e.client.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		line, err := bufio.NewReader(resp.Body).ReadString('\n')
		if err != nil || line != "data: first\n" {
			t.Fatalf("first event: %q, %v (not flushed before the stream ended?)", line, err)
		}
		if ct := resp.Header.Values("Content-Type"); !slices.Equal(ct, []string{"text/event-stream"}) {
			t.Errorf("Content-Type %q", ct)
		}
	})
}
