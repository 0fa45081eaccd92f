package redisstore_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/forgeproof/forgeproof"
	"github.com/forgeproof/forgeproof/internal/testenv"
	"github.com/forgeproof/forgeproof/redisstore"
)

// instance is one application instance: its own Redis client, the shared
// key ring, synchronizer tokens.
type instance struct {
	url   string
	calls atomic.Int32
}

func startInstance(t *testing.T, redisAddr string, keys *forgeproof.KeyRing) *instance {
	t.Helper()
	store, err := redisstore.Open("redis://"+redisAddr, redisstore.Options{Prefix: "test:"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	p, err := forgeproof.New(forgeproof.Config{
		Keys:          keys,
		Store:         store,
		Tokens:        forgeproof.SynchronizerTokens,
		SessionCookie: "session",
	})
	if err != nil {
		t.Fatal(err)
	}
	in := &instance{}
	mux := http.NewServeMux()
	mux.Handle("GET /token", p.TokenHandler())
	mux.HandleFunc("POST /act", func(w http.ResponseWriter, r *http.Request) {
		in.calls.Add(1)
		io.WriteString(w, "done")
	})
	srv := httptest.NewServer(p.Handler(mux))
	t.Cleanup(srv.Close)
	in.url = srv.URL
	return in
}

// fetchToken gets a token for session from in, and the token cookie that
// goes with it.
func fetchToken(t *testing.T, in *instance, session string) (token string, cookies []*http.Cookie) {
	t.Helper()
	req, _ := http.NewRequest("GET", in.url+"/token", nil)
	req.AddCookie(&http.Cookie{Name: "session", Value: session})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct{ Token string }
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != 200 {
		t.Fatalf("token endpoint: status %d, %v", resp.StatusCode, err)
	}
	return body.Token, resp.Cookies()
}

// act posts to in with the session, the cookies and the token, and returns
// the status and the rejection reason.
func act(t *testing.T, in *instance, session, token string, cookies []*http.Cookie) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", in.url+"/act", strings.NewReader("{}"))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", token)
	req.AddCookie(&http.Cookie{Name: "session", Value: session})
	for _, c := range cookies {
		req.AddCookie(c)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var problem struct{ Reason string }
	json.NewDecoder(resp.Body).Decode(&problem)
	return resp.StatusCode, problem.Reason
}

// Two instances with the same key ring sharing one Redis accept each
// other's synchronizer tokens; a token of another session is refused; and
// while Redis is down the instances fail closed with 503, then recover on
// their own.
func TestSharedSynchronizerTokens(t *testing.T) {
	srv := testenv.StartRedis(t)
	keys, err := forgeproof.NewKeyRing(forgeproof.GenerateKey())
	if err != nil {
		t.Fatal(err)
	}
	a := startInstance(t, srv.Addr, keys)
	b := startInstance(t, srv.Addr, keys)

	tokA, cookiesA := fetchToken(t, a, "session-1")
	if status, reason := act(t, b, "session-1", tokA, cookiesA); status != 200 {
		t.Fatalf("B refused A's token: %d %s", status, reason)
	}
	tokB, cookiesB := fetchToken(t, b, "session-2")
	if status, reason := act(t, a, "session-2", tokB, cookiesB); status != 200 {
		t.Fatalf("A refused B's token: %d %s", status, reason)
	}
	if status, reason := act(t, a, "session-2", tokA, cookiesB); status != 403 {
		t.Fatalf("A accepted session 1's token in session 2: %d %s", status, reason)
	}

	srv.Stop()
	if status, reason := act(t, b, "session-1", tokA, cookiesA); status != 503 || reason != "store-unavailable" {
		t.Fatalf("during the outage: %d %q, want 503 store-unavailable", status, reason)
	}
	srv.Start()
	// Redis came back empty (no persistence): the old token is gone, a new
	// one works on both, without restarting either instance.
	deadline := time.Now().Add(5 * time.Second)
	for {
		status, reason := act(t, b, "session-1", tokA, cookiesA)
		if status == 403 && reason == "token-invalid" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after recovery, the lost token: %d %q, want 403 token-invalid", status, reason)
		}
		time.Sleep(50 * time.Millisecond)
	}
	tokA, cookiesA = fetchToken(t, a, "session-1")
	if status, reason := act(t, b, "session-1", tokA, cookiesA); status != 200 {
		t.Fatalf("after recovery, B refused A's new token: %d %s", status, reason)
	}
	if a.calls.Load()+b.calls.Load() != 3 {
		t.Errorf("the application ran %d times, want 3", a.calls.Load()+b.calls.Load())
	}
}
