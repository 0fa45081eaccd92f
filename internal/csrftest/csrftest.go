// Package csrftest holds the documented behaviour of gorilla/csrf as a
// table of scenarios, run over real HTTP against any package with
// gorilla's API: forgeproof's csrf package in its own tests, and both it and
// gorilla/csrf itself in the bench module, to show that they agree.
package csrftest

import (
	"bytes"
	"encoding/json"
	"html/template"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// AuthKey is the 32-byte key the scenarios protect with.
var AuthKey = []byte("0123456789abcdef0123456789abcdef")

// Settings are the options of one Protect call, as both packages spell them.
type Settings struct {
	TrustedOrigins []string
	FieldName      string // "" for the default
	RequestHeader  string // "" for the default
	CookieName     string // "" for the default
	Secure         *bool  // nil for the default
}

// An API is a package with gorilla/csrf's API.
type API struct {
	// Protect calls the package's Protect with AuthKey and the options
	// that s names.
	Protect              func(s Settings) func(http.Handler) http.Handler
	Token                func(*http.Request) string
	TemplateField        func(*http.Request) template.HTML
	FailureReason        func(*http.Request) error
	UnsafeSkipCheck      func(*http.Request) *http.Request
	PlaintextHTTPRequest func(*http.Request) *http.Request
}

// A Case is one request sent after a page was fetched.
type Case struct {
	Name      string
	Settings  Settings
	Plaintext bool   // the request is marked with PlaintextHTTPRequest
	Method    string // "" is POST
	Path      string // "" is /submit; /skip/... is marked UnsafeSkipCheck
	// Origin and Referer are sent as given, after "SELF" is replaced by
	// the server's host:port; "" sends none.
	Origin, Referer string
	// Token says where the page's token goes: "header" (the default
	// header, or Settings.RequestHeader), "form", "multipart", "" (none),
	// "other" (a genuine token of another client, in the header),
	// "garbage" (in the header), or "header:NAME" (in header NAME).
	Token    string
	NoCookie bool // the token cookie is not sent
	Want     int
	WantBody string // the body: "ok", or the default error handler's text
}

// Cases are the scenarios of gorilla/csrf's README and documentation.
var Cases = []Case{
	{Name: "same origin, token in header", Origin: "https://SELF", Token: "header", Want: 200, WantBody: "ok"},
	{Name: "no Origin, same-origin Referer, token in form", Referer: "https://SELF/form", Token: "form", Want: 200, WantBody: "ok"},
	{Name: "token in multipart form", Origin: "https://SELF", Token: "multipart", Want: 200, WantBody: "ok"},
	{Name: "PUT with token", Method: "PUT", Origin: "https://SELF", Token: "header", Want: 200, WantBody: "ok"},
	{Name: "no token", Origin: "https://SELF", Want: 403, WantBody: "Forbidden - CSRF token not found in request\n"},
	{Name: "DELETE without token", Method: "DELETE", Origin: "https://SELF", Want: 403, WantBody: "Forbidden - CSRF token not found in request\n"},
	{Name: "PATCH without token", Method: "PATCH", Origin: "https://SELF", Want: 403, WantBody: "Forbidden - CSRF token not found in request\n"},
	{Name: "token of another client", Origin: "https://SELF", Token: "other", Want: 403, WantBody: "Forbidden - CSRF token invalid\n"},
	{Name: "garbage token", Origin: "https://SELF", Token: "garbage", Want: 403, WantBody: "Forbidden - CSRF token invalid\n"},
	{Name: "token without its cookie", Origin: "https://SELF", Token: "header", NoCookie: true, Want: 403, WantBody: "Forbidden - CSRF token invalid\n"},
	{Name: "cross-origin Origin", Origin: "https://evil.example", Token: "header", Want: 403, WantBody: "Forbidden - origin invalid\n"},
	{Name: "plain-HTTP Origin on HTTPS", Origin: "http://SELF", Token: "header", Want: 403, WantBody: "Forbidden - origin invalid\n"},
	{Name: "neither Origin nor Referer", Token: "header", Want: 403, WantBody: "Forbidden - referer not supplied\n"},
	{Name: "plain-HTTP Referer on HTTPS", Referer: "http://SELF/form", Token: "header", Want: 403, WantBody: "Forbidden - referer invalid\n"},
	{Name: "cross-origin Referer", Referer: "https://evil.example/page", Token: "header", Want: 403, WantBody: "Forbidden - referer invalid\n"},
	{Name: "trusted Origin", Settings: Settings{TrustedOrigins: []string{"trusted.example"}}, Origin: "https://trusted.example", Token: "header", Want: 200, WantBody: "ok"},
	{Name: "trusted Referer", Settings: Settings{TrustedOrigins: []string{"trusted.example"}}, Referer: "https://trusted.example/page", Token: "header", Want: 200, WantBody: "ok"},
	{Name: "untrusted Origin with trusted list", Settings: Settings{TrustedOrigins: []string{"trusted.example"}}, Origin: "https://other.example", Token: "header", Want: 403, WantBody: "Forbidden - origin invalid\n"},
	{Name: "plaintext, same origin", Plaintext: true, Origin: "http://SELF", Token: "header", Want: 200, WantBody: "ok"},
	{Name: "plaintext, neither Origin nor Referer", Plaintext: true, Token: "form", Want: 200, WantBody: "ok"},
	{Name: "plaintext, cross origin", Plaintext: true, Origin: "http://evil.example", Token: "header", Want: 403, WantBody: "Forbidden - origin invalid\n"},
	{Name: "plaintext, https Origin", Plaintext: true, Origin: "https://SELF", Token: "header", Want: 403, WantBody: "Forbidden - origin invalid\n"},
	{Name: "plaintext, no token", Plaintext: true, Origin: "http://SELF", Want: 403, WantBody: "Forbidden - CSRF token not found in request\n"},
	{Name: "custom names, header", Settings: custom, Origin: "https://SELF", Token: "header", Want: 200, WantBody: "ok"},
	{Name: "custom names, form", Settings: custom, Origin: "https://SELF", Token: "form", Want: 200, WantBody: "ok"},
	{Name: "custom names, default header ignored", Settings: custom, Origin: "https://SELF", Token: "header:X-CSRF-Token", Want: 403, WantBody: "Forbidden - CSRF token not found in request\n"},
	{Name: "UnsafeSkipCheck", Path: "/skip/hook", Origin: "https://evil.example", Want: 200, WantBody: "ok"},
	{Name: "GET is safe", Method: "GET", Origin: "https://evil.example", Want: 200, WantBody: "ok"},
	{Name: "HEAD is safe", Method: "HEAD", Origin: "https://evil.example", Want: 200},
	{Name: "OPTIONS is safe", Method: "OPTIONS", Origin: "https://evil.example", Want: 200, WantBody: "ok"},
}

var custom = Settings{FieldName: "authenticity_token", RequestHeader: "X-Authenticity-Token", CookieName: "csrf_session"}

// server starts the application of the scenarios: GET /form shows the
// token and the template field as JSON, every other path answers "ok".
func server(t *testing.T, api API, s Settings, plaintext bool) *httptest.Server {
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/form" && r.Method == "GET" {
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(map[string]string{
				"token": api.Token(r),
				"field": string(api.TemplateField(r)),
			})
			return
		}
		io.WriteString(w, "ok")
	})
	protected := api.Protect(s)(app)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if plaintext {
			r = api.PlaintextHTTPRequest(r)
		}
		if strings.HasPrefix(r.URL.Path, "/skip/") {
			r = api.UnsafeSkipCheck(r)
		}
		protected.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// A page is what GET /form gave a client.
