package csrf_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/forgeproof/forgeproof/csrf"
	"github.com/forgeproof/forgeproof/internal/csrftest"
)

// API is this package as csrftest sees it.
var API = csrftest.API{
	Protect: func(s csrftest.Settings) func(http.Handler) http.Handler {
		return csrf.Protect(csrftest.AuthKey, Options(s)...)
	},
	Token:                csrf.Token,
	TemplateField:        csrf.TemplateField,
	FailureReason:        csrf.FailureReason,
	UnsafeSkipCheck:      csrf.UnsafeSkipCheck,
	PlaintextHTTPRequest: csrf.PlaintextHTTPRequest,
}

// Options returns the options that s names.
func Options(s csrftest.Settings) []csrf.Option {
	var opts []csrf.Option
	if s.TrustedOrigins != nil {
		opts = append(opts, csrf.TrustedOrigins(s.TrustedOrigins))
	}
	if s.FieldName != "" {
		opts = append(opts, csrf.FieldName(s.FieldName))
	}
	if s.RequestHeader != "" {
		opts = append(opts, csrf.RequestHeader(s.RequestHeader))
	}
	if s.CookieName != "" {
		opts = append(opts, csrf.CookieName(s.CookieName))
	}
	if s.Secure != nil {
		opts = append(opts, csrf.Secure(*s.Secure))
	}
	return opts
}

// TestGorillaBehaviour runs gorilla/csrf's documented behaviour against
// this package. The bench module runs the same table against gorilla/csrf.
func TestGorillaBehaviour(t *testing.T) {
	csrftest.Run(t, API)
}

// serve returns a test server with the middleware of opts around a handler
// that shows the token on GET and answers "ok" otherwise.
func serve(t *testing.T, opts ...csrf.Option) (*httptest.Server, string, string) {
	t.Helper()
	h := csrf.Protect(csrftest.AuthKey, opts...)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "GET" {
			io.WriteString(w, csrf.Token(r))
			return
		}
		b, _ := io.ReadAll(r.Body)
		w.Write(append([]byte("ok "), b...))
	}))
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var cookie string
	for _, c := range resp.Cookies() {
		cookie = c.Name + "=" + c.Value
	}
	return srv, string(tok), cookie
}

func post(t *testing.T, srv *httptest.Server, body string, headers ...string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", srv.URL+"/x", strings.NewReader(body))
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], strings.ReplaceAll(headers[i+1], "SELF", strings.TrimPrefix(srv.URL, "http://")))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestDeliberateDifferences pins where the package differs from gorilla,
// as docs/MIGRATING-FROM-GORILLA.md lists.
func TestDeliberateDifferences(t *testing.T) {
	srv, tok, cookie := serve(t, csrf.TrustedOrigins([]string{"ui.example"}))
	tests := []struct {
		name     string
		headers  []string
		want     int
		wantBody string
	}{
		// Fetch Metadata is believed first: a cross-site request is
		// refused even with a same-origin Referer (which gorilla
		// would accept).
		{"Sec-Fetch-Site cross-site", []string{"Sec-Fetch-Site", "cross-site", "Referer", "https://SELF/"}, 403, "Forbidden - origin invalid\n"},
		// A browser's Sec-Fetch-Site: same-origin stands in for a
		// missing Referer (gorilla: ErrNoReferer).
		{"Sec-Fetch-Site same-origin without Referer", []string{"Sec-Fetch-Site", "same-origin"}, 200, "ok "},
		// A trusted host is trusted over HTTPS only, unless the request
		// is marked plaintext (gorilla trusts http://ui.example too).
		{"trusted host over http", []string{"Origin", "http://ui.example"}, 403, "Forbidden - origin invalid\n"},
		{"trusted host over https", []string{"Origin", "https://ui.example"}, 200, "ok "},
		// Origin "null" is refused (gorilla: url.Parse accepts it and
		// its host "" differs, so gorilla refuses too, as bad origin).
		{"null Origin", []string{"Origin", "null"}, 403, "Forbidden - origin invalid\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := append([]string{"X-CSRF-Token", tok, "Cookie", cookie}, tt.headers...)
			code, body := post(t, srv, "", h...)
			if code != tt.want || body != tt.wantBody {
				t.Errorf("%d %q; want %d %q", code, body, tt.want, tt.wantBody)
			}
		})
	}
}

