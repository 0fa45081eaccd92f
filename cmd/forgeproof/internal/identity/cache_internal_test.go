package identity

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

var cacheSecret = []byte("0123456789abcdef0123456789abcdef-cache-test")

// hs256 signs c with cacheSecret, without go-jose, so that tests can make
// many tokens quickly.
func hs256(t testing.TB, c map[string]any) string {
	t.Helper()
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding
	s := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + enc.EncodeToString(b)
	m := hmac.New(sha256.New, cacheSecret)
	m.Write([]byte(s))
	return s + "." + enc.EncodeToString(m.Sum(nil))
}

// cached reports whether v believes raw from its cache, without
// verifying it.
func cached(v *Verifier, raw string) bool {
	k := keyOf(raw)
	e, ok := v.cache.get(&k)
	return ok && v.believe(e)
}

// cacheLen returns the number of entries of c.
func cacheLen(c *tokenCache) int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		n += len(s.cur) + len(s.old)
		s.mu.Unlock()
	}
	return n
}

// TestCacheLifetime checks, on a clock the test moves, that a verified
// token is believed from the cache only while a fresh verification would
// accept it without the leeway, and never past its exp or the cache's
// time limit.
func TestCacheLifetime(t *testing.T) {
	type step struct {
		at     time.Duration // since the token was made
		hit    bool          // believed from the cache before the call
		err    error         // of the call
		cached bool          // believed from the cache after the call
	}
	tests := []struct {
		name   string
		claims map[string]any // times are seconds from the start
		steps  []step
	}{
		{"believed until exp", map[string]any{"exp": 120}, []step{
			{0, false, nil, true},
			{119 * time.Second, true, nil, true},
			// At exp the cache no longer answers; verification
			// still accepts within the leeway, without caching.
			{120 * time.Second, false, nil, false},
			{150 * time.Second, false, nil, false},
			{151 * time.Second, false, ErrInvalid, false},
		}},
		{"believed for cacheTTL at most", map[string]any{"exp": 3600}, []step{
			{0, false, nil, true},
			{cacheTTL - time.Second, true, nil, true},
			{cacheTTL, false, nil, true}, // verified again, cached again
			{2*cacheTTL - time.Second, true, nil, true},
		}},
		{"in the exp leeway: not cached", map[string]any{"exp": -10}, []step{
			{0, false, nil, false},
			{0, false, nil, false},
			{21 * time.Second, false, ErrInvalid, false},
		}},
		{"nbf within the leeway: not cached before nbf", map[string]any{"exp": 600, "nbf": 10}, []step{
			{0, false, nil, false},
			{9 * time.Second, false, nil, false},
			{10 * time.Second, false, nil, true},
			{11 * time.Second, true, nil, true},
		}},
		{"iat within the leeway: not cached before iat", map[string]any{"exp": 600, "iat": 10}, []step{
			{0, false, nil, false},
			{10 * time.Second, false, nil, true},
		}},
		{"nbf beyond the leeway: refused, not cached", map[string]any{"exp": 600, "nbf": 60}, []step{
			{0, false, ErrInvalid, false},
			{60 * time.Second, false, nil, true},
		}},
		{"wrong issuer: never cached", map[string]any{"exp": 600, "iss": "https://evil.test"}, []step{
			{0, false, ErrInvalid, false},
			{0, false, ErrInvalid, false},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := New(Options{JWT: &JWT{HMACSecret: cacheSecret, Issuer: "iss", Audience: "aud"}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Unix(1_900_000_000, 0)
			now := start
			v.now = func() time.Time { return now }
			c := map[string]any{"iss": "iss", "aud": "aud", "roles": []string{"admin"}}
			for k, val := range tc.claims {
				if n, ok := val.(int); ok {
					val = start.Unix() + int64(n)
				}
				c[k] = val
			}
			raw := hs256(t, c)
			for i, s := range tc.steps {
				now = start.Add(s.at)
				if got := cached(v, raw); got != s.hit {
					t.Fatalf("step %d (+%s): cached before the call %v, want %v", i, s.at, got, s.hit)
				}
				roles, err := v.verify(raw)
				if !errors.Is(err, s.err) || (s.err == nil && err != nil) {
					t.Fatalf("step %d (+%s): error %v, want %v", i, s.at, err, s.err)
				}
				if err == nil && (len(roles) != 1 || roles[0] != "admin") {
					t.Fatalf("step %d (+%s): roles %q", i, s.at, roles)
				}
				if got := cached(v, raw); got != s.cached {
					t.Fatalf("step %d (+%s): cached %v, want %v", i, s.at, got, s.cached)
				}
			}
			if strings.Contains(tc.name, "never cached") && cacheLen(v.cache) != 0 {
				t.Errorf("a refused token left %d cache entries", cacheLen(v.cache))
			}
		})
	}
}

// TestCacheKeySetChange checks that a token verified with a key that a
// new key set no longer holds is refused, whether the set is fetched
// again at its refresh time or because a token names a new key, and that
// fetching the same set again keeps the cache.
func TestCacheKeySetChange(t *testing.T) {
	k1, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	k2, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	jwk := func(k *ecdsa.PrivateKey, kid string) jose.JSONWebKey {
		return jose.JSONWebKey{Key: &k.PublicKey, KeyID: kid, Algorithm: "ES256"}
	}
	type env struct {
		v        *Verifier
		publish  func(...jose.JSONWebKey)
		fetches  func() int
		advance  func(time.Duration)
		tok      func(*ecdsa.PrivateKey, string) string
		tok1     string // signed by k1, verified and cached
		mustFail func(step, raw string)
	}
	setup := func(t *testing.T) env {
		var mu sync.Mutex
		published := []jose.JSONWebKey{jwk(k1, "k1")}
		fetches := 0
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			defer mu.Unlock()
			fetches++
			json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: published})
		}))
		t.Cleanup(srv.Close)
		v, err := New(Options{JWT: &JWT{JWKSURL: srv.URL, HTTPClient: srv.Client(), JWKSRefresh: time.Minute, Issuer: "iss", Audience: "aud"},
			Logger: slog.New(slog.DiscardHandler)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		v.now = func() time.Time { return now }
		v.remote.now = v.now
		e := env{
			v: v,
			publish: func(keys ...jose.JSONWebKey) {
				mu.Lock()
				defer mu.Unlock()
				published = keys
			},
			fetches: func() int {
				mu.Lock()
				defer mu.Unlock()
				return fetches
			},
			advance: func(d time.Duration) { now = now.Add(d) },
			tok: func(key *ecdsa.PrivateKey, kid string) string {
				s, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key}, (&jose.SignerOptions{}).WithHeader("kid", kid))
				raw, _ := jwt.Signed(s).Claims(map[string]any{"iss": "iss", "aud": "aud", "exp": now.Add(time.Hour).Unix()}).Serialize()
				return raw
			},
			mustFail: func(step, raw string) {
				t.Helper()
				if _, err := v.verify(raw); !errors.Is(err, ErrInvalid) {
					t.Fatalf("%s: %v, want ErrInvalid", step, err)
				}
			},
		}
		e.tok1 = e.tok(k1, "k1")
		if _, err := v.verify(e.tok1); err != nil || !cached(v, e.tok1) || e.fetches() != 1 {
			t.Fatalf("first token: %v, cached %v, %d fetches; want it cached after one fetch", err, cached(v, e.tok1), e.fetches())
		}
		return e
	}

	t.Run("same set fetched again", func(t *testing.T) {
		e := setup(t)
		e.advance(jwksMinRefetch)
		e.mustFail("unknown kid", e.tok(k1, "k9")) // fetches the set again
		if n := e.fetches(); n != 2 {
			t.Fatalf("%d fetches, want 2", n)
		}
		if !cached(e.v, e.tok1) {
			t.Error("fetching an unchanged key set dropped the verifications made with it")
		}
	})
	t.Run("key dropped at refresh", func(t *testing.T) {
		e := setup(t)
		e.publish(jwk(k2, "k2"))
		e.advance(time.Minute) // JWKSRefresh
		if cached(e.v, e.tok1) {
			t.Fatal("a verification is believed while its key set is due for refresh")
		}
		e.mustFail("token of the dropped key", e.tok1)
		if n := e.fetches(); n != 2 {
			t.Fatalf("%d fetches, want 2", n)
		}
	})
	t.Run("key dropped, seen on a new kid", func(t *testing.T) {
		e := setup(t)
		e.publish(jwk(k2, "k2"))
		e.advance(jwksMinRefetch)
		if _, err := e.v.verify(e.tok(k2, "k2")); err != nil {
			t.Fatalf("token of the new key: %v", err)
		}
		if n := e.fetches(); n != 2 {
			t.Fatalf("%d fetches, want 2", n)
		}
		if cached(e.v, e.tok1) {
			t.Fatal("a verification made with a dropped key is still believed")
		}
		e.mustFail("token of the dropped key", e.tok1)
	})
}

