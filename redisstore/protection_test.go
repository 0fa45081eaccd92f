package redisstore_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/forgeproof/forgeproof"
	"github.com/forgeproof/forgeproof/redisstore"
)

// instance is one application instance: its own Redis client, the shared
// key ring, synchronizer tokens.
type instance struct {
	url   string
	calls atomic.Int32
}

func startInstance(t *testing.T, d deployment, keys *forgeproof.KeyRing) *instance {
	t.Helper()
	return startInstanceWith(t, d, forgeproof.Config{Keys: keys, Tokens: forgeproof.SynchronizerTokens})
}

// startInstanceWith starts an instance with cfg, its store a new client of
// the Redis deployment d. Besides /token and /act, it serves /once (a
// one-time token), POST /act-once (a route that takes them), /reauth (a
// proof for POST /sensitive, without checking any credential) and POST
// /sensitive (a route that needs one).
func startInstanceWith(t *testing.T, d deployment, cfg forgeproof.Config) *instance {
	t.Helper()
	cfg.Store = open(t, d, redisstore.Options{Prefix: "test:"})
	cfg.SessionCookie = "session"
	cfg.Routes = append(cfg.Routes,
		forgeproof.Route{Pattern: "POST /act-once", OneTimeTokens: true},
		forgeproof.Route{Pattern: "POST /sensitive", ReauthMaxAge: time.Minute})
	p, err := forgeproof.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	in := &instance{}
	mux := http.NewServeMux()
	mux.Handle("GET /token", p.TokenHandler())
	act := func(w http.ResponseWriter, r *http.Request) {
		in.calls.Add(1)
		io.WriteString(w, "done")
	}
	mux.HandleFunc("POST /act", act)
	mux.HandleFunc("POST /act-once", act)
	mux.HandleFunc("POST /sensitive", act)
	mux.HandleFunc("GET /once", func(w http.ResponseWriter, r *http.Request) {
		tok, err := p.OneTimeToken(w, r)
		if err != nil {
			http.Error(w, "store unavailable", http.StatusServiceUnavailable)
			return
		}
		json.NewEncoder(w).Encode(map[string]string{"token": tok})
	})
	mux.HandleFunc("GET /reauth", func(w http.ResponseWriter, r *http.Request) {
		proof, err := p.GrantReauth(w, r, "POST", "/sensitive")
		if err != nil {
			http.Error(w, "store unavailable", http.StatusServiceUnavailable)
			return
		}
		json.NewEncoder(w).Encode(map[string]string{"token": proof})
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
	return fetch(t, in, "/token", session, nil)
}

// fetch gets {"token": …} from path of in, for session, with cookies.
func fetch(t *testing.T, in *instance, path, session string, cookies []*http.Cookie) (token string, set []*http.Cookie) {
	t.Helper()
	req, _ := http.NewRequest("GET", in.url+path, nil)
	req.AddCookie(&http.Cookie{Name: "session", Value: session})
	for _, c := range cookies {
		req.AddCookie(c)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct{ Token string }
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s: status %d, %v", path, resp.StatusCode, err)
	}
	return body.Token, resp.Cookies()
}

// act posts to in with the session, the cookies and the token, and returns
// the status and the rejection reason.
func act(t *testing.T, in *instance, session, token string, cookies []*http.Cookie) (int, string) {
	t.Helper()
	return post(t, in, "/act", session, cookies, "X-Forgeproof-Token", token)
}

// post posts to path of in with the session, the cookies and the header,
// and returns the status and the rejection reason.
func post(t *testing.T, in *instance, path, session string, cookies []*http.Cookie, header ...string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", in.url+path, strings.NewReader("{}"))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
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
// while a single Redis is down the instances fail closed with 503, then
// recover on their own.
func TestSharedSynchronizerTokens(t *testing.T) {
	forEachDeployment(t, testSharedSynchronizerTokens)
}

func testSharedSynchronizerTokens(t *testing.T, d deployment) {
	keys, err := forgeproof.NewKeyRing(forgeproof.GenerateKey())
	if err != nil {
		t.Fatal(err)
	}
	a := startInstance(t, d, keys)
	b := startInstance(t, d, keys)

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

	srv := d.server
	if srv == nil {
		// The loss of a node of a deployment that survives it is tested
		// by TestClusterFailover, and by bench/reliability for Sentinel.
		return
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

// One-time tokens and re-authentication proofs minted by one instance are
// accepted once by any instance: of two instances racing to use one,
// exactly one succeeds.
func TestSharedOneTimeTokensAndProofs(t *testing.T) {
	forEachDeployment(t, testSharedOneTimeTokensAndProofs)
}

func testSharedOneTimeTokensAndProofs(t *testing.T, d deployment) {
	keys, err := forgeproof.NewKeyRing(forgeproof.GenerateKey())
	if err != nil {
		t.Fatal(err)
	}
	a := startInstanceWith(t, d, forgeproof.Config{Keys: keys})
	b := startInstanceWith(t, d, forgeproof.Config{Keys: keys})
	_, cookies := fetchToken(t, a, "s")

	tests := []struct {
		name, mint, use, header, reused string
		// racing is the other reason a loser of the race may get: a
		// proof's tombstone is written just after the winner's Take, so a
		// loser that looks for it before then finds a proof unknown.
		racing string
	}{
		{"one-time token", "/once", "/act-once", "X-Forgeproof-Token", "token-reused", "token-reused"},
		{"re-authentication proof", "/reauth", "/sensitive", "X-Reauth-Proof", "reauth-reused", "reauth-required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for round := range 10 {
				tok, _ := fetch(t, a, tt.mint, "s", cookies)
				header := []string{tt.header, tok}
				if tt.header != "X-Forgeproof-Token" {
					signed, _ := fetch(t, a, "/token", "s", cookies)
					header = append(header, "X-Forgeproof-Token", signed)
				}
				var wg sync.WaitGroup
				var ok, refused atomic.Int32
				for _, in := range []*instance{a, b, a, b} {
					wg.Go(func() {
						switch status, reason := post(t, in, tt.use, "s", cookies, header...); {
						case status == 200:
							ok.Add(1)
						case reason == tt.reused || reason == tt.racing:
							refused.Add(1)
						default:
							t.Errorf("round %d: %d %q", round, status, reason)
						}
					})
				}
				wg.Wait()
				if ok.Load() != 1 || refused.Load() != 3 {
					t.Fatalf("round %d: %d accepted, %d refused as %s; want 1 and 3", round, ok.Load(), refused.Load(), tt.reused)
				}
				if status, reason := post(t, b, tt.use, "s", cookies, header...); status == 200 || reason != tt.reused {
					t.Fatalf("round %d: replay after the race: %d %q, want %s", round, status, reason, tt.reused)
				}
			}
		})
	}
}
