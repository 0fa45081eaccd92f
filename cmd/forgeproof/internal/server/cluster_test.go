package server_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/forgeproof/forgeproof/internal/testenv"
)

// TestTwoInstancesShareRedisCluster runs two gateways whose store is a real
// Redis Cluster, named by a redis+cluster:// URL: /readyz reports the store,
// and a synchronizer token issued by one is accepted by the other, once the
// way an application would use it.
func TestTwoInstancesShareRedisCluster(t *testing.T) {
	c := testenv.StartCluster(t, 0)
	b := newBackend(t, nil)
	conf := baseConfig(b.URL, "store: redis+cluster://"+c.Addrs[0]+"?addr="+strings.Join(c.Addrs[1:], "&addr=")+"\n"+
		"protection: {tokens: synchronizer, session_cookie: sid, keys: [c2VjcmV0LWtleS1mb3ItdGVzdHMtb25seS0wMTIzNDU2Nzg5YWJjZGVm]}\n")
	one, two := start(t, conf), start(t, conf)
	for _, g := range []*gateway{one, two} {
		if resp, body := do(t, http.DefaultClient, mustRequest("GET", g.adminURL+"/readyz")); resp.StatusCode != 200 || !strings.Contains(body, "store: ok") {
			t.Fatalf("/readyz = %d %s", resp.StatusCode, body)
		}
	}

	// Sessions spread the tokens over the cluster's slots.
	for _, session := range []string{"session-1", "session-2", "session-3", "session-4", "session-5", "session-6"} {
		req := mustRequest("GET", one.url+"/.forgeproof/token")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		req.Header.Set("Cookie", "sid="+session)
		resp, body := do(t, http.DefaultClient, req)
		var tok struct{ Token string }
		if err := json.Unmarshal([]byte(body), &tok); err != nil || tok.Token == "" {
			t.Fatalf("token from the first instance: %d %s", resp.StatusCode, body)
		}
		cookies := "sid=" + session
		for _, c := range resp.Cookies() {
			cookies += "; " + c.Name + "=" + c.Value
		}
		send := func(cookies string) (int, string) {
			req, _ := http.NewRequest("POST", two.url+"/api/transfer", strings.NewReader("{}"))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Origin", two.url)
			req.Header.Set("X-Forgeproof-Token", tok.Token)
			req.Header.Set("Cookie", cookies)
			resp, body := do(t, http.DefaultClient, req)
			return resp.StatusCode, body
		}
		if code, body := send(cookies); code != 200 {
			t.Fatalf("%s: the second instance refused the first's token: %d %s", session, code, body)
		}
		if code, body := send(strings.Replace(cookies, session, "other-session", 1)); code != 403 {
			t.Fatalf("%s: the token was accepted in another session: %d %s", session, code, body)
		}
	}
}
