package server_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/monitor"
)

// TestRolesEndToEnd runs "forgeproof serve" with roles from HMAC-signed
// tokens in front of a real backend: refusals never reach the backend,
// and they are logged (without the token), counted in the metrics and
// shown on the dashboard under their reasons.
func TestRolesEndToEnd(t *testing.T) {
	const secret = "a-shared-secret-of-at-least-32-bytes-for-tests"
	t.Setenv("FORGEPROOF_TEST_JWT_SECRET", secret)
	sign := func(roles ...string) string {
		s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: []byte(secret)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := jwt.Signed(s).Claims(map[string]any{
			"iss": "https://idp.test", "aud": "bank", "exp": time.Now().Add(time.Hour).Unix(), "roles": roles,
		}).Serialize()
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	b := newBackend(t, nil)
	g := start(t, baseConfig(b.URL, `identity:
  jwt:
    hmac_secret: {env: FORGEPROOF_TEST_JWT_SECRET}
    issuer: https://idp.test
    audience: bank
routes:
  - pattern: /api/admin/
    roles: [admin]
`))
	teller, admin := sign("teller"), sign("admin")
	for _, tc := range []struct {
		token  string
		status int
	}{{"", 401}, {teller, 403}, {admin, 200}} {
		req := mustRequest("GET", g.url+"/api/admin/users")
		if tc.token != "" {
			req.Header.Set("Authorization", "Bearer "+tc.token)
		}
		if resp, body := do(t, http.DefaultClient, req); resp.StatusCode != tc.status {
			t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
		}
	}
	if got := b.requests(); len(got) != 1 {
		t.Errorf("the backend received %v, want only the admin's request", got)
	}

	_, metrics := do(t, http.DefaultClient, mustRequest("GET", g.adminURL+"/metrics"))
	for _, want := range []string{
		`forgeproof_requests_total{decision="deny",reason="unauthenticated"} 1`,
		`forgeproof_requests_total{decision="deny",reason="role-forbidden"} 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s:\n%s", want, grep(metrics, "forgeproof_requests_total{decision=\"deny\""))
		}
	}
	_, body := do(t, http.DefaultClient, mustRequest("GET", g.adminURL+"/dashboard/data.json"))
	var s monitor.Snapshot
	if err := json.Unmarshal([]byte(body), &s); err != nil {
		t.Fatal(err)
	}
	for _, reason := range []string{"unauthenticated", "role-forbidden"} {
		if sum(s.ByReason[reason]) != 1 {
			t.Errorf("dashboard data: %s %v, want one refusal", reason, s.ByReason[reason])
		}
	}
	logs := g.log.String()
	if !strings.Contains(logs, `"reason":"role-forbidden"`) || !strings.Contains(logs, `"reason":"unauthenticated"`) {
		t.Errorf("no refusal log lines:\n%s", logs)
	}
	for _, tok := range []string{teller, admin, secret} {
		if strings.Contains(logs, tok) {
			t.Error("the log holds a token or the secret")
		}
	}
}

func sum(xs []uint32) int {
	n := 0
	for _, x := range xs {
		n += int(x)
	}
	return n
}
