package gateway_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/forgeproof/forgeproof"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/gateway"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/identity"
)

// idp is an identity provider on loopback: it publishes its key set and
// signs tokens.
type idp struct {
	key *ecdsa.PrivateKey
	srv *httptest.Server
}

func newIDP(t *testing.T) *idp {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p := &idp{key: key}
	set, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "ES256", Use: "sig"}}})
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/jwk-set+json")
		w.Write(set)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

// token signs claims for roles, valid for ttl (negative: expired).
func (p *idp) token(t *testing.T, ttl time.Duration, roles ...string) string {
	t.Helper()
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: p.key}, (&jose.SignerOptions{}).WithHeader("kid", "k1"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(s).Claims(map[string]any{
		"iss": "https://idp.test", "aud": "bank", "sub": "alice",
		"exp": time.Now().Add(ttl).Unix(), "roles": roles,
	}).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// confused signs an HS256 token with the provider's public key as the
// HMAC secret: the algorithm confusion attack.
func (p *idp) confused(t *testing.T) string {
	der, _ := x509.MarshalPKIXPublicKey(&p.key.PublicKey)
	secret := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: secret}, (&jose.SignerOptions{}).WithHeader("kid", "k1"))
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := jwt.Signed(s).Claims(map[string]any{"iss": "https://idp.test", "aud": "bank", "exp": time.Now().Add(time.Hour).Unix(), "roles": []string{"admin"}}).Serialize()
	return tok
}

func noneToken() string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"none"}`)) + "." + enc([]byte(`{"iss":"https://idp.test","aud":"bank","exp":9999999999,"roles":["admin"]}`)) + "."
}

// counting is a backend that counts the requests it receives by path.
type counting struct {
	mu   sync.Mutex
	hits map[string]int
}

func (c *counting) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	c.hits[r.URL.Path]++
	c.mu.Unlock()
	echoHandler(w, r)
}

func (c *counting) total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, v := range c.hits {
		n += v
	}
	return n
}

// TestRolesJWT runs requests through the gateway to a real backend, with
// roles from tokens verified against a key set served on loopback, and
// checks that a refused request never reaches the backend.
func TestRolesJWT(t *testing.T) {
	p := newIDP(t)
	var mu sync.Mutex
	var events []forgeproof.Event
	backend := &counting{hits: map[string]int{}}
	e := start(t, gateway.Options{
		Protection: forgeproof.Config{
			Tokens: forgeproof.TokensOff,
			OnDecision: func(ev forgeproof.Event) {
				mu.Lock()
				events = append(events, ev)
				mu.Unlock()
			},
		},
		Identity: &identity.Options{JWT: &identity.JWT{
			JWKSURL: p.srv.URL + "/jwks", HTTPClient: p.srv.Client(),
			Issuer: "https://idp.test", Audience: "bank",
		}},
		Routes: []gateway.Route{
			{Pattern: "/admin/", Roles: []string{"admin"}},
			{Pattern: "POST /api/transfer", Roles: []string{"teller", "admin"}},
			{Pattern: "/soft/", Roles: []string{"admin"}, Protect: forgeproof.Route{ReportOnly: true}},
		},
	}, backend)

	admin := p.token(t, time.Hour, "admin")
	teller := p.token(t, time.Hour, "teller")
	tests := []struct {
		name, method, path, site, token string
		status                          int
		reason, challenge               string
	}{
		{"no token", "GET", "/admin/users", "", "", 401, "unauthenticated", `Bearer realm="forgeproof"`},
		{"expired token", "GET", "/admin/users", "", p.token(t, -time.Hour, "admin"), 401, "unauthenticated", `Bearer realm="forgeproof", error="invalid_token"`},
		{"alg none", "GET", "/admin/users", "", noneToken(), 401, "unauthenticated", `Bearer realm="forgeproof", error="invalid_token"`},
		{"alg confusion", "GET", "/admin/users", "", p.confused(t), 401, "unauthenticated", `Bearer realm="forgeproof", error="invalid_token"`},
		{"missing role", "GET", "/admin/users", "", teller, 403, "role-forbidden", ""},
		{"missing role, path in another case", "GET", "/ADMIN/users", "", teller, 403, "role-forbidden", ""},
		{"missing role, dot segment", "GET", "/x/../admin/users", "", teller, 403, "role-forbidden", ""},
		{"no role at all", "GET", "/admin/users", "", p.token(t, time.Hour), 403, "role-forbidden", ""},
		{"right role", "GET", "/admin/users", "", admin, 200, "", ""},
		{"one of the roles", "POST", "/api/transfer", "same-origin", teller, 200, "", ""},
		{"route of another method", "GET", "/api/transfer", "", "", 200, "", ""},
		{"unsafe, no token", "POST", "/api/transfer", "same-origin", "", 401, "unauthenticated", `Bearer realm="forgeproof"`},
		{"right role, cross-site", "POST", "/admin/users", "cross-site", admin, 403, "sec-fetch-site-cross-site", ""},
		{"public route", "GET", "/public", "", "", 200, "", ""},
		{"report-only route", "GET", "/soft/x", "", "", 200, "", ""},
		{"CORS preflight", "OPTIONS", "/admin/users", "preflight", "", 200, "", ""},
		{"OPTIONS that is no preflight", "OPTIONS", "/admin/users", "", "", 401, "unauthenticated", `Bearer realm="forgeproof"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := backend.total()
			site := tc.site
			if site == "preflight" {
				site = ""
			}
			r := e.req(tc.method, tc.path, site, nil)
			if tc.site == "preflight" {
				r.Header.Set("Origin", "https://app.example")
				r.Header.Set("Access-Control-Request-Method", "DELETE")
			}
			if tc.token != "" {
				r.Header.Set("Authorization", "Bearer "+tc.token)
			}
			resp, body := e.do(r)
			reached := backend.total() > before
			if tc.status != 200 {
				wantProblem(t, resp, body, tc.status, tc.reason)
				if reached {
					t.Errorf("the backend was called for a refused request")
				}
			} else if resp.StatusCode != 200 || !reached {
				t.Fatalf("status %d (backend reached: %v), want 200 from the backend; body %s", resp.StatusCode, reached, body)
			}
			if got := resp.Header.Get("WWW-Authenticate"); got != tc.challenge {
				t.Errorf("WWW-Authenticate %q, want %q", got, tc.challenge)
			}
		})
	}

	// Every refusal was reported, the report-only one included; no log
	// line holds a token.
	mu.Lock()
	defer mu.Unlock()
	count := map[string]int{}
	for _, ev := range events {
		if ev.Decision == forgeproof.Denied {
			key := ev.Reason.String()
			if ev.ReportOnly {
				key += "/report-only"
			}
			count[key]++
		}
	}
	want := map[string]int{"unauthenticated": 6, "role-forbidden": 4, "unauthenticated/report-only": 1, "sec-fetch-site-cross-site": 1}
	for k, n := range want {
		if count[k] != n {
			t.Errorf("%d %s events, want %d (all: %v)", count[k], k, n, count)
		}
	}
	for _, tok := range []string{admin, teller} {
		if strings.Contains(e.logs.String(), tok) {
			t.Error("a log line holds a token")
		}
	}
}

