package gateway_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/forgeproof/forgeproof"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/browser"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/browser/browsertest"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/gateway"
	"github.com/forgeproof/forgeproof/internal/testenv"
)

// scriptPage loads csrf.js the way a team that cannot change much would:
// one script tag, no meta tag, so the script asks the token endpoint.
const scriptPage = `<!doctype html><html><head><script src="/.forgeproof/csrf.js"></script></head>
<body><form id=f method=post action="/form"><input name=amount value=7><button id=b>Send</button></form></body></html>`

// TestClientScriptInChromium runs csrf.js in a real headless Chromium
// against the gateway: unsafe same-origin fetch, XMLHttpRequest and form
// posts carry the token, other origins never see it, the token is in no
// storage, and the rotated token is picked up after login without a
// reload.
func TestClientScriptInChromium(t *testing.T) {
	chromium := testenv.Chromium(t)

	var mu sync.Mutex
	var effects []string // what the backend accepted
	var leaked []string  // token headers seen by the other origin
	record := func(s string) { mu.Lock(); effects = append(effects, s); mu.Unlock() }
	e := start(t, gateway.Options{
		Protection: forgeproof.Config{SessionCookie: "sid"},
		Routes:     []gateway.Route{{Pattern: "/pay/", Protect: forgeproof.Route{OneTimeTokens: true}}},
	},
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch {
			case r.URL.Path == "/":
				w.Header().Set("Content-Type", "text/html")
				io.WriteString(w, scriptPage)
			case r.URL.Path == "/login":
				http.SetCookie(w, &http.Cookie{Name: "sid", Value: "alice-" + time.Now().Format("150405.000000"), Path: "/", HttpOnly: true})
				io.WriteString(w, `{"user":"alice"}`)
			case r.Method == "POST":
				body, _ := io.ReadAll(r.Body)
				record(r.URL.Path + " " + string(body))
				if r.URL.Path == "/form" {
					http.Redirect(w, r, "/", http.StatusSeeOther)
					return
				}
				io.WriteString(w, `{"ok":true}`)
			}
		}))
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if v := r.Header.Get("X-Forgeproof-Token"); v != "" {
			mu.Lock()
			leaked = append(leaked, v)
			mu.Unlock()
		}
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.Header().Set("Access-Control-Allow-Headers", "*")
		w.Header().Set("Access-Control-Allow-Methods", "POST")
		io.WriteString(w, "{}")
	}))
	t.Cleanup(other.Close)
	// Another origin: same IP, named differently.
	otherURL := strings.Replace(other.URL, "127.0.0.1", "localhost", 1)

	tab := browsertest.Tab(t, browser.Options{ExecPath: chromium})
	if status, err := tab.Navigate(e.gw.URL+"/", 10*time.Second); err != nil || status != 200 {
		t.Fatalf("navigate: %d %v", status, err)
	}
	if err := tab.WaitFor("window.forgeproof", 5*time.Second); err != nil {
		t.Fatalf("csrf.js did not load: %v", err)
	}
	eval := func(expr string) int {
		t.Helper()
		var status int
		if err := tab.Eval(expr, &status, 10*time.Second); err != nil {
			t.Fatal(err)
		}
		return status
	}
	fetchPost := `fetch("/api/transfer", {method: "POST", headers: {"Content-Type": "application/json"}, body: '{"amount":1}'}).then(r => r.status)`
	xhrPost := `new Promise(res => { const x = new XMLHttpRequest(); x.open("POST", "/api/xhr"); x.setRequestHeader("Content-Type", "application/json"); x.onload = () => res(x.status); x.send('{"amount":2}'); })`

	if got := eval(fetchPost); got != 200 {
		t.Fatalf("same-origin fetch POST: %d", got)
	}
	if got := eval(xhrPost); got != 200 {
		t.Fatalf("same-origin XHR POST: %d", got)
	}
	if got := eval(`fetch("` + otherURL + `/collect", {method: "POST", body: "x"}).then(r => r.status)`); got != 200 {
		t.Fatalf("cross-origin fetch: %d", got)
	}
	if got := eval(`localStorage.length + sessionStorage.length + (document.cookie.includes("forgeproof") ? 100 : 0)`); got != 0 {
		t.Fatalf("the token is stored where scripts can read it (%d)", got)
	}

	// Login rotates the token; the script takes the new one from the
	// login response, and the next request works without a reload.
	if got := eval(`fetch("/login", {method: "POST"}).then(r => r.status)`); got != 200 {
		t.Fatalf("login: %d", got)
	}
	if got := eval(fetchPost); got != 200 {
		t.Fatalf("fetch after login: %d (rotated token not picked up)", got)
	}

	// A one-time token set by the page is sent as is, once.
	payOnce := `forgeproof.oneTimeToken().then(t => Promise.all([0, 1].map(() => fetch("/pay/x", {method: "POST", headers: {"X-Forgeproof-Token": t, "Content-Type": "application/json"}, body: "{}"}).then(r => r.status)))).then(s => s[0] * 1000 + s[1])`
	if got := eval(payOnce); got != 200*1000+403 && got != 403*1000+200 {
		t.Fatalf("one-time token used twice: statuses %d", got)
	}

	// A plain form post gets the hidden field on submit.
	if err := tab.Eval(`document.getElementById("b").click()`, nil, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := browser.Until(10*time.Second, func() (bool, error) {
		mu.Lock()
		defer mu.Unlock()
		return len(effects) == 5, nil
	}); err != nil {
		t.Fatalf("form post not accepted; effects %q", effects)
	}

	mu.Lock()
	defer mu.Unlock()
	want := []string{"/api/transfer", "/api/xhr", "/api/transfer", "/pay/x", "/form amount=7&forgeproof_token="}
	for i, w := range want {
		if !strings.HasPrefix(effects[i], w) {
			t.Errorf("effect %d = %q, want %q…", i, effects[i], w)
		}
	}
	if len(leaked) > 0 {
		t.Errorf("the token was sent to another origin: %d times", len(leaked))
	}
}
