package zoo_test

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

	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/zoo"
)

// TestGroundTruth attacks zoo applications by hand, without the scanner,
// and checks with the bank's own counter that each planted flaw (and each
// defense) does what its description says.
func TestGroundTruth(t *testing.T) {
	const attacker = "https://evil.example"
	tests := []struct {
		variant string
		method  string
		path    string
		header  map[string]string
		body    string
		token   string // "mine" puts the session's token in the _csrf field, "other" another session's
		moved   bool   // whether money must move
	}{
		{"form-no-defense", "POST", "/transfer", map[string]string{"Origin": attacker, "Sec-Fetch-Site": "cross-site"}, "to=mallory&amount=5", "", true},
		{"json-lax-no-defense", "POST", "/api/transfer", map[string]string{"Origin": attacker, "Content-Type": "text/plain"}, `{"to":"mallory","amount":5}`, "", true},
		{"form-no-defense", "POST", "/api/transfer", map[string]string{"Origin": attacker, "Content-Type": "text/plain"}, `{"to":"mallory","amount":5}`, "", false},
		{"token-optional", "POST", "/transfer", map[string]string{"Origin": attacker}, "to=mallory&amount=5", "", true},
		{"token-empty", "POST", "/transfer", map[string]string{"Origin": attacker}, "to=mallory&amount=5&_csrf=", "", true},
		{"token-empty", "POST", "/transfer", map[string]string{"Origin": attacker}, "to=mallory&amount=5", "", false},
		{"token-global", "POST", "/transfer", map[string]string{"Origin": attacker}, "to=mallory&amount=5", "other", true},
		{"synchronizer-token", "POST", "/transfer", map[string]string{"Origin": attacker}, "to=mallory&amount=5", "other", false},
		{"synchronizer-token", "POST", "/transfer", map[string]string{"Origin": attacker}, "to=mallory&amount=5", "mine", true},
		{"origin-null", "POST", "/transfer", map[string]string{"Origin": "null"}, "to=mallory&amount=5", "", true},
		{"origin-null", "POST", "/transfer", map[string]string{"Origin": attacker}, "to=mallory&amount=5", "", false},
		{"origin-subdomains", "POST", "/transfer", map[string]string{"Origin": "http://evil.localhost"}, "to=mallory&amount=5", "", true},
		{"referer-optional", "POST", "/transfer", map[string]string{"Origin": attacker}, "to=mallory&amount=5", "", true},
		{"referer-optional", "POST", "/transfer", map[string]string{"Origin": attacker, "Referer": attacker + "/"}, "to=mallory&amount=5", "", false},
		{"origin-optional", "POST", "/transfer", map[string]string{"Sec-Fetch-Site": "cross-site"}, "to=mallory&amount=5", "", true},
		{"strict-origin", "POST", "/transfer", map[string]string{"Sec-Fetch-Site": "cross-site"}, "to=mallory&amount=5", "", false},
		{"method-override", "GET", "/api/payees/7?_method=DELETE", map[string]string{"Sec-Fetch-Site": "cross-site"}, "", "", true},
		{"method-override", "POST", "/api/payees/7?_method=DELETE", map[string]string{"Sec-Fetch-Site": "cross-site"}, "", "", false},
		{"get-action", "GET", "/transfer?to=mallory&amount=5", map[string]string{"Sec-Fetch-Site": "cross-site"}, "", "", true},
		{"go-cross-origin-protection", "POST", "/transfer", map[string]string{"Sec-Fetch-Site": "cross-site"}, "to=mallory&amount=5", "", false},
		{"forgeproof-middleware", "POST", "/transfer", map[string]string{"Origin": attacker}, "to=mallory&amount=5", "", false},
		{"forgeproof-gateway", "POST", "/transfer", map[string]string{"Origin": attacker}, "to=mallory&amount=5", "", false},
		{"forgeproof-middleware", "POST", "/transfer", map[string]string{"Origin": "SELF"}, "to=bob&amount=5", "mine", true},
		{"forgeproof-gateway", "POST", "/transfer", map[string]string{"Origin": "SELF"}, "to=bob&amount=5", "mine", true},
		{"custom-header", "POST", "/transfer", nil, "to=mallory&amount=5", "", false},
		{"cookie-to-header-token", "POST", "/transfer", map[string]string{"Origin": attacker}, "to=mallory&amount=5", "", false},
		{"cookie-to-header-token", "POST", "/transfer", map[string]string{"Origin": "SELF"}, "to=bob&amount=5", "xsrf", true},
		{"custom-header", "POST", "/transfer", map[string]string{"X-Requested-With": "XMLHttpRequest"}, "to=mallory&amount=5", "", true},
	}
	variants := map[string]*zoo.Variant{}
	for _, v := range zoo.Variants() {
		variants[v.Name] = v
	}
	for _, tt := range tests {
		t.Run(tt.variant+" "+tt.method+" "+tt.path, func(t *testing.T) {
			v := variants[tt.variant]
			h, err := v.Handler()
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(h)
			defer srv.Close()
			base := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
			victim := signIn(t, base)
			body := tt.body
			switch tt.token {
			case "mine":
				tok := token(t, victim, base)
				body += "&_csrf=" + tok + "&forgeproof_token=" + tok
			case "other":
				tok := token(t, signIn(t, base), base)
				body += "&_csrf=" + tok + "&forgeproof_token=" + tok
			}
			xsrf := ""
			if tt.token == "xsrf" {
				token(t, victim, base) // the home page sets the cookie
				u, _ := url.Parse(base)
				for _, c := range victim.Jar.Cookies(u) {
					if c.Name == "XSRF-TOKEN" {
						xsrf = c.Value
					}
				}
			}
			before := v.App.Transfers()
			req, _ := http.NewRequest(tt.method, base+tt.path, strings.NewReader(body))
			if body != "" {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			for k, val := range tt.header {
				req.Header.Set(k, strings.Replace(val, "SELF", base, 1))
			}
			if xsrf != "" {
				req.Header.Set("X-XSRF-TOKEN", xsrf)
			}
			resp, err := victim.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if moved := v.App.Transfers() > before; moved != tt.moved {
				t.Errorf("status %d, money moved = %v, want %v", resp.StatusCode, moved, tt.moved)
			}
		})
	}
}

func signIn(t *testing.T, base string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	tok := token(t, c, base) // an anonymous visit first, as a browser does
	req, _ := http.NewRequest("POST", base+"/login", strings.NewReader("user=alice"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", base)
	req.Header.Set("X-CSRF-Token", tok)       // the zoo's own applications
	req.Header.Set("X-Forgeproof-Token", tok) // forgeproof's variants
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("login: %d", resp.StatusCode)
	}
	return c
}

var metaRE = regexp.MustCompile(`name="csrf-token" content="([^"]+)"`)

// token reads the session's token from the home page.
func token(t *testing.T, c *http.Client, base string) string {
	t.Helper()
	resp, err := c.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if m := metaRE.FindSubmatch(b); m != nil {
		return string(m[1])
	}
	// forgeproof's token endpoint, for the middleware and the gateway.
	resp, err = c.Get(base + "/.forgeproof/token")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v struct{ Token string }
	json.NewDecoder(resp.Body).Decode(&v)
	return v.Token
}