// TestPublicOrigins: behind a proxy that rewrites Host, gorilla refuses
// every same-origin request; PublicOrigins names the browser's origin.
func TestPublicOrigins(t *testing.T) {
	for _, tt := range []struct {
		name string
		opts []csrf.Option
		want int
	}{
		{"without PublicOrigins", nil, 403},
		{"with PublicOrigins", []csrf.Option{csrf.PublicOrigins("https://app.example")}, 200},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv, tok, cookie := serve(t, tt.opts...)
			// The proxy forwarded the browser's request for
			// app.example to the backend under its own name.
			req, _ := http.NewRequest("POST", srv.URL+"/x", nil)
			req.Host = "backend.internal:8080"
			req.Header.Set("Origin", "https://app.example")
			req.Header.Set("X-CSRF-Token", tok)
			req.Header.Set("Cookie", cookie)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("status %d; want %d", resp.StatusCode, tt.want)
			}
		})
	}
}

// TestErrorHandler: a custom error handler learns the reason, and the
// request still carries its token.
func TestErrorHandler(t *testing.T) {
	var got error
	var gotToken string
	h := csrf.Protect(csrftest.AuthKey, csrf.ErrorHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, gotToken = csrf.FailureReason(r), csrf.Token(r)
		http.Error(w, "custom", http.StatusTeapot)
	})))(http.NotFoundHandler())
	w := httptest.NewRecorder()
	r := httptest.NewRequest("POST", "https://app.example/x", nil)
	r.Header.Set("Origin", "https://evil.example")
	h.ServeHTTP(w, r)
	if w.Code != http.StatusTeapot || !errors.Is(got, csrf.ErrBadOrigin) || gotToken == "" {
		t.Errorf("status %d, FailureReason %v, token %q; want 418, %v, a token", w.Code, got, gotToken, csrf.ErrBadOrigin)
	}
}

// TestShortKeyFailsClosed: a key that cannot sign safely refuses every
// request, safe ones included, and says why.
func TestShortKeyFailsClosed(t *testing.T) {
	h := csrf.Protect([]byte("short"))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Error("the protected handler was reached")
	}))
	for _, method := range []string{"GET", "POST"} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(method, "https://app.example/", nil))
		if w.Code != 403 || !strings.Contains(w.Body.String(), "at least 32 bytes") {
			t.Errorf("%s: %d %q; want 403 naming the key size", method, w.Code, w.Body)
		}
	}
}

// TestFormBodyRestored: the handler reads the whole form body after the
// token was found in it.
func TestFormBodyRestored(t *testing.T) {
	srv, tok, cookie := serve(t)
	body := "amount=10&gorilla.csrf.Token=" + url.QueryEscape(tok) + "&memo=" + strings.Repeat("m", 10000)
	code, got := post(t, srv, body, "Content-Type", "application/x-www-form-urlencoded", "Origin", "https://SELF", "Cookie", cookie)
	if code != 200 || got != "ok "+body {
		t.Errorf("status %d, handler read %d bytes; want 200 and the %d-byte body", code, len(got)-3, len(body))
	}
}

// TestCookieOptions: the cookie options set the token cookie's attributes.
func TestCookieOptions(t *testing.T) {
	h := csrf.Protect(csrftest.AuthKey, csrf.Path("/app"), csrf.Domain("example.com"), csrf.MaxAge(0),
		csrf.HttpOnly(false), csrf.Secure(false), csrf.SameSite(csrf.SameSiteStrictMode))(http.NotFoundHandler())
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "https://app.example.com/app/", nil))
	got := w.Header().Get("Set-Cookie")
	for _, want := range []string{"_gorilla_csrf=", "; Path=/app", "; Domain=example.com", "; SameSite=Strict"} {
		if !strings.Contains(got, want) {
			t.Errorf("Set-Cookie %q lacks %q", got, want)
		}
	}
	for _, unwanted := range []string{"Max-Age", "Expires", "HttpOnly", "Secure"} {
		if strings.Contains(got, unwanted) {
			t.Errorf("Set-Cookie %q has %s", got, unwanted)
		}
	}
}
