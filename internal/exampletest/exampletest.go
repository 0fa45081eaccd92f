// Package exampletest drives the router examples (examples/chi,
// examples/gin, examples/echo) over real HTTP, so that each shows the same
// behaviour under its own router.
package exampletest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"
)

// Run serves h, an example application, over real HTTP: a page of the
// application fetches a token from GET /csrf and transfers with POST
// /api/transfers; forged requests are refused with their reason and never
// reach the handler.
func Run(t *testing.T, h http.Handler) {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}

	resp, err := client.Get(srv.URL + "/csrf")
	if err != nil {
		t.Fatal(err)
	}
	var tok struct{ Token, Header string }
	json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if tok.Token == "" {
		t.Fatalf("GET /csrf: %s, no token", resp.Status)
	}

	tests := []struct {
		name, origin, contentType, body string
		token                           bool
		want                            int
		reason                          string
	}{
		{"same-origin JSON with token", srv.URL, "application/json", `{"to":"bob","amount":10}`, true, 201, ""},
		{"Fetch Metadata same-origin", "", "application/json", `{"to":"bob","amount":10}`, true, 201, ""},
		{"cross-site fetch", "https://evil.example", "application/json", `{"to":"mallory","amount":1000}`, true, 403, "origin-mismatch"},
		{"cross-site form", "https://evil.example", "application/x-www-form-urlencoded", "to=mallory&amount=1000", false, 403, "origin-mismatch"},
		{"same-origin text/plain", srv.URL, "text/plain", `{"to":"mallory","amount":1000}`, true, 403, "content-type-not-allowed"},
		{"same-origin without token", srv.URL, "application/json", `{"to":"mallory","amount":1000}`, false, 403, "token-missing"},
		{"forged token", srv.URL, "application/json", `{"to":"mallory","amount":1000}`, false, 403, "token-invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", srv.URL+"/api/transfers", strings.NewReader(tt.body))
			req.Header.Set("Content-Type", tt.contentType)
			if tt.origin != "" {
				req.Header.Set("Origin", tt.origin)
			} else {
				req.Header.Set("Sec-Fetch-Site", "same-origin")
			}
			if tt.token {
				req.Header.Set(tok.Header, tok.Token)
			} else if tt.reason == "token-invalid" {
				req.Header.Set(tok.Header, "Zm9yZ2Vk")
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var p struct{ Reason, To string }
			json.Unmarshal(body, &p)
			if resp.StatusCode != tt.want || p.Reason != tt.reason {
				t.Errorf("%d %s; want %d %q", resp.StatusCode, body, tt.want, tt.reason)
			}
			if tt.want == 201 && p.To != "bob" {
				t.Errorf("the handler answered %s; want the transfer to bob", body)
			}
		})
	}
}