type page struct {
	Token, Field string
	cookie       string // name=value of the token cookie
	setCookie    *http.Cookie
}

func fetchPage(t *testing.T, srv *httptest.Server, cookieName string) page {
	t.Helper()
	resp, err := http.Get(srv.URL + "/form")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct{ Token, Field string }
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("GET /form: %v", err)
	}
	pg := page{Token: body.Token, Field: body.Field}
	for _, c := range resp.Cookies() {
		if c.Name == cookieName {
			pg.cookie, pg.setCookie = c.Name+"="+c.Value, c
		}
	}
	if pg.Token == "" || pg.cookie == "" {
		t.Fatalf("GET /form gave token %q and cookie %q; want both", pg.Token, pg.cookie)
	}
	return pg
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Run runs every Case against api, and the checks of the token page.
func Run(t *testing.T, api API) {
	for _, c := range Cases {
		t.Run(c.Name, func(t *testing.T) {
			srv := server(t, api, c.Settings, c.Plaintext)
			cookieName := orDefault(c.Settings.CookieName, "_gorilla_csrf")
			field := orDefault(c.Settings.FieldName, "gorilla.csrf.Token")
			header := orDefault(c.Settings.RequestHeader, "X-CSRF-Token")
			pg := fetchPage(t, srv, cookieName)
			self := strings.TrimPrefix(srv.URL, "http://")

			var body io.Reader
			contentType := ""
			token := pg.Token
			switch {
			case c.Token == "form":
				body = strings.NewReader(url.Values{field: {token}, "amount": {"10"}}.Encode())
				contentType = "application/x-www-form-urlencoded"
			case c.Token == "multipart":
				var buf bytes.Buffer
				mw := multipart.NewWriter(&buf)
				mw.WriteField("amount", "10")
				mw.WriteField(field, token)
				mw.Close()
				body, contentType = &buf, mw.FormDataContentType()
			case c.Token == "other":
				token = fetchPage(t, srv, cookieName).Token
			case c.Token == "garbage":
				token = "not-a-token"
			case strings.HasPrefix(c.Token, "header:"):
				header = strings.TrimPrefix(c.Token, "header:")
			}
			req, err := http.NewRequest(orDefault(c.Method, "POST"), srv.URL+orDefault(c.Path, "/submit"), body)
			if err != nil {
				t.Fatal(err)
			}
			if contentType != "" {
				req.Header.Set("Content-Type", contentType)
			}
			switch c.Token {
			case "header", "other", "garbage":
				req.Header.Set(header, token)
			default:
				if strings.HasPrefix(c.Token, "header:") {
					req.Header.Set(header, token)
				}
			}
			if !c.NoCookie {
				req.Header.Set("Cookie", pg.cookie)
			}
			if c.Origin != "" {
				req.Header.Set("Origin", strings.ReplaceAll(c.Origin, "SELF", self))
			}
			if c.Referer != "" {
				req.Header.Set("Referer", strings.ReplaceAll(c.Referer, "SELF", self))
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != c.Want || (req.Method != "HEAD" && string(got) != c.WantBody) {
				t.Errorf("%s %s: %d %q; want %d %q", req.Method, req.URL.Path, resp.StatusCode, got, c.Want, c.WantBody)
			}
		})
	}

	t.Run("token page", func(t *testing.T) {
		srv := server(t, api, Settings{}, false)
		a, b := fetchPage(t, srv, "_gorilla_csrf"), fetchPage(t, srv, "_gorilla_csrf")
		c := a.setCookie
		if !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteLaxMode || c.MaxAge != 12*3600 {
			t.Errorf("token cookie %q: want HttpOnly, Secure, SameSite=Lax, Max-Age=43200", c.String())
		}
		if a.Token == b.Token {
			t.Errorf("two pages got the same token %q; each response must mask it afresh", a.Token)
		}
		want := regexp.MustCompile(`^<input type="hidden" name="gorilla\.csrf\.Token" value="[A-Za-z0-9+/=_-]+">$`)
		if !want.MatchString(a.Field) {
			t.Errorf("TemplateField = %q; want %s", a.Field, want)
		}
	})

	t.Run("Secure(false)", func(t *testing.T) {
		no := false
		srv := server(t, api, Settings{Secure: &no}, false)
		if c := fetchPage(t, srv, "_gorilla_csrf").setCookie; c.Secure {
			t.Errorf("token cookie %q is Secure after Secure(false)", c.String())
		}
	})

	t.Run("outside the middleware", func(t *testing.T) {
		r := httptest.NewRequest("GET", "/", nil)
		if tok, field, err := api.Token(r), api.TemplateField(r), api.FailureReason(r); tok != "" || field != "" || err != nil {
			t.Errorf("Token, TemplateField, FailureReason = %q, %q, %v; want zero values", tok, field, err)
		}
	})
}
