package forgeproof

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// stepUpProtection returns a Protection whose "/api/transfer" route (any
// method) and "/api/payees/" subtree require a proof at most a minute old,
// the clock it reads, and the handler it guards, which counts the requests
// it serves.
func stepUpProtection(t testing.TB, store Store) (*Protection, *time.Time, http.Handler, *atomic.Int64) {
	t.Helper()
	p, err := New(Config{
		Store:         store,
		SessionCookie: "sid",
		Tokens:        TokensOff,
		ReauthURL:     "/reauth",
		Routes: []Route{
			{Pattern: "/api/transfer", ReauthMaxAge: time.Minute},
			{Pattern: "/api/payees/", ReauthMaxAge: time.Minute},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	p.reauth.now = func() time.Time { return now }
	var served atomic.Int64
	h := p.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
	}))
	return p, &now, h, &served
}

// stepUpRequest returns a same-origin request in session sid carrying proof
// (none if empty).
func stepUpRequest(method, path, sid, proof string) *http.Request {
	r := httptest.NewRequest(method, "http://bank.test"+path, strings.NewReader(`{}`))
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	r.Header.Set("Content-Type", "application/json")
	if sid != "" {
		r.AddCookie(&http.Cookie{Name: "sid", Value: sid})
	}
	if proof != "" {
		r.Header.Set("X-Reauth-Proof", proof)
	}
	return r
}

// grant mints a proof for session sid and the given operation.
func grant(t *testing.T, p *Protection, sid, method, path string) string {
	t.Helper()
	w := httptest.NewRecorder()
	proof, err := p.GrantReauth(w, stepUpRequest("POST", "/reauth", sid, ""), method, path)
	if err != nil {
		t.Fatal(err)
	}
	if got := w.Header().Get("Cache-Control"); got != "no-store" {
		t.Errorf("GrantReauth: Cache-Control = %q, want no-store", got)
	}
	return proof
}

func TestStepUp(t *testing.T) {
	tests := []struct {
		name string
		// use builds the request from a proof granted to session "s1" for
		// POST /api/transfer; advance is how long after the grant it is
		// sent.
		use     func(proof string) *http.Request
		advance time.Duration
		want    Reason
	}{
		{
			name: "fresh proof for the same session and operation",
			use:  func(p string) *http.Request { return stepUpRequest("POST", "/api/transfer", "s1", p) },
			want: ReasonNone,
		},
		{
			name:    "proof at the edge of the maximum age",
			use:     func(p string) *http.Request { return stepUpRequest("POST", "/api/transfer", "s1", p) },
			advance: time.Minute,
			want:    ReasonNone,
		},
		{
			name: "no proof",
			use:  func(string) *http.Request { return stepUpRequest("POST", "/api/transfer", "s1", "") },
			want: ReasonReauthRequired,
		},
		{
			name:    "expired proof",
			use:     func(p string) *http.Request { return stepUpRequest("POST", "/api/transfer", "s1", p) },
			advance: time.Minute + time.Second,
			want:    ReasonReauthRequired,
		},
		{
			name: "proof from another session",
			use:  func(p string) *http.Request { return stepUpRequest("POST", "/api/transfer", "s2", p) },
			want: ReasonReauthRequired,
		},
		{
			name: "proof without a session",
			use:  func(p string) *http.Request { return stepUpRequest("POST", "/api/transfer", "", p) },
			want: ReasonReauthRequired,
		},
		{
			name: "proof for another method",
			use: func(p string) *http.Request {
				r := stepUpRequest("POST", "/api/transfer", "s1", p)
				r.Header.Set("X-HTTP-Method-Override", "DELETE")
				return r
			},
			want: ReasonReauthRequired,
		},
		{
			name: "proof for another path",
			use:  func(p string) *http.Request { return stepUpRequest("POST", "/api/payees/7", "s1", p) },
			want: ReasonReauthRequired,
		},
		{
			name: "proof used with PUT",
			use:  func(p string) *http.Request { return stepUpRequest("PUT", "/api/transfer", "s1", p) },
			want: ReasonReauthRequired,
		},
		{
			name: "proof that is not base64url",
			use:  func(p string) *http.Request { return stepUpRequest("POST", "/api/transfer", "s1", p+"!") },
			want: ReasonReauthRequired,
		},
		{
			name: "truncated proof",
			use:  func(p string) *http.Request { return stepUpRequest("POST", "/api/transfer", "s1", p[:20]) },
			want: ReasonReauthRequired,
		},
		{
			name: "two proof headers",
			use: func(p string) *http.Request {
				r := stepUpRequest("POST", "/api/transfer", "s1", p)
				r.Header.Add("X-Reauth-Proof", p)
				return r
			},
			want: ReasonReauthRequired,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, now, h, served := stepUpProtection(t, NewMemoryStore(1000))
			proof := grant(t, p, "s1", "POST", "/api/transfer")
			*now = now.Add(tt.advance)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, tt.use(proof))
			if tt.want == ReasonNone {
				if w.Code != http.StatusOK || served.Load() != 1 {
					t.Fatalf("status %d, served %d; want 200 and the handler called: %s", w.Code, served.Load(), w.Body)
				}
				return
			}
			checkReauthAnswer(t, w, tt.want)
			if served.Load() != 0 {
				t.Error("the handler was called for a refused request")
			}
		})
	}
}

