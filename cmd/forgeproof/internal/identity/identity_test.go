package identity_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/identity"
)

const (
	issuer   = "https://idp.test"
	audience = "forgeproof-api"
)

var hmacSecret = []byte("0123456789abcdef0123456789abcdef-test-secret")

// keys are the signing keys of the tests, made once.
type keys struct {
	rsa   *rsa.PrivateKey
	ec    *ecdsa.PrivateKey
	other *rsa.PrivateKey // a key that no key set holds
}

var testKeys = func() keys {
	r, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	o, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	e, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	return keys{rsa: r, ec: e, other: o}
}()

// jwks returns the public key set of the tests: the RSA key as "rsa-1"
// and the ECDSA key as "ec-1".
func jwks(t testing.TB) []byte {
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: &testKeys.rsa.PublicKey, KeyID: "rsa-1", Algorithm: "RS256", Use: "sig"},
		{Key: &testKeys.ec.PublicKey, KeyID: "ec-1", Algorithm: "ES256", Use: "sig"},
	}}
	b, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// claims are the claims of a good token; a test changes some.
func claims() map[string]any {
	now := time.Now()
	return map[string]any{
		"iss":          issuer,
		"aud":          []string{audience, "other"},
		"sub":          "alice",
		"exp":          now.Add(10 * time.Minute).Unix(),
		"iat":          now.Unix(),
		"roles":        []string{"admin", "auditor"},
		"realm_access": map[string]any{"roles": []string{"teller"}},
		"scope":        "read write",
	}
}

