package forgeproof_test

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/forgeproof/forgeproof"
)

// floodSink is a ResponseWriter for the flood, cleared between requests.
type floodSink struct{ h http.Header }

func (s *floodSink) Header() http.Header         { return s.h }
func (s *floodSink) Write(b []byte) (int, error) { return len(b), nil }
func (s *floodSink) WriteHeader(int)             {}

// A signed-in user's one-time token, synchronizer token and
// re-authentication proof survive a flood of a million anonymous token
// requests: each of those stores an entry (a pre-session synchronizer
// token, an anonymous one-time token), but only in the store's anonymous
// partition, which the flood then churns on its own.
func TestAnonymousFloodSparesSessions(t *testing.T) {
	n := 1_000_000
	if raceEnabled || testing.Short() {
		n = 100_000 // still six times the anonymous partition
	}
	store := forgeproof.NewMemoryStore(0)
	p, err := forgeproof.New(forgeproof.Config{
		Store:         store,
		ErrorLog:      log.New(io.Discard, "", 0),
		SessionCookie: "sid",
		Tokens:        forgeproof.SynchronizerTokens,
		Routes: []forgeproof.Route{
			{Pattern: "POST /once", OneTimeTokens: true},
			{Pattern: "POST /transfer", ReauthMaxAge: time.Hour},
		},
	})
	if err != nil {
		t.Fatal(err)
	}

	// Alice, signed in, opens a page and asks for her tokens and a proof.
	alice := func(method, path string) *http.Request {
		r := httptest.NewRequest(method, path, nil)
		r.Header.Set("Cookie", "sid=alice-session")
		r.Header.Set("Sec-Fetch-Site", "same-origin")
		return r
	}
	page := httptest.NewRecorder()
	pageToken, err := p.Token(page, alice("GET", "/"))
	if err != nil {
		t.Fatal(err)
	}
	tokenCookie := page.Result().Cookies()[0]
	once, err := p.OneTimeToken(httptest.NewRecorder(), alice("GET", "/"))
	if err != nil {
		t.Fatal(err)
	}
	proof, err := p.GrantReauth(nil, alice("POST", "/reauth"), "POST", "/transfer")
	if err != nil {
		t.Fatal(err)
	}

	// The flood: token requests from visitors without any cookie, half to
	// the token handler (a pre-session synchronizer token each), half for
	// one-time tokens.
	tokenHandler := p.TokenHandler()
	sink := &floodSink{h: http.Header{}}
	anon := httptest.NewRequest("GET", "/token", nil)
	anon.Header.Set("Sec-Fetch-Site", "same-origin")
	for i := range n {
		clear(sink.h)
		if i%2 == 0 {
			tokenHandler.ServeHTTP(sink, anon)
		} else if _, err := p.OneTimeToken(sink, anon); err != nil {
			t.Fatal(err)
		}
	}
	if got, bound := store.Len(), 65536+65536/4; got > bound || got < 65536/4 {
		t.Errorf("store holds %d entries after the flood, want the anonymous partition full and at most %d in all", got, bound)
	}

	ok := p.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	send := func(path string, header map[string]string) int {
		r := alice("POST", path)
		r.Header.Set("Cookie", "sid=alice-session; "+tokenCookie.Name+"="+tokenCookie.Value)
		for k, v := range header {
			r.Header.Set(k, v)
		}
		w := httptest.NewRecorder()
		ok.ServeHTTP(w, r)
		if w.Code != http.StatusNoContent {
			t.Logf("POST %s: %d %s", path, w.Code, strings.TrimSpace(w.Body.String()))
		}
		return w.Code
	}
	if code := send("/once", map[string]string{"X-Forgeproof-Token": once}); code != http.StatusNoContent {
		t.Errorf("alice's one-time token after the flood: %d, want it accepted", code)
	}
	if code := send("/transfer", map[string]string{"X-Forgeproof-Token": pageToken, "X-Reauth-Proof": proof}); code != http.StatusNoContent {
		t.Errorf("alice's synchronizer token and proof after the flood: %d, want them accepted", code)
	}
}
