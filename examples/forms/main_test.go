package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

var field = regexp.MustCompile(`<input type="hidden" name="forgeproof_token" value="([^"]+)">`)

// browser is a client with a cookie jar that sends Origin like a browser.
type browser struct {
	t      *testing.T
	c      *http.Client
	origin string
}

func (b *browser) get(path string) (int, string) {
	resp, err := b.c.Get(b.origin + path)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// token returns the token of the page's forms.
func (b *browser) token() string {
	b.t.Helper()
	_, body := b.get("/")
	m := field.FindStringSubmatch(body)
	if m == nil {
		b.t.Fatalf("no token field in the page:\n%s", body)
	}
	return m[1]
}

// post submits a form from a page of origin.
func (b *browser) post(path, origin string, form url.Values) (int, string) {
	req, _ := http.NewRequest("POST", b.origin+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", origin)
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func reason(body string) string {
	var p struct{ Reason string }
	json.Unmarshal([]byte(body), &p)
	return p.Reason
}

// TestForms runs the example over real HTTP: sign in, transfer, sign out,
// with the token rotated at login and logout, and forged requests refused.
func TestForms(t *testing.T) {
	h, err := newApp()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	jar, _ := cookiejar.New(nil)
	b := &browser{t: t, c: &http.Client{Jar: jar}, origin: srv.URL}

	anon := b.token()
	// Login CSRF: a login form posted from another site is refused.
	if code, body := b.post("/login", "https://evil.example", url.Values{"forgeproof_token": {anon}, "user": {"alice"}, "password": {"wonderland"}}); code != 403 || reason(body) != "origin-mismatch" {
		t.Fatalf("cross-site login: %d %s; want 403 origin-mismatch", code, body)
	}
	code, body := b.post("/login", srv.URL, url.Values{"forgeproof_token": {anon}, "user": {"alice"}, "password": {"wonderland"}})
	if code != 200 || !strings.Contains(body, "Signed in as alice") {
		t.Fatalf("login: %d %s", code, body)
	}
	// Rotate at login: the anonymous token no longer works.
	if code, body := b.post("/transfer", srv.URL, url.Values{"forgeproof_token": {anon}, "to": {"bob"}, "amount": {"1"}}); code != 403 || reason(body) != "token-invalid" {
		t.Errorf("transfer with the pre-login token: %d %s; want 403 token-invalid", code, body)
	}
	tok := b.token()
	if code, body := b.post("/transfer", srv.URL, url.Values{"forgeproof_token": {tok}, "to": {"bob"}, "amount": {"10"}}); code != 200 || !strings.Contains(body, "Transferred 10 to bob.") {
		t.Errorf("legitimate transfer: %d %s", code, body)
	}
	// Forged transfers: from another site (the browser attaches the
	// cookies), and without the token.
	if code, body := b.post("/transfer", "https://evil.example", url.Values{"forgeproof_token": {tok}, "to": {"mallory"}, "amount": {"1000"}}); code != 403 || reason(body) != "origin-mismatch" {
		t.Errorf("cross-site transfer: %d %s; want 403 origin-mismatch", code, body)
	}
	if code, body := b.post("/transfer", srv.URL, url.Values{"to": {"mallory"}, "amount": {"1000"}}); code != 403 || reason(body) != "token-missing" {
		t.Errorf("transfer without token: %d %s; want 403 token-missing", code, body)
	}
	// Rotate at logout: the signed-in token stops working.
	if code, _ := b.post("/logout", srv.URL, url.Values{"forgeproof_token": {tok}}); code != 200 {
		t.Fatalf("logout: %d", code)
	}
	if code, body := b.post("/logout", srv.URL, url.Values{"forgeproof_token": {tok}}); code != 403 || reason(body) != "token-invalid" {
		t.Errorf("the signed-in token after logout: %d %s; want 403 token-invalid", code, body)
	}
}
