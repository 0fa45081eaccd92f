package redisstore_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/forgeproof/forgeproof"
	"github.com/forgeproof/forgeproof/redisstore"
)

// TestStepUpWithRedis runs the step-up flow on two instances that share a
// real redis-server: a proof granted by one is accepted once by the other,
// a replay is recognized by either, and an outage of a single Redis fails
// closed.
func TestStepUpWithRedis(t *testing.T) {
	forEachDeployment(t, testStepUp)
}

func testStepUp(t *testing.T, d deployment) {
	newInstance := func() (*forgeproof.Protection, http.Handler) {
		p, err := forgeproof.New(forgeproof.Config{
			Store:         open(t, d, redisstore.Options{Prefix: "stepup-test:"}),
			SessionCookie: "sid",
			Tokens:        forgeproof.TokensOff,
			ReauthURL:     "/reauth",
			Routes:        []forgeproof.Route{{Pattern: "POST /api/transfer", ReauthMaxAge: time.Minute}},
		})
		if err != nil {
			t.Fatal(err)
		}
		return p, p.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte("done"))
		}))
	}
	a, ha := newInstance()
	_, hb := newInstance()

	request := func(proof string) *http.Request {
		r := httptest.NewRequest("POST", "http://bank.test/api/transfer", strings.NewReader(`{"amount":5000}`))
		r.Header.Set("Sec-Fetch-Site", "same-origin")
		r.Header.Set("Content-Type", "application/json")
		r.AddCookie(&http.Cookie{Name: "sid", Value: "session-1"})
		if proof != "" {
			r.Header.Set("X-Reauth-Proof", proof)
		}
		return r
	}
	serve := func(h http.Handler, proof string) (int, string) {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, request(proof))
		var body struct {
			Reason string `json:"reason"`
		}
		json.Unmarshal(w.Body.Bytes(), &body)
		return w.Code, body.Reason
	}

	if code, reason := serve(hb, ""); code != 401 || reason != "reauth-required" {
		t.Fatalf("no proof: %d %s, want 401 reauth-required", code, reason)
	}
	proof, err := a.GrantReauth(httptest.NewRecorder(), request(""), "POST", "/api/transfer")
	if err != nil {
		t.Fatal(err)
	}
	if code, reason := serve(hb, proof); code != 200 {
		t.Fatalf("proof from the other instance: %d %s, want 200", code, reason)
	}
	for name, h := range map[string]http.Handler{"granting instance": ha, "accepting instance": hb} {
		if code, reason := serve(h, proof); code != 401 || reason != "reauth-reused" {
			t.Errorf("replay on the %s: %d %s, want 401 reauth-reused", name, code, reason)
		}
	}

	proof, err = a.GrantReauth(httptest.NewRecorder(), request(""), "POST", "/api/transfer")
	if err != nil {
		t.Fatal(err)
	}
	srv := d.server
	if srv == nil {
		return
	}
	srv.Stop()
	if code, reason := serve(hb, proof); code != 503 || reason != "store-unavailable" {
		t.Errorf("during the outage: %d %s, want 503 store-unavailable", code, reason)
	}
	if _, err := a.GrantReauth(httptest.NewRecorder(), request(""), "POST", "/api/transfer"); err == nil {
		t.Error("GrantReauth during the outage returned a proof")
	}
	srv.Start()
	proof, err = a.GrantReauth(httptest.NewRecorder(), request(""), "POST", "/api/transfer")
	if err != nil {
		t.Fatalf("after the outage: %v", err)
	}
	if code, reason := serve(hb, proof); code != 200 {
		t.Errorf("after the outage: %d %s, want 200", code, reason)
	}
}
