package gateway_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/forgeproof/forgeproof"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/bank"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/gateway"
)

// TestStepUpThroughGateway runs the demo bank, unprotected and unchanged,
// behind the gateway: a large transfer needs a confirmation that the bank
// checks (its password) and the gateway turns into a single-use proof.
func TestStepUpThroughGateway(t *testing.T) {
	b := bank.New(bank.Options{LargeTransfer: 500_00})
	e := start(t, gateway.Options{
		Protection: forgeproof.Config{SessionCookie: "session"},
		Routes: []gateway.Route{{
			Pattern: "POST /api/transfer/large",
			Protect: forgeproof.Route{ReauthMaxAge: 5 * time.Minute},
		}},
		ReauthVerify: "/api/reauth",
	}, b)

	post := func(path, site, body string, header map[string]string) (*http.Response, string) {
		t.Helper()
		r := e.req("POST", path, site, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		for k, v := range header {
			r.Header.Set(k, v)
		}
		return e.do(r)
	}

	// Without a session, the bank refuses the confirmation.
	resp, _ := post("/.forgeproof/reauth", "same-origin", `{"password":"wonderland","method":"POST","path":"/api/transfer/large"}`, nil)
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("confirmation before login: %d, want the bank's 401", resp.StatusCode)
	}

	tok := e.token()
	if resp, body := post("/login", "same-origin", `{"username":"alice","password":"wonderland"}`, map[string]string{"X-Forgeproof-Token": tok}); resp.StatusCode != http.StatusOK {
		t.Fatalf("login: %d %s", resp.StatusCode, body)
	}
	tok = e.token()
	transfer := map[string]string{"X-Forgeproof-Token": tok}
	const large = `{"to":"bob","amount":"600"}`

	resp, body := post("/api/transfer/large", "same-origin", large, transfer)
	p := wantProblem(t, resp, body, http.StatusUnauthorized, "reauth-required")
	var extra struct {
		ReauthURL string `json:"reauth_url"`
	}
	json.Unmarshal([]byte(body), &extra)
	if extra.ReauthURL != "/.forgeproof/reauth" {
		t.Errorf("reauth_url %q, want /.forgeproof/reauth (problem %+v)", extra.ReauthURL, p)
	}

	// A wrong password: the bank's refusal is passed on, and no proof.
	resp, body = post("/.forgeproof/reauth", "same-origin", `{"password":"guess","method":"POST","path":"/api/transfer/large"}`, nil)
	if resp.StatusCode != http.StatusUnauthorized || strings.Contains(body, "proof") {
		t.Fatalf("wrong password: %d %s", resp.StatusCode, body)
	}
	// A cross-site page cannot ask for a proof.
	resp, body = post("/.forgeproof/reauth", "cross-site", `{"password":"wonderland","method":"POST","path":"/api/transfer/large"}`, nil)
	wantProblem(t, resp, body, http.StatusForbidden, "sec-fetch-site-cross-site")
	// A body that names no operation.
	resp, _ = post("/.forgeproof/reauth", "same-origin", `{"password":"wonderland"}`, nil)
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("no operation: %d, want 400", resp.StatusCode)
	}

	resp, body = post("/.forgeproof/reauth", "same-origin", `{"password":"wonderland","method":"POST","path":"/api/transfer/large"}`, nil)
	var grant struct{ Proof, Header string }
	if err := json.Unmarshal([]byte(body), &grant); err != nil || resp.StatusCode != http.StatusOK || grant.Proof == "" || grant.Header != "X-Reauth-Proof" {
		t.Fatalf("confirmation: %d %s", resp.StatusCode, body)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("confirmation Cache-Control %q, want no-store", cc)
	}

	transfer[grant.Header] = grant.Proof
	if resp, body := post("/api/transfer/large", "same-origin", large, transfer); resp.StatusCode != http.StatusOK {
		t.Fatalf("confirmed transfer: %d %s", resp.StatusCode, body)
	}
	resp, body = post("/api/transfer/large", "same-origin", large, transfer)
	wantProblem(t, resp, body, http.StatusUnauthorized, "reauth-reused")

	ts := b.Transfers()
	if len(ts) != 1 || ts[0].Amount != 600_00 || ts[0].Path != "/api/transfer/large" {
		t.Errorf("transfers %+v, want one of 600.00 through the large route", ts)
	}
	// The bank saw one confirmation per password check, and the reserved
	// endpoint itself was never proxied.
	var reauths int
	for _, ev := range b.Events() {
		if ev.Kind == "reauth" {
			reauths++
		}
	}
	if reauths != 1 {
		t.Errorf("the bank recorded %d successful confirmations, want 1", reauths)
	}
}

func TestReauthVerifyMustBeAPath(t *testing.T) {
	for _, v := range []string{"api/reauth", "/.forgeproof/x"} {
		_, err := gateway.New(gateway.Options{
			Upstreams:    []gateway.Upstream{{URL: mustURL(t, "http://127.0.0.1:1")}},
			ReauthVerify: v,
		})
		if err == nil || !strings.Contains(err.Error(), "ReauthVerify") {
			t.Errorf("ReauthVerify %q: err %v, want one naming ReauthVerify", v, err)
		}
	}
}
