package bank_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/forgeproof/forgeproof"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/bank"
)

var (
	metaToken  = regexp.MustCompile(`<meta name="csrf-token" content="([^"]+)">`)
	fieldToken = regexp.MustCompile(`<input type="hidden" name="forgeproof_token" value="([^"]+)">`)
)

// pageTokens loads the page and returns its meta-tag token and the token of
// its first form.
func (c *client) pageTokens() (meta, field string) {
	c.t.Helper()
	resp, body := c.do("GET", "/", "", "", "Accept", "text/html")
	if resp.StatusCode != 200 {
		c.t.Fatalf("page: status %d", resp.StatusCode)
	}
	m, f := metaToken.FindStringSubmatch(body), fieldToken.FindStringSubmatch(body)
	if m == nil || f == nil {
		c.t.Fatalf("page carries no token (meta %v, field %v):\n%s", m != nil, f != nil, body)
	}
	return m[1], f[1]
}

func protectedBank(t *testing.T, cfg forgeproof.Config) (*bank.Bank, *client) {
	t.Helper()
	cfg.SessionCookie = "session"
	p, err := forgeproof.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b := bank.New(bank.Options{Protection: p})
	return b, newClient(t, p.Handler(b))
}

func problemReason(t *testing.T, body string) string {
	t.Helper()
	var p struct{ Reason string }
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		t.Fatalf("rejection is not problem+json: %q", body)
	}
	return p.Reason
}

func TestProtectedPage(t *testing.T) {
	_, c := protectedBank(t, forgeproof.Config{})
	resp, body := c.do("GET", "/", "", "")
	if strings.Contains(body, "/.forgeproof/csrf.js") {
		t.Error("page with a Protection still loads the gateway's script")
	}
	if !metaToken.MatchString(body) || !strings.Contains(body, `<meta name="csrf-header" content="X-Forgeproof-Token">`) {
		t.Error("page lacks the token meta tags")
	}
	if n := len(fieldToken.FindAllString(body, -1)); n != 1 {
		t.Errorf("signed-out page has %d token fields, want 1 (the sign-in form)", n)
	}
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", resp.Header.Get("Cache-Control"))
	}
}

// A whole session through the library: sign in with the page's token,
// transfer with fetch and with the form, remove a payee, sign out. Each
// step uses the token of the page the user would have in front of them.
func TestProtectedSession(t *testing.T) {
	b, c := protectedBank(t, forgeproof.Config{})
	_, preLogin := c.pageTokens()

	// A login without a token is refused: login CSRF.
	resp, body := c.do("POST", "/login", formType, "username=alice&password=wonderland")
	if resp.StatusCode != 403 || problemReason(t, body) != "token-missing" {
		t.Fatalf("login without token: %d %s", resp.StatusCode, body)
	}
	resp, _ = c.do("POST", "/login", formType, url.Values{"username": {"alice"}, "password": {"wonderland"}, "forgeproof_token": {preLogin}}.Encode())
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login with token: status %d", resp.StatusCode)
	}
	rotated := false
	for _, ck := range resp.Cookies() {
		rotated = rotated || ck.Name == "forgeproof"
	}
	if !rotated {
		t.Errorf("login did not rotate the token cookie: %q", resp.Header.Values("Set-Cookie"))
	}

	// The pre-login token is bound to no session: refused now.
	resp, body = c.do("POST", "/api/transfer", "application/json", `{"to":"bob","amount":"1"}`, "X-Forgeproof-Token", preLogin)
	if resp.StatusCode != 403 {
		t.Fatalf("transfer with the pre-login token: %d %s", resp.StatusCode, body)
	}

	meta, field := c.pageTokens()
	resp, body = c.do("POST", "/api/transfer", "application/json", `{"to":"bob","amount":"10"}`, "X-Forgeproof-Token", meta)
	if resp.StatusCode != 200 {
		t.Fatalf("fetch transfer: %d %s", resp.StatusCode, body)
	}
	resp, body = c.do("POST", "/transfer", formType, url.Values{"to": {"bob"}, "amount": {"2.50"}, "forgeproof_token": {field}}.Encode())
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("form transfer: %d %s", resp.StatusCode, body)
	}
	resp, body = c.do("POST", "/api/payees/mallory?_method=DELETE", formType, url.Values{"forgeproof_token": {field}}.Encode())
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("payee removal: %d %s", resp.StatusCode, body)
	}

	// Forgeries: another origin, no token, the legacy GET from an <img>.
	forged := []struct {
		name                      string
		method, path, ctype, body string
		header                    []string
	}{
		{"cross-origin fetch", "POST", "/api/transfer", "text/plain", `{"to":"mallory","amount":"100"}`, []string{"Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"}},
		{"form without token", "POST", "/transfer", formType, "to=mallory&amount=100", nil},
		{"override without token", "POST", "/api/payees/bob?_method=DELETE", formType, "", nil},
	}
	for _, f := range forged {
		resp, body := c.do(f.method, f.path, f.ctype, f.body, f.header...)
		if resp.StatusCode != 403 {
			t.Errorf("%s: status %d, want 403; %s", f.name, resp.StatusCode, body)
		}
	}

	_, field = c.pageTokens()
	resp, _ = c.do("POST", "/logout", formType, url.Values{"forgeproof_token": {field}}.Encode())
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: status %d", resp.StatusCode)
	}

	var got []string
	for _, e := range b.Events() {
		got = append(got, e.Kind+" "+e.Via+" "+bank.FormatAmount(e.Amount))
	}
	want := []string{"login form 0.00", "transfer json 10.00", "transfer form 2.50", "payee-delete method-override 0.00", "logout form 0.00"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if bal := balance(t, b, "mallory"); bal != 0 {
		t.Errorf("mallory received %s", bank.FormatAmount(bal))
	}
}

