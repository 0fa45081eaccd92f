package identity

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// TestJWKSRotationAndStaleness checks the key set cache against a real
// server on loopback: a key published later is fetched when a token names
// it, a set is refreshed after its time, the last good set serves while
// the server is down, and nothing does once it is too old.
func TestJWKSRotationAndStaleness(t *testing.T) {
	k1, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	k2, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	var mu sync.Mutex
	published := []jose.JSONWebKey{{Key: &k1.PublicKey, KeyID: "k1", Algorithm: "ES256"}}
	down, fetches := false, 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		fetches++
		if down {
			http.Error(w, "down", http.StatusBadGateway)
			return
		}
		json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: published})
	}))
	defer srv.Close()
	v, err := New(Options{JWT: &JWT{JWKSURL: srv.URL, HTTPClient: srv.Client(), Issuer: "iss", Audience: "aud"},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	clock := func() time.Time { return now }
	v.now, v.remote.now = clock, clock
	tok := func(key *ecdsa.PrivateKey, kid string) string {
		s, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key}, (&jose.SignerOptions{}).WithHeader("kid", kid))
		raw, _ := jwt.Signed(s).Claims(map[string]any{"iss": "iss", "aud": "aud", "exp": now.Add(24 * time.Hour).Unix()}).Serialize()
		return raw
	}
	check := func(step, raw string, want error, wantFetches int) {
		t.Helper()
		_, err := v.verify(raw)
		if (want == nil) != (err == nil) || (want != nil && !errors.Is(err, want)) {
			t.Fatalf("%s: %v, want %v", step, err, want)
		}
		mu.Lock()
		defer mu.Unlock()
		if fetches != wantFetches {
			t.Fatalf("%s: %d fetches, want %d", step, fetches, wantFetches)
		}
	}
	check("first token", tok(k1, "k1"), nil, 1)
	check("cached", tok(k1, "k1"), nil, 1)

	// A new key is published; a token naming it is verified once the
	// set is fetched again, at most every minRefetch.
	mu.Lock()
	published = append(published, jose.JSONWebKey{Key: &k2.PublicKey, KeyID: "k2", Algorithm: "ES256"})
	mu.Unlock()
	check("new kid, too soon to fetch", tok(k2, "k2"), ErrInvalid, 1)
	now = now.Add(jwksMinRefetch)
	check("new kid", tok(k2, "k2"), nil, 2)

	// Refreshed after its time; while the server is down, the last set
	// serves, then nothing.
	mu.Lock()
	down = true
	mu.Unlock()
	now = now.Add(DefaultJWKSRefresh)
	check("stale, server down", tok(k1, "k1"), nil, 3)
	now = now.Add(jwksMaxStale)
	check("too stale", tok(k1, "k1"), ErrKeysUnavailable, 4)
	check("too stale, no refetch yet", tok(k1, "k1"), ErrKeysUnavailable, 4)
}
