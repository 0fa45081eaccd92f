package gateway_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/forgeproof/forgeproof"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/gateway"
	"github.com/forgeproof/forgeproof/internal/testenv"
	"github.com/forgeproof/forgeproof/redisstore"
)

// sharedOptions are the options of every gateway instance in the Redis
// tests: synchronizer tokens on /api/, signed ones on /form/, none on
// /off/.
func sharedOptions(store forgeproof.Store) gateway.Options {
	return gateway.Options{
		Protection: forgeproof.Config{Store: store, SessionCookie: "sid"},
		Routes: []gateway.Route{
			{Pattern: "/api/", Protect: forgeproof.Route{Tokens: forgeproof.SynchronizerTokens}},
			{Pattern: "/off/", Protect: forgeproof.Route{Tokens: forgeproof.TokensOff}},
		},
	}
}

func openRedisStore(t *testing.T, addr string) *redisstore.Store {
	t.Helper()
	s, err := redisstore.Open("redis://"+addr, redisstore.Options{Prefix: "gw-test:"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestGatewaysShareRedis runs two gateway instances with the same keys and
// one real redis-server: each accepts the synchronizer tokens the other
// issued. When Redis goes away, the routes that need it answer 503
// store-unavailable while the others keep serving, and everything recovers
// when it returns.
func TestGatewaysShareRedis(t *testing.T) {
	redis := testenv.StartRedis(t)
	backend := http.HandlerFunc(echoHandler)
	a := start(t, sharedOptions(openRedisStore(t, redis.Addr)), backend)
	b := start(t, sharedOptions(openRedisStore(t, redis.Addr)), backend)
	alone := start(t, sharedOptions(forgeproof.NewMemoryStore(1000)), backend)

	// post sends a same-origin POST to g with the session cookie, the
	// token cookie that a issued and tok.
	post := func(g *env, path, tok string) (*http.Response, string) {
		t.Helper()
		r := g.req("POST", path, "same-origin", strings.NewReader("{}"))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("X-Forgeproof-Token", tok)
		r.AddCookie(&http.Cookie{Name: "sid", Value: "alice-session"})
		for _, c := range a.client.Jar.Cookies(mustURL(t, a.gw.URL)) {
			r.AddCookie(c)
		}
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, string(b)
	}
	tokenFrom := func(g *env) string {
		t.Helper()
		r := g.req("GET", "/.forgeproof/token", "same-origin", nil)
		r.AddCookie(&http.Cookie{Name: "sid", Value: "alice-session"})
		resp, body := a.do(r) // a's client: its jar keeps the token cookie
		if resp.StatusCode != 200 {
			t.Fatalf("token: %d %s", resp.StatusCode, body)
		}
		return body[strings.Index(body, `"token":"`)+9 : strings.Index(body, `","header"`)]
	}

	tok := tokenFrom(a)
	for _, g := range []*env{a, b} {
		if resp, body := post(g, "/api/transfer", tok); resp.StatusCode != 200 {
			t.Fatalf("synchronizer token refused by an instance sharing Redis: %d %s", resp.StatusCode, body)
		}
	}
	if resp, body := post(alone, "/api/transfer", tok); resp.StatusCode != 403 {
		t.Fatalf("an instance with its own store accepted the token: %d %s", resp.StatusCode, body)
	}

	redis.Stop()
	resp, body := post(b, "/api/transfer", tok)
	wantProblem(t, resp, body, http.StatusServiceUnavailable, "store-unavailable")
	for _, path := range []string{"/.forgeproof/token", "/.forgeproof/one-time-token"} {
		r := b.req("GET", path, "same-origin", nil)
		r.AddCookie(&http.Cookie{Name: "sid", Value: "alice-session"})
		resp, body := b.do(r)
		wantProblem(t, resp, body, http.StatusServiceUnavailable, "store-unavailable")
	}
	for _, path := range []string{"/form/x", "/off/x"} {
		if resp, body := post(b, path, tok); resp.StatusCode != 200 {
			t.Fatalf("%s stopped serving without Redis: %d %s", path, resp.StatusCode, body)
		}
	}

	redis.Start()
	// Redis keeps nothing across the restart (no persistence in tests):
	// a new token is needed, and both instances serve again on their own.
	deadline := time.Now().Add(15 * time.Second)
	for {
		r := a.req("GET", "/.forgeproof/token", "same-origin", nil)
		r.AddCookie(&http.Cookie{Name: "sid", Value: "alice-session"})
		resp, _ := a.do(r)
		if resp.StatusCode == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("token endpoint did not recover: %d", resp.StatusCode)
		}
		time.Sleep(100 * time.Millisecond)
	}
	tok = tokenFrom(a)
	for _, g := range []*env{a, b} {
		if resp, body := post(g, "/api/transfer", tok); resp.StatusCode != 200 {
			t.Fatalf("after Redis returned: %d %s", resp.StatusCode, body)
		}
	}
}