// The legacy GET changes state; a route that declares GET state-changing
// makes the library check it like a POST.
func TestProtectedLegacyGET(t *testing.T) {
	b, c := protectedBank(t, forgeproof.Config{Routes: []forgeproof.Route{{Pattern: "GET /transfer", CheckSafeMethods: true}}})
	_, tok := c.pageTokens()
	c.do("POST", "/login", formType, url.Values{"username": {"alice"}, "password": {"wonderland"}, "forgeproof_token": {tok}}.Encode())

	resp, body := c.do("GET", "/transfer?to=mallory&amount=50", "", "", "Sec-Fetch-Site", "cross-site", "Referer", "https://evil.example/cat.html")
	if resp.StatusCode != 403 {
		t.Fatalf("cross-site legacy GET: status %d, want 403; %s", resp.StatusCode, body)
	}
	if n := len(b.Transfers()); n != 0 {
		t.Fatalf("forged legacy GET moved money: %+v", b.Transfers())
	}
}

// A large transfer through the library: the sensitive route refuses it
// without a proof, the bank mints one after the password, the proof works
// once, for that operation only.
func TestProtectedStepUp(t *testing.T) {
	cfg := forgeproof.Config{
		SessionCookie: "session",
		ReauthURL:     "/api/reauth",
		Routes:        []forgeproof.Route{{Pattern: "POST /api/transfer/large", ReauthMaxAge: 5 * time.Minute}},
	}
	p, err := forgeproof.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b := bank.New(bank.Options{Protection: p, LargeTransfer: 500_00})
	c := newClient(t, p.Handler(b))
	_, tok := c.pageTokens()
	c.do("POST", "/login", formType, url.Values{"username": {"alice"}, "password": {"wonderland"}, "forgeproof_token": {tok}}.Encode())
	tok, _ = c.pageTokens()
	large := `{"to":"bob","amount":"600"}`

	resp, body := c.do("POST", "/api/transfer/large", "application/json", large, "X-Forgeproof-Token", tok)
	if resp.StatusCode != 401 || problemReason(t, body) != "reauth-required" || !strings.Contains(body, `"reauth_url":"/api/reauth"`) {
		t.Fatalf("without a proof: %d %s", resp.StatusCode, body)
	}
	resp, body = c.do("POST", "/api/reauth", "application/json", `{"password":"builder","method":"POST","path":"/api/transfer/large"}`, "X-Forgeproof-Token", tok)
	if resp.StatusCode != 401 || strings.Contains(body, "proof") {
		t.Fatalf("wrong password: %d %s", resp.StatusCode, body)
	}
	proofFor := func(path string) string {
		resp, body := c.do("POST", "/api/reauth", "application/json", `{"password":"wonderland","method":"POST","path":"`+path+`"}`, "X-Forgeproof-Token", tok)
		var got struct{ Proof, Header string }
		if json.Unmarshal([]byte(body), &got); resp.StatusCode != 200 || got.Proof == "" || got.Header != "X-Reauth-Proof" {
			t.Fatalf("reauth: %d %s", resp.StatusCode, body)
		}
		return got.Proof
	}

	other := proofFor("/api/transfer")
	resp, body = c.do("POST", "/api/transfer/large", "application/json", large, "X-Forgeproof-Token", tok, "X-Reauth-Proof", other)
	if resp.StatusCode != 401 || problemReason(t, body) != "reauth-required" {
		t.Fatalf("proof for another operation: %d %s", resp.StatusCode, body)
	}
	proof := proofFor("/api/transfer/large")
	resp, body = c.do("POST", "/api/transfer/large", "application/json", large, "X-Forgeproof-Token", tok, "X-Reauth-Proof", proof)
	if resp.StatusCode != 200 {
		t.Fatalf("with the proof: %d %s", resp.StatusCode, body)
	}
	resp, body = c.do("POST", "/api/transfer/large", "application/json", large, "X-Forgeproof-Token", tok, "X-Reauth-Proof", proof)
	if resp.StatusCode != 401 || problemReason(t, body) != "reauth-reused" {
		t.Fatalf("replayed proof: %d %s", resp.StatusCode, body)
	}
	// A forged cross-site request with a proof still fails the origin check.
	resp, _ = c.do("POST", "/api/transfer/large", "text/plain", large, "Sec-Fetch-Site", "cross-site", "X-Reauth-Proof", proofFor("/api/transfer/large"))
	if resp.StatusCode != 403 {
		t.Fatalf("cross-site with a proof: status %d, want 403", resp.StatusCode)
	}

	tr := b.Transfers()
	if len(tr) != 1 || tr[0].Amount != 600_00 || tr[0].Path != "/api/transfer/large" {
		t.Errorf("transfers %+v, want the one confirmed transfer", tr)
	}
}

