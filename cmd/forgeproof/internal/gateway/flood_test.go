package gateway_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/forgeproof/forgeproof"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/gateway"
)

// Through the gateway's own endpoints, a flood of anonymous one-time token
// requests (each stores an entry) leaves a signed-in user's one-time token
// and re-authentication proof usable.
func TestAnonymousFloodThroughGateway(t *testing.T) {
	const storeSize, flood = 2000, 20_000 // the anonymous partition holds 500
	backend := overrideBackend("alice-session")
	e := start(t, gateway.Options{
		Protection: forgeproof.Config{
			SessionCookie: "session",
			Store:         forgeproof.NewMemoryStore(storeSize),
		},
		Routes: []gateway.Route{
			{Pattern: "POST /api/once", Protect: forgeproof.Route{OneTimeTokens: true}},
			{Pattern: "POST /api/transfer", Protect: forgeproof.Route{ReauthMaxAge: time.Hour}},
		},
		ReauthVerify:  "/api/reauth",
		ReauthSuccess: gateway.ReauthSuccess{Header: "X-Reauth-Verified", Value: "true"},
		Logger:        slog.New(slog.DiscardHandler),
	}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/once" || r.URL.Path == "/api/transfer" {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		backend.ServeHTTP(w, r)
	}))

	// Alice signs in, and gets a one-time token and a proof.
	tok := e.token()
	login := e.req("POST", "/login", "same-origin", strings.NewReader("{}"))
	login.Header.Set("X-Forgeproof-Token", tok)
	if resp, body := e.do(login); resp.StatusCode != http.StatusOK {
		t.Fatalf("login: %d %s", resp.StatusCode, body)
	}
	resp, body := e.do(e.req("GET", "/.forgeproof/one-time-token", "same-origin", nil))
	var once struct{ Token string }
	if err := json.Unmarshal([]byte(body), &once); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("one-time token: %d %s", resp.StatusCode, body)
	}
	confirm := e.req("POST", "/.forgeproof/reauth", "same-origin", strings.NewReader(`{"password":"right","method":"POST","path":"/api/transfer"}`))
	confirm.Header.Set("Content-Type", "application/json")
	resp, body = e.do(confirm)
	var grant struct{ Proof string }
	if err := json.Unmarshal([]byte(body), &grant); err != nil || grant.Proof == "" {
		t.Fatalf("confirmation: %d %s", resp.StatusCode, body)
	}
	tok = e.token()

	// The flood: visitors without cookies ask for one-time tokens, straight
	// through the gateway's handler.
	g := e.gw.Config.Handler
	anon := httptest.NewRequest("GET", "/.forgeproof/one-time-token", nil)
	anon.Header.Set("Sec-Fetch-Site", "same-origin")
	for i := range flood {
		w := httptest.NewRecorder()
		g.ServeHTTP(w, anon)
		if w.Code != http.StatusOK {
			t.Fatalf("anonymous request %d: %d %s", i, w.Code, w.Body)
		}
	}

	post := func(path string, header map[string]string) (*http.Response, string) {
		r := e.req("POST", path, "same-origin", strings.NewReader("{}"))
		for k, v := range header {
			r.Header.Set(k, v)
		}
		return e.do(r)
	}
	if resp, body := post("/api/once", map[string]string{"X-Forgeproof-Token": once.Token}); resp.StatusCode != http.StatusNoContent {
		t.Errorf("alice's one-time token after the flood: %d %s", resp.StatusCode, body)
	}
	if resp, body := post("/api/transfer", map[string]string{"X-Forgeproof-Token": tok, "X-Reauth-Proof": grant.Proof}); resp.StatusCode != http.StatusNoContent {
		t.Errorf("alice's proof after the flood: %d %s", resp.StatusCode, body)
	}
}
