package gateway_test

import (
	"encoding/json"
	"io"
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
		ReauthVerify:  "/api/reauth",
		ReauthSuccess: gateway.ReauthSuccess{Status: http.StatusNoContent, Header: bank.ReauthVerifiedHeader, Value: "true"},
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

// overrideBackend is an upstream whose router honours method overrides,
// as Express's method-override, Rails and Laravel do, and whose
// confirmation path also serves a page on GET that answers 200 to
// anyone. Its POST handler checks the password and confirms it with the
// header X-Reauth-Verified: true.
func overrideBackend(session string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		method := r.Method
		for _, k := range []string{"X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override"} {
			if v := r.Header.Get(k); v != "" && r.Method == http.MethodPost {
				method = strings.ToUpper(v)
			}
		}
		if v := r.URL.Query().Get("_method"); v != "" {
			method = strings.ToUpper(v)
		}
		path := r.URL.Path
		if v := r.Header.Get("X-Original-URL"); v != "" {
			path = v
		}
		switch {
		case path == "/login":
			http.SetCookie(w, &http.Cookie{Name: "session", Value: session, Path: "/"})
		case path == "/api/reauth" && method == http.MethodGet:
			io.WriteString(w, "<p>Confirm your password</p>")
		case path == "/api/reauth" && method == http.MethodPost:
			var body struct{ Password string }
			json.NewDecoder(r.Body).Decode(&body)
			if body.Password != "right" {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			w.Header().Set("X-Reauth-Verified", "true")
		case path == "/status":
			io.WriteString(w, "up")
		default:
			http.NotFound(w, r)
		}
	})
}

// A confirmation mints a proof only on the upstream's explicit success
// signal, and no client header can dispatch it to another handler.
func TestReauthNeedsExplicitConfirmation(t *testing.T) {
	e := start(t, gateway.Options{
		Protection:    forgeproof.Config{SessionCookie: "session"},
		ReauthVerify:  "/api/reauth",
		ReauthSuccess: gateway.ReauthSuccess{Header: "X-Reauth-Verified", Value: "true"},
	}, overrideBackend("s1"))
	tok := e.token()
	login := e.req("POST", "/login", "same-origin", strings.NewReader("{}"))
	login.Header.Set("X-Forgeproof-Token", tok)
	if resp, body := e.do(login); resp.StatusCode != http.StatusOK {
		t.Fatalf("login: %d %s", resp.StatusCode, body)
	}
	confirm := func(body string, header map[string]string) (*http.Response, string) {
		r := e.req("POST", "/.forgeproof/reauth", "same-origin", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		for k, v := range header {
			r.Header.Set(k, v)
		}
		return e.do(r)
	}
	const wrong = `{"password":"guess","method":"POST","path":"/api/transfer"}`
	attacks := []struct {
		name   string
		body   string
		header map[string]string
	}{
		{"X-HTTP-Method-Override: GET", wrong, map[string]string{"X-HTTP-Method-Override": "GET"}},
		{"X-HTTP-Method: GET", wrong, map[string]string{"X-HTTP-Method": "GET"}},
		{"X-Method-Override: GET", wrong, map[string]string{"X-Method-Override": "GET"}},
		{"X-Original-URL to a 200 page", wrong, map[string]string{"X-Original-URL": "/status"}},
		{"_method in the body", `{"_method":"GET","password":"guess","method":"POST","path":"/api/transfer"}`, nil},
		{"wrong password", wrong, nil},
	}
	for _, tt := range attacks {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := confirm(tt.body, tt.header)
			if resp.StatusCode == http.StatusOK || strings.Contains(body, `"proof"`) {
				t.Fatalf("a proof was minted without the password: %d %s", resp.StatusCode, body)
			}
		})
	}
	resp, body := confirm(`{"password":"right","method":"POST","path":"/api/transfer"}`, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"proof"`) {
		t.Fatalf("right password: %d %s, want a proof", resp.StatusCode, body)
	}
}

// A 2xx from the confirmation endpoint is not a confirmation without the
// configured signal.
func TestReauthRefusesBare2xx(t *testing.T) {
	e := start(t, gateway.Options{
		Protection:    forgeproof.Config{SessionCookie: "session"},
		ReauthVerify:  "/anything",
		ReauthSuccess: gateway.ReauthSuccess{Header: "X-Reauth-Verified", Value: "true"},
	}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/login" {
			http.SetCookie(w, &http.Cookie{Name: "session", Value: "s1", Path: "/"})
		}
		w.Header().Set("X-Reauth-Verified", "maybe")
		io.WriteString(w, "ok") // 200 to anything
	}))
	tok := e.token()
	login := e.req("POST", "/login", "same-origin", strings.NewReader("{}"))
	login.Header.Set("X-Forgeproof-Token", tok)
	e.do(login)
	r := e.req("POST", "/.forgeproof/reauth", "same-origin", strings.NewReader(`{"method":"POST","path":"/api/transfer"}`))
	r.Header.Set("Content-Type", "application/json")
	resp, body := e.do(r)
	wantProblem(t, resp, body, http.StatusForbidden, "")
	if !strings.Contains(e.logs.String(), "without the configured success signal") {
		t.Errorf("the refusal is not logged: %s", e.logs)
	}
}

// ReauthVerify without a success signal is refused by New.
func TestReauthSuccessRequired(t *testing.T) {
	for _, ok := range []gateway.ReauthSuccess{{}, {Header: "X-Ok"}, {Value: "1"}, {Status: 302, Header: "X-Ok", Value: "1"}, {Header: "X Ok", Value: "1"}} {
		_, err := gateway.New(gateway.Options{
			Upstreams:     []gateway.Upstream{{URL: mustURL(t, "http://127.0.0.1:1")}},
			ReauthVerify:  "/api/reauth",
			ReauthSuccess: ok,
		})
		if err == nil || !strings.Contains(err.Error(), "ReauthSuccess") {
			t.Errorf("ReauthSuccess %+v: err %v, want one naming ReauthSuccess", ok, err)
		}
	}
}