// A method override that the bank ignores (it turns a POST into PUT, PATCH
// or DELETE only) leaves the POST handler to run: the sensitive route's
// step-up must still apply, and a malformed override is refused.
func TestProtectedStepUpOverride(t *testing.T) {
	p, err := forgeproof.New(forgeproof.Config{
		SessionCookie: "session",
		Routes:        []forgeproof.Route{{Pattern: "POST /api/transfer/large", ReauthMaxAge: 5 * time.Minute}},
	})
	if err != nil {
		t.Fatal(err)
	}
	b := bank.New(bank.Options{Protection: p, LargeTransfer: 500_00})
	c := newClient(t, p.Handler(b))
	_, tok := c.pageTokens()
	c.do("POST", "/login", formType, url.Values{"username": {"alice"}, "password": {"wonderland"}, "forgeproof_token": {tok}}.Encode())
	tok, _ = c.pageTokens()
	large := `{"to":"bob","amount":"600"}`
	for _, tt := range []struct{ target, override, reason string }{
		{"/api/transfer/large", "FOO", "reauth-required"},
		{"/api/transfer/large?_method=FOO", "", "reauth-required"},
		{"/api/transfer/large", "GET", "reauth-required"},
		{"/api/transfer/large", "+PUT", "method-override-invalid"},
	} {
		hdr := []string{"X-Forgeproof-Token", tok}
		if tt.override != "" {
			hdr = append(hdr, "X-HTTP-Method-Override", tt.override)
		}
		resp, body := c.do("POST", tt.target, "application/json", large, hdr...)
		if resp.StatusCode == 200 || problemReason(t, body) != tt.reason {
			t.Errorf("POST %s with override %q: %d %s, want %s", tt.target, tt.override, resp.StatusCode, body, tt.reason)
		}
	}
	if tr := b.Transfers(); len(tr) != 0 {
		t.Errorf("a large transfer went through without the password: %+v", tr)
	}
}