// checkReauthAnswer checks a 401 problem+json answer naming want and the
// confirmation URL.
func checkReauthAnswer(t *testing.T, w *httptest.ResponseRecorder, want Reason) {
	t.Helper()
	if w.Code != want.Status() {
		t.Errorf("status = %d, want %d", w.Code, want.Status())
	}
	var body struct {
		Reason       string `json:"reason"`
		Status       int    `json:"status"`
		ReauthURL    string `json:"reauth_url"`
		ReauthHeader string `json:"reauth_header"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatalf("body %q: %v", w.Body, err)
	}
	if body.Reason != want.String() || body.Status != want.Status() {
		t.Errorf("body reason %q status %d, want %q %d", body.Reason, body.Status, want, want.Status())
	}
	if body.ReauthURL != "/reauth" || body.ReauthHeader != "X-Reauth-Proof" {
		t.Errorf("body names %q and %q, want /reauth and X-Reauth-Proof", body.ReauthURL, body.ReauthHeader)
	}
}

func TestStepUpProofIsSingleUse(t *testing.T) {
	p, _, h, served := stepUpProtection(t, NewMemoryStore(1000))
	proof := grant(t, p, "s1", "POST", "/api/transfer")

	w := httptest.NewRecorder()
	h.ServeHTTP(w, stepUpRequest("POST", "/api/transfer", "s1", proof))
	if w.Code != http.StatusOK {
		t.Fatalf("first use: status %d: %s", w.Code, w.Body)
	}
	w = httptest.NewRecorder()
	h.ServeHTTP(w, stepUpRequest("POST", "/api/transfer", "s1", proof))
	checkReauthAnswer(t, w, ReasonReauthReused)
	if served.Load() != 1 {
		t.Errorf("handler served %d requests, want 1", served.Load())
	}
}

func TestStepUpProofBurnsOnMisuse(t *testing.T) {
	// A proof presented for the wrong operation is consumed, so that a
	// stolen proof cannot be tried against several operations.
	p, _, h, _ := stepUpProtection(t, NewMemoryStore(1000))
	proof := grant(t, p, "s1", "POST", "/api/other")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, stepUpRequest("POST", "/api/transfer", "s1", proof))
	checkReauthAnswer(t, w, ReasonReauthRequired)
	w = httptest.NewRecorder()
	h.ServeHTTP(w, stepUpRequest("POST", "/api/transfer", "s1", proof))
	checkReauthAnswer(t, w, ReasonReauthReused)
}

func TestStepUpSharedStoreAcrossInstances(t *testing.T) {
	store := NewMemoryStore(1000)
	a, _, _, _ := stepUpProtection(t, store)
	_, _, hb, servedB := stepUpProtection(t, store)
	proof := grant(t, a, "s1", "POST", "/api/transfer")

	var wg sync.WaitGroup
	codes := make([]int, 16)
	for i := range codes {
		wg.Go(func() {
			w := httptest.NewRecorder()
			hb.ServeHTTP(w, stepUpRequest("POST", "/api/transfer", "s1", proof))
			codes[i] = w.Code
		})
	}
	wg.Wait()
	ok := 0
	for _, c := range codes {
		switch c {
		case http.StatusOK:
			ok++
		case http.StatusUnauthorized:
		default:
			t.Errorf("status %d, want 200 or 401", c)
		}
	}
	if ok != 1 || servedB.Load() != 1 {
		t.Errorf("%d concurrent uses succeeded (handler served %d), want exactly 1", ok, servedB.Load())
	}
}

func TestGrantReauthErrors(t *testing.T) {
	p, _, _, _ := stepUpProtection(t, NewMemoryStore(10))
	if _, err := p.GrantReauth(nil, stepUpRequest("POST", "/reauth", "", ""), "POST", "/api/transfer"); !errors.Is(err, ErrNoSession) {
		t.Errorf("without a session: err = %v, want ErrNoSession", err)
	}
	if _, err := p.GrantReauth(nil, stepUpRequest("POST", "/reauth", "s1", ""), "POST", "api/transfer"); err == nil {
		t.Error("relative path: no error")
	}

	down, _, _, _ := stepUpProtection(t, failingStore{})
	proof, err := down.GrantReauth(nil, stepUpRequest("POST", "/reauth", "s1", ""), "POST", "/api/transfer")
	if err == nil || proof != "" || !errors.Is(err, errStoreDown) {
		t.Errorf("store down: proof %q, err %v; want no proof and the store's error", proof, err)
	}
}

func TestStepUpStoreUnavailable(t *testing.T) {
	up := NewMemoryStore(10)
	p, _, _, _ := stepUpProtection(t, up)
	proof := grant(t, p, "s1", "POST", "/api/transfer")

	_, _, h, served := stepUpProtection(t, failingStore{})
	w := httptest.NewRecorder()
	h.ServeHTTP(w, stepUpRequest("POST", "/api/transfer", "s1", proof))
	if w.Code != http.StatusServiceUnavailable || served.Load() != 0 {
		t.Fatalf("status %d served %d, want 503 and the handler not called", w.Code, served.Load())
	}
	if !strings.Contains(w.Body.String(), `"reason":"store-unavailable"`) {
		t.Errorf("body %s does not name store-unavailable", w.Body)
	}
}

func TestStepUpOtherRoutesUnaffected(t *testing.T) {
	_, _, h, served := stepUpProtection(t, failingStore{})
	w := httptest.NewRecorder()
	h.ServeHTTP(w, stepUpRequest("POST", "/api/balance", "s1", ""))
	if w.Code != http.StatusOK || served.Load() != 1 {
		t.Fatalf("status %d, want 200 on a route that is not sensitive", w.Code)
	}
}

func TestStepUpStoreHoldsNoProof(t *testing.T) {
	store := &recordingStore{Store: NewMemoryStore(10)}
	p, _, _, _ := stepUpProtection(t, store)
	proof := grant(t, p, "s1", "POST", "/api/transfer")
	for _, k := range store.keys {
		if strings.Contains(k, proof) {
			t.Errorf("store key %q holds the proof", k)
		}
	}
	if len(store.keys) != 1 {
		t.Errorf("GrantReauth stored %d values, want 1", len(store.keys))
	}
}

var errStoreDown = errors.New("store down")

// failingStore is a Store whose backend is unreachable.
type failingStore struct{}

func (failingStore) Get(context.Context, string) ([]byte, error) { return nil, errStoreDown }
func (failingStore) Put(context.Context, string, []byte, time.Duration) error {
	return errStoreDown
}
func (failingStore) Take(context.Context, string) ([]byte, error) { return nil, errStoreDown }
func (failingStore) Delete(context.Context, string) error         { return errStoreDown }

// recordingStore records the keys that Put is called with.
type recordingStore struct {
	Store
	keys []string
}

func (s *recordingStore) Put(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	s.keys = append(s.keys, key)
	return s.Store.Put(ctx, key, value, ttl)
}

// FuzzReauthProof feeds arbitrary proof headers to a sensitive route: none
// may pass but the one proof granted, and it only once.
func FuzzReauthProof(f *testing.F) {
	f.Add("")
	f.Add("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	f.Add("not base64!")
	f.Add(strings.Repeat("_", 43))
	f.Add(strings.Repeat("A", 10000))
	_, _, h, served := stepUpProtection(f, NewMemoryStore(1000))
	f.Fuzz(func(t *testing.T, proof string) {
		before := served.Load()
		r := stepUpRequest("POST", "/api/transfer", "s1", "")
		r.Header["X-Reauth-Proof"] = []string{proof}
		h.ServeHTTP(httptest.NewRecorder(), r)
		if served.Load() != before {
			t.Fatalf("proof %q passed", proof)
		}
	})
}
