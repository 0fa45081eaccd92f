package gateway_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/forgeproof/forgeproof"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/gateway"
	"github.com/forgeproof/forgeproof/internal/testenv"
)

// startExpress installs the Express test backend with npm ci (when its
// node_modules is missing or older than its lock file) and starts it on a
// free loopback port. It returns the backend's URL.
func startExpress(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("testdata/express")
	if err != nil {
		t.Fatal(err)
	}
	return testenv.StartNode(t, dir, "server.js")
}

var hiddenField = regexp.MustCompile(`name="forgeproof_token" value="([^"]+)"`)

// TestExpressBackend protects a real, unmodified Express application
// (express-session login, JSON transfer, form transfer) with the gateway.
func TestExpressBackend(t *testing.T) {
	backend := startExpress(t)
	e := start(t, gateway.Options{
		Upstreams:  []gateway.Upstream{{Name: "express", URL: mustURL(t, backend)}},
		Protection: forgeproof.Config{SessionCookie: "connect.sid"},
		Routes:     []gateway.Route{{Pattern: "/api/", Protect: forgeproof.Route{JSONOnly: true}}},
		// HTML injection is on by default.
	}, nil)

	transfers := func() int {
		t.Helper()
		resp, err := http.Get(backend + "/api/transfers")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var ts []map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&ts); err != nil {
			t.Fatal(err)
		}
		return len(ts)
	}
	form := func(path, site, tok string, v url.Values) (*http.Response, string) {
		if tok != "" {
			v.Set("forgeproof_token", tok)
		}
		r := e.req("POST", path, site, strings.NewReader(v.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return e.do(r)
	}
	jsonPost := func(path, site, tok, body string) (*http.Response, string) {
		r := e.req("POST", path, site, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		if tok != "" {
			r.Header.Set("X-Forgeproof-Token", tok)
		}
		return e.do(r)
	}

	// The page comes with the token in its forms and the client script.
	resp, body := e.do(e.req("GET", "/", "", nil))
	if resp.StatusCode != 200 || !strings.Contains(body, `<script src="/.forgeproof/csrf.js"></script>`) {
		t.Fatalf("page: %d %s", resp.StatusCode, body)
	}
	fields := hiddenField.FindAllStringSubmatch(body, -1)
	if len(fields) != 2 {
		t.Fatalf("%d hidden fields in the page, want 2:\n%s", len(fields), body)
	}
	preLogin := fields[0][1]

	// Login with the form's token: the session cookie is hardened and
	// the token rotated on the same response.
	resp, body = form("/login", "same-origin", preLogin, url.Values{"user": {"alice"}})
	if resp.StatusCode != 200 || !strings.Contains(body, "alice") {
		t.Fatalf("login: %d %s", resp.StatusCode, body)
	}
	var sid string
	for _, c := range resp.Header.Values("Set-Cookie") {
		if strings.HasPrefix(c, "connect.sid=") {
			sid = c
		}
	}
	if !strings.Contains(sid, "HttpOnly") || !strings.Contains(sid, "SameSite=Lax") {
		t.Errorf("session cookie not hardened: %q", sid)
	}
	rotated := resp.Header.Get("X-Forgeproof-Token")
	if rotated == "" {
		t.Fatal("no rotated token on the login response")
	}

	n := transfers()
	// Forged requests never reach Express.
	if resp, body := jsonPost("/api/transfer", "cross-site", "", `{"to":"mallory","amount":1000}`); resp.StatusCode != 403 {
		t.Fatalf("cross-site JSON transfer: %d %s", resp.StatusCode, body)
	}
	if resp, body := form("/transfer", "cross-site", "", url.Values{"to": {"mallory"}, "amount": {"1000"}}); resp.StatusCode != 403 {
		t.Fatalf("cross-site form transfer: %d %s", resp.StatusCode, body)
	}
	if resp, body := form("/transfer", "same-origin", preLogin, url.Values{"to": {"mallory"}, "amount": {"1000"}}); resp.StatusCode != 403 {
		t.Fatalf("form transfer with the pre-login token: %d %s", resp.StatusCode, body)
	}
	if resp, body := form("/api/transfer", "same-origin", rotated, url.Values{"to": {"mallory"}, "amount": {"1"}}); resp.StatusCode != 403 || !strings.Contains(body, "content-type-not-allowed") {
		t.Fatalf("form to the JSON API: %d %s", resp.StatusCode, body)
	}
	if got := transfers(); got != n {
		t.Fatalf("Express recorded %d forged transfers", got-n)
	}

	// The user's own requests go through.
	if resp, body := jsonPost("/api/transfer", "same-origin", rotated, `{"to":"bob","amount":25}`); resp.StatusCode != 200 || !strings.Contains(body, `"from":"alice"`) {
		t.Fatalf("JSON transfer: %d %s", resp.StatusCode, body)
	}
	_, page := e.do(e.req("GET", "/", "", nil))
	if !strings.Contains(page, "signed in as alice") {
		t.Fatalf("not signed in: %s", page)
	}
	fields = hiddenField.FindAllStringSubmatch(page, -1)
	if len(fields) != 2 {
		t.Fatalf("%d hidden fields after login", len(fields))
	}
	if resp, body := form("/transfer", "same-origin", fields[1][1], url.Values{"to": {"carol"}, "amount": {"5"}}); resp.StatusCode != 303 {
		t.Fatalf("form transfer: %d %s", resp.StatusCode, body)
	}
	if got := transfers(); got != n+2 {
		t.Fatalf("Express recorded %d transfers, want 2", got-n)
	}

	// Logout rotates again; the session's token stops working.
	resp, _ = jsonPost("/logout", "same-origin", rotated, `{}`)
	if resp.StatusCode != 200 || resp.Header.Get("X-Forgeproof-Token") == "" {
		t.Fatalf("logout: %d, rotated %q", resp.StatusCode, resp.Header.Get("X-Forgeproof-Token"))
	}
}