// sign returns a compact JWT of c, signed with key by alg, its header
// naming kid.
func sign(t testing.TB, alg jose.SignatureAlgorithm, key any, kid string, c map[string]any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if kid != "" {
		opts = opts.WithHeader("kid", kid)
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(s).Claims(c).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// unsigned returns a token with alg "none", which no verifier may accept.
func unsigned(c map[string]any) string {
	h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`))
	b, _ := json.Marshal(c)
	return h + "." + base64.RawURLEncoding.EncodeToString(b) + "."
}

func with(c map[string]any, k string, v any) map[string]any {
	if v == nil {
		delete(c, k)
	} else {
		c[k] = v
	}
	return c
}

func rsaPublicPEM(t testing.TB) []byte {
	der, err := x509.MarshalPKIXPublicKey(&testKeys.rsa.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

func bearer(tok string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }
}

// TestJWT checks tokens against verifiers of each kind of key: the roles
// of a good token, and the refusal of every bad one.
func TestJWT(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "jwks.json")
	if err := os.WriteFile(file, jwks(t), 0o644); err != nil {
		t.Fatal(err)
	}
	var fetches atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Write(jwks(t))
	}))
	defer srv.Close()

	verifiers := map[string]identity.JWT{
		"hmac":      {HMACSecret: hmacSecret},
		"jwks-file": {JWKSFile: file},
		"jwks-url":  {JWKSURL: srv.URL + "/jwks.json", HTTPClient: srv.Client()},
		"cookie":    {HMACSecret: hmacSecret, Cookie: "access_token"},
		"keycloak":  {JWKSFile: file, RolesClaim: "realm_access.roles"},
		"scope":     {HMACSecret: hmacSecret, RolesClaim: "scope"},
	}
	hs := func(c map[string]any) string { return sign(t, jose.HS256, hmacSecret, "", c) }
	rs := func(c map[string]any) string { return sign(t, jose.RS256, testKeys.rsa, "rsa-1", c) }
	es := func(c map[string]any) string { return sign(t, jose.ES256, testKeys.ec, "ec-1", c) }
	past := time.Now().Add(-time.Hour).Unix()

	tests := []struct {
		name     string
		verifier string
		req      func(*http.Request)
		want     []string
		err      error
	}{
		{"hmac token", "hmac", bearer(hs(claims())), []string{"admin", "auditor"}, nil},
		{"rsa token from file", "jwks-file", bearer(rs(claims())), []string{"admin", "auditor"}, nil},
		{"ecdsa token from file", "jwks-file", bearer(es(claims())), []string{"admin", "auditor"}, nil},
		{"rsa token from url", "jwks-url", bearer(rs(claims())), []string{"admin", "auditor"}, nil},
		{"ecdsa token from url", "jwks-url", bearer(es(claims())), []string{"admin", "auditor"}, nil},
		{"nested roles claim", "keycloak", bearer(rs(claims())), []string{"teller"}, nil},
		{"space-separated roles claim", "scope", bearer(hs(claims())), []string{"read", "write"}, nil},
		{"no roles claim", "hmac", bearer(hs(with(claims(), "roles", nil))), nil, nil},
		{"roles claim of another type", "hmac", bearer(hs(with(claims(), "roles", 7))), nil, nil},
		{"audience as a string", "hmac", bearer(hs(with(claims(), "aud", audience))), []string{"admin", "auditor"}, nil},
		{"expiry within the leeway", "hmac", bearer(hs(with(claims(), "exp", time.Now().Add(-10*time.Second).Unix()))), []string{"admin", "auditor"}, nil},
		{"token in the cookie", "cookie", func(r *http.Request) { r.AddCookie(&http.Cookie{Name: "access_token", Value: hs(claims())}) }, []string{"admin", "auditor"}, nil},
		{"bearer scheme in lower case", "hmac", func(r *http.Request) { r.Header.Set("Authorization", "bearer "+hs(claims())) }, []string{"admin", "auditor"}, nil},

		{"no credential", "hmac", func(*http.Request) {}, nil, identity.ErrNoCredential},
		{"basic credential", "hmac", func(r *http.Request) { r.SetBasicAuth("alice", "secret") }, nil, identity.ErrNoCredential},
		{"cookie not read without the option", "hmac", func(r *http.Request) { r.AddCookie(&http.Cookie{Name: "access_token", Value: hs(claims())}) }, nil, identity.ErrNoCredential},
		{"two cookies", "cookie", func(r *http.Request) {
			r.AddCookie(&http.Cookie{Name: "access_token", Value: hs(claims())})
			r.AddCookie(&http.Cookie{Name: "access_token", Value: "x"})
		}, nil, identity.ErrInvalid},
		{"two authorization headers", "hmac", func(r *http.Request) {
			r.Header.Add("Authorization", "Bearer "+hs(claims()))
			r.Header.Add("Authorization", "Bearer "+hs(claims()))
		}, nil, identity.ErrInvalid},
		{"garbage", "hmac", bearer("not.a.token"), nil, identity.ErrInvalid},
		{"empty bearer", "hmac", bearer(""), nil, identity.ErrInvalid},
		{"oversized token", "hmac", bearer(strings.Repeat("a", 20<<10)), nil, identity.ErrInvalid},
		{"expired", "hmac", bearer(hs(with(claims(), "exp", past))), nil, identity.ErrInvalid},
		{"expired rsa", "jwks-url", bearer(rs(with(claims(), "exp", past))), nil, identity.ErrInvalid},
		{"no expiry", "hmac", bearer(hs(with(claims(), "exp", nil))), nil, identity.ErrInvalid},
		{"not yet valid", "hmac", bearer(hs(with(claims(), "nbf", time.Now().Add(time.Hour).Unix()))), nil, identity.ErrInvalid},
		{"wrong issuer", "hmac", bearer(hs(with(claims(), "iss", "https://evil.test"))), nil, identity.ErrInvalid},
		{"no issuer", "jwks-file", bearer(rs(with(claims(), "iss", nil))), nil, identity.ErrInvalid},
		{"wrong audience", "hmac", bearer(hs(with(claims(), "aud", "another-api"))), nil, identity.ErrInvalid},
		{"no audience", "jwks-url", bearer(es(with(claims(), "aud", nil))), nil, identity.ErrInvalid},
		{"alg none to hmac", "hmac", bearer(unsigned(claims())), nil, identity.ErrInvalid},
		{"alg none to key set", "jwks-file", bearer(unsigned(claims())), nil, identity.ErrInvalid},
		{"alg confusion: HS256 keyed with the RSA public key", "jwks-file", bearer(sign(t, jose.HS256, rsaPublicPEM(t), "rsa-1", claims())), nil, identity.ErrInvalid},
		{"alg confusion over the url", "jwks-url", bearer(sign(t, jose.HS256, rsaPublicPEM(t), "rsa-1", claims())), nil, identity.ErrInvalid},
		{"rsa token to the hmac verifier", "hmac", bearer(rs(claims())), nil, identity.ErrInvalid},
		{"wrong hmac secret", "hmac", bearer(sign(t, jose.HS256, []byte("another secret, 32 bytes or more!!"), "", claims())), nil, identity.ErrInvalid},
		{"unknown signing key", "jwks-file", bearer(sign(t, jose.RS256, testKeys.other, "rsa-1", claims())), nil, identity.ErrInvalid},
		{"unknown kid", "jwks-file", bearer(sign(t, jose.RS256, testKeys.rsa, "rsa-9", claims())), nil, identity.ErrInvalid},
		{"kid of a key of another type", "jwks-file", bearer(sign(t, jose.RS256, testKeys.rsa, "ec-1", claims())), nil, identity.ErrInvalid},
		{"algorithm not pinned", "jwks-file", bearer(sign(t, jose.RS512, testKeys.rsa, "rsa-1", claims())), nil, identity.ErrInvalid},
		{"tampered payload", "hmac", bearer(tamper(hs(claims()))), nil, identity.ErrInvalid},
	}
	built := map[string]*identity.Verifier{}
	for name, j := range verifiers {
		j.Issuer, j.Audience = issuer, audience
		v, err := identity.New(identity.Options{JWT: &j}, nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		built[name] = v
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/api/x", nil)
			tc.req(r)
			got, err := built[tc.verifier].Roles(r)
			if !errors.Is(err, tc.err) || (tc.err == nil && err != nil) {
				t.Fatalf("error %v, want %v", err, tc.err)
			}
			if !slices.Equal(got, tc.want) && !(len(got) == 0 && len(tc.want) == 0) {
				t.Errorf("roles %q, want %q", got, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), r.Header.Get("Authorization")) && r.Header.Get("Authorization") != "" {
				t.Errorf("the error quotes the token: %v", err)
			}
		})
	}
	if n := fetches.Load(); n != 1 {
		t.Errorf("the key set was fetched %d times, want once (cached)", n)
	}
}

// tamper changes the payload of a token and keeps its signature.
func tamper(tok string) string {
	parts := strings.Split(tok, ".")
	b, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var c map[string]any
	json.Unmarshal(b, &c)
	c["roles"] = []string{"superuser"}
	b, _ = json.Marshal(c)
	parts[1] = base64.RawURLEncoding.EncodeToString(b)
	return strings.Join(parts, ".")
}

// TestJWKSURLFailsClosed checks that a key set that cannot be fetched
// gives no identity, and that a key published later is picked up.
func TestJWKSURLFailsClosed(t *testing.T) {
	var up atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !up.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		w.Write(jwks(t))
	}))
	defer srv.Close()
	v, err := identity.New(identity.Options{JWT: &identity.JWT{
		JWKSURL: srv.URL, HTTPClient: srv.Client(), Issuer: issuer, Audience: audience,
	}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/", nil)
	bearer(sign(t, jose.RS256, testKeys.rsa, "rsa-1", claims()))(r)
	if _, err := v.Roles(r); !errors.Is(err, identity.ErrKeysUnavailable) {
		t.Fatalf("with the key set down: %v, want ErrKeysUnavailable", err)
	}
	up.Store(true)
	// The next fetch is at least ten seconds away: still refused.
	if _, err := v.Roles(r); !errors.Is(err, identity.ErrKeysUnavailable) {
		t.Fatalf("right after a failed fetch: %v, want ErrKeysUnavailable", err)
	}
}

// TestHeaderSource checks roles from an authenticating proxy's header:
// believed from a trusted proxy only.
func TestHeaderSource(t *testing.T) {
	trusted := func(r *http.Request) bool { return strings.HasPrefix(r.RemoteAddr, "10.0.0.1:") }
	v, err := identity.New(identity.Options{Header: &identity.Header{Name: "x-auth-roles"}}, trusted)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, peer string
		header     []string
		want       []string
		err        error
	}{
		{"trusted proxy", "10.0.0.1:4000", []string{"admin, auditor"}, []string{"admin", "auditor"}, nil},
		{"trusted proxy, two headers", "10.0.0.1:4000", []string{"admin", "teller auditor"}, []string{"admin", "teller", "auditor"}, nil},
		{"trusted proxy, no role", "10.0.0.1:4000", []string{""}, nil, nil},
		{"untrusted peer", "192.0.2.7:4000", []string{"admin"}, nil, identity.ErrInvalid},
		{"no header", "10.0.0.1:4000", nil, nil, identity.ErrNoCredential},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tc.peer
			for _, h := range tc.header {
				r.Header.Add("X-Auth-Roles", h)
			}
			got, err := v.Roles(r)
			if !errors.Is(err, tc.err) || (tc.err == nil && err != nil) {
				t.Fatalf("error %v, want %v", err, tc.err)
			}
			if !slices.Equal(got, tc.want) && !(len(got) == 0 && len(tc.want) == 0) {
				t.Errorf("roles %q, want %q", got, tc.want)
			}
		})
	}
}

// TestNewRefuses checks that a configuration that could accept forged
// tokens is refused, with a message naming the setting.
func TestNewRefuses(t *testing.T) {
	dir := t.TempDir()
	secretSet := filepath.Join(dir, "secret.json")
	os.WriteFile(secretSet, []byte(`{"keys":[{"kty":"oct","k":"c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA","kid":"s"}]}`), 0o644)
	tests := []struct {
		name string
		opts identity.Options
		want string
	}{
		{"no source", identity.Options{}, "exactly one source"},
		{"two sources", identity.Options{JWT: &identity.JWT{}, Header: &identity.Header{Name: "X-Roles"}}, "exactly one source"},
		{"no key", identity.Options{JWT: &identity.JWT{Issuer: issuer, Audience: audience}}, "exactly one of hmac_secret"},
		{"two keys", identity.Options{JWT: &identity.JWT{HMACSecret: hmacSecret, JWKSURL: "https://idp.test/jwks", Issuer: issuer, Audience: audience}}, "exactly one of hmac_secret"},
		{"short secret", identity.Options{JWT: &identity.JWT{HMACSecret: []byte("short"), Issuer: issuer, Audience: audience}}, "at least 32"},
		{"no issuer", identity.Options{JWT: &identity.JWT{HMACSecret: hmacSecret, Audience: audience}}, "issuer is required"},
		{"no audience", identity.Options{JWT: &identity.JWT{HMACSecret: hmacSecret, Issuer: issuer}}, "audience is required"},
		{"alg none", identity.Options{JWT: &identity.JWT{HMACSecret: hmacSecret, Issuer: issuer, Audience: audience, Algorithms: []string{"none"}}}, `"none" cannot be used`},
		{"hmac alg with a key set", identity.Options{JWT: &identity.JWT{JWKSURL: "https://idp.test/jwks", Issuer: issuer, Audience: audience, Algorithms: []string{"RS256", "HS256"}}}, `"HS256" cannot be used`},
		{"plain http key set", identity.Options{JWT: &identity.JWT{JWKSURL: "http://idp.test/jwks", Issuer: issuer, Audience: audience}}, "must be https"},
		{"symmetric key in the key set", identity.Options{JWT: &identity.JWT{JWKSFile: secretSet, Issuer: issuer, Audience: audience}}, "symmetric key"},
		{"bad claim path", identity.Options{JWT: &identity.JWT{HMACSecret: hmacSecret, Issuer: issuer, Audience: audience, RolesClaim: "a..b"}}, "empty segment"},
		{"huge leeway", identity.Options{JWT: &identity.JWT{HMACSecret: hmacSecret, Issuer: issuer, Audience: audience, Leeway: time.Hour}}, "out of range"},
		{"bad header name", identity.Options{Header: &identity.Header{Name: "X Roles"}}, "not a valid header name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := identity.New(tc.opts, func(*http.Request) bool { return false })
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New: %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// BenchmarkRoles measures the verification of one token per request, by
// kind of key: "miss" verifies the token (the first request with it, or
// the first after its cache entry lapsed; the figure includes forgetting
// it, one SHA-256), "hit" believes the cache, and "hit-parallel" does so
// from every CPU at once.
func BenchmarkRoles(b *testing.B) {
	file := filepath.Join(b.TempDir(), "jwks.json")
	if err := os.WriteFile(file, jwks(b), 0o644); err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		j    identity.JWT
		tok  string
	}{
		{"HS256", identity.JWT{HMACSecret: hmacSecret}, sign(b, jose.HS256, hmacSecret, "", claims())},
		{"ES256", identity.JWT{JWKSFile: file}, sign(b, jose.ES256, testKeys.ec, "ec-1", claims())},
		{"RS256", identity.JWT{JWKSFile: file}, sign(b, jose.RS256, testKeys.rsa, "rsa-1", claims())},
	} {
		bc.j.Issuer, bc.j.Audience = issuer, audience
		v, err := identity.New(identity.Options{JWT: &bc.j}, nil)
		if err != nil {
			b.Fatal(err)
		}
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Authorization", "Bearer "+bc.tok)
		b.Run(bc.name+"/miss", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				identity.Forget(v, bc.tok)
				if _, err := v.Roles(r); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(bc.name+"/hit", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Roles(r); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(bc.name+"/hit-parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				r := r.Clone(r.Context())
				for pb.Next() {
					if _, err := v.Roles(r); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