// TestCacheBounded checks that a flood of distinct valid tokens, from
// several goroutines at once, leaves the cache within its bound and the
// newest tokens in it.
func TestCacheBounded(t *testing.T) {
	v, err := New(Options{JWT: &JWT{HMACSecret: cacheSecret, Issuer: "iss", Audience: "aud"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	exp := time.Now().Add(time.Hour).Unix()
	const workers, each = 4, cacheSize * 3 / 8
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				raw := hs256(t, map[string]any{"iss": "iss", "aud": "aud", "exp": exp, "jti": fmt.Sprint(w, "-", i)})
				if _, err := v.verify(raw); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if n := cacheLen(v.cache); n > cacheSize || n < cacheSize/2 {
		t.Errorf("%d entries after %d distinct tokens, want between %d and %d", n, workers*each, cacheSize/2, cacheSize)
	}
	raw := hs256(t, map[string]any{"iss": "iss", "aud": "aud", "exp": exp, "jti": "last"})
	if _, err := v.verify(raw); err != nil || !cached(v, raw) {
		t.Errorf("after the flood, a new token: %v, cached %v; want it cached", err, cached(v, raw))
	}
}

// TestNothingAboutTheTokenLogged checks that neither the log (at debug
// level) nor the errors of a verifier carry a token, a part of it, or the
// hash that keys the cache.
func TestNothingAboutTheTokenLogged(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	k1, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	var mu sync.Mutex
	down := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if down {
			http.Error(w, "down", http.StatusBadGateway)
			return
		}
		json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &k1.PublicKey, KeyID: "k1", Algorithm: "ES256"}}})
	}))
	defer srv.Close()
	v, err := New(Options{JWT: &JWT{JWKSURL: srv.URL, HTTPClient: srv.Client(), Issuer: "iss", Audience: "aud"}, Logger: log}, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	v.now = func() time.Time { return now }
	v.remote.now = v.now
	sign := func(c map[string]any) string {
		s, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: k1}, (&jose.SignerOptions{}).WithHeader("kid", "k1"))
		raw, _ := jwt.Signed(s).Claims(c).Serialize()
		return raw
	}
	good := sign(map[string]any{"iss": "iss", "aud": "aud", "exp": now.Add(time.Hour).Unix(), "roles": []string{"admin"}})
	toks := []string{
		good,
		good, // from the cache
		sign(map[string]any{"iss": "evil", "aud": "aud", "exp": now.Add(time.Hour).Unix()}),
		sign(map[string]any{"iss": "iss", "aud": "aud", "exp": now.Add(-time.Hour).Unix()}),
		good[:len(good)-4] + "AAAA",
	}
	var errs []string
	for _, raw := range toks {
		if _, err := v.verify(raw); err != nil {
			errs = append(errs, err.Error())
		}
	}
	// The key set goes down and stale: failures are logged.
	mu.Lock()
	down = true
	mu.Unlock()
	now = now.Add(DefaultJWKSRefresh + jwksMaxStale)
	for _, raw := range toks {
		if _, err := v.verify(raw); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if !strings.Contains(logs.String(), "could not be fetched") {
		t.Fatalf("the key set failure was not logged: %s", logs.String())
	}
	out := logs.String() + "\n" + strings.Join(errs, "\n")
	for _, raw := range toks {
		sum := sha256.Sum256([]byte(raw))
		parts := strings.Split(raw, ".")
		for _, s := range append(parts[1:], hex.EncodeToString(sum[:]), base64.RawURLEncoding.EncodeToString(sum[:]), base64.StdEncoding.EncodeToString(sum[:])) {
			if len(s) >= 16 && strings.Contains(out, s) {
				t.Errorf("the log or an error carries part of a token: %q", s)
			}
		}
	}
}
