package redisstore_test

import (
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/forgeproof/forgeproof"
	"github.com/forgeproof/forgeproof/redisstore"
)

// A flood of anonymous token requests adds at most MaxAnonymousKeys+1 keys
// to Redis, and a signed-in user's one-time token, synchronizer token and
// re-authentication proof survive it.
//
// On a Cluster, the anonymous entries and their index share one hash slot,
// so the script that keeps the bound runs there too.
func TestAnonymousFloodBoundedInRedis(t *testing.T) {
	forEachDeployment(t, testAnonymousFloodBounded)
}

func testAnonymousFloodBounded(t *testing.T, d deployment) {
	const (
		bound = 500
		flood = 5000 // ten times the bound
	)
	ctx := context.Background()
	raw := d.raw
	store := open(t, d, redisstore.Options{Prefix: "app:", MaxAnonymousKeys: bound})
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
	signedIn := raw.DBSize(ctx).Val()

	tokenHandler := p.TokenHandler()
	anon := httptest.NewRequest("GET", "/token", nil)
	anon.Header.Set("Sec-Fetch-Site", "same-origin")
	for i := range flood {
		w := httptest.NewRecorder()
		if i%2 == 0 {
			tokenHandler.ServeHTTP(w, anon)
			if w.Code != http.StatusOK {
				t.Fatalf("token handler: %d %s", w.Code, w.Body)
			}
		} else if _, err := p.OneTimeToken(w, anon); err != nil {
			t.Fatal(err)
		}
	}
	keys := raw.DBSize(ctx).Val()
	t.Logf("%d keys after %d anonymous token requests (%d of the signed-in user)", keys, flood, signedIn)
	if keys > signedIn+bound+1 {
		t.Errorf("%d keys in Redis, want at most %d: the signed-in user's %d, %d anonymous entries and their index", keys, signedIn+bound+1, signedIn, bound)
	}
	if anonKeys := matchingKeys(t, d, "app:{forgeproof:anon}:*"); len(anonKeys) < bound {
		t.Errorf("%d anonymous keys: the flood did not fill the partition, so the test proves nothing", len(anonKeys))
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

	// The anonymous entries still work: the newest visitor's token.
	w := httptest.NewRecorder()
	tok, err := p.OneTimeToken(w, anon)
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("POST", "/once", nil)
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	r.Header.Set("X-Forgeproof-Token", tok)
	for _, c := range w.Result().Cookies() {
		r.AddCookie(c)
	}
	w = httptest.NewRecorder()
	ok.ServeHTTP(w, r)
	if w.Code != http.StatusNoContent {
		t.Errorf("an anonymous one-time token: %d %s, want it accepted", w.Code, w.Body)
	}
	if ttl := raw.PTTL(ctx, "app:{forgeproof:anon}:index").Val(); ttl <= 0 {
		t.Errorf("the anonymous index has no expiry (PTTL %v)", ttl)
	}
}