// TestRolesFromProxyHeader checks roles set by an authenticating proxy:
// believed from a trusted proxy, refused from any other peer, and never
// passed to the backend from an untrusted one.
func TestRolesFromProxyHeader(t *testing.T) {
	tests := []struct {
		name    string
		proxies []string
		path    string
		roles   string
		status  int
		reason  string
	}{
		{"trusted proxy, role held", []string{"127.0.0.0/8"}, "/admin/x", "auditor, admin", 200, ""},
		{"trusted proxy, role missing", []string{"127.0.0.0/8"}, "/admin/x", "auditor", 403, "role-forbidden"},
		{"trusted proxy, no header", []string{"127.0.0.0/8"}, "/admin/x", "", 401, "unauthenticated"},
		{"untrusted peer claims the role", []string{"10.0.0.0/8"}, "/admin/x", "admin", 401, "unauthenticated"},
		{"untrusted peer, open route", []string{"10.0.0.0/8"}, "/open", "admin", 200, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			backend := &counting{hits: map[string]int{}}
			e := start(t, gateway.Options{
				Protection: forgeproof.Config{TrustedProxies: tc.proxies},
				Identity:   &identity.Options{Header: &identity.Header{Name: "X-Auth-Roles"}},
				Routes:     []gateway.Route{{Pattern: "/admin/", Roles: []string{"admin"}}},
			}, backend)
			r := e.req("GET", tc.path, "", nil)
			if tc.roles != "" {
				r.Header.Set("X-Auth-Roles", tc.roles)
			}
			resp, body := e.do(r)
			if tc.status != 200 {
				wantProblem(t, resp, body, tc.status, tc.reason)
				if backend.total() != 0 {
					t.Error("the backend was called for a refused request")
				}
				if resp.Header.Get("WWW-Authenticate") != "" {
					t.Error("a Bearer challenge for roles that come from a proxy")
				}
				return
			}
			if resp.StatusCode != 200 {
				t.Fatalf("status %d; body %s", resp.StatusCode, body)
			}
			got := decodeEcho(t, body).Header.Get("X-Auth-Roles")
			trusted := tc.proxies[0] == "127.0.0.0/8"
			if trusted && got != tc.roles || !trusted && got != "" {
				t.Errorf("the backend saw X-Auth-Roles %q", got)
			}
		})
	}
}

// TestRolesNeedIdentity checks that New refuses roles without a source of
// identities, and bad role names.
func TestRolesNeedIdentity(t *testing.T) {
	up := []gateway.Upstream{{URL: mustURL(t, "http://127.0.0.1:1")}}
	for name, opts := range map[string]gateway.Options{
		"no identity": {Upstreams: up, Routes: []gateway.Route{{Pattern: "/a/", Roles: []string{"admin"}}}},
		"bad role": {Upstreams: up, Identity: &identity.Options{Header: &identity.Header{Name: "X-Roles"}},
			Routes: []gateway.Route{{Pattern: "/a/", Roles: []string{"a b"}}}},
	} {
		if _, err := gateway.New(opts); err == nil {
			t.Errorf("%s: New accepted it", name)
		}
	}
}
