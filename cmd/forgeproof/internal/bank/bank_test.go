package bank_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/bank"
)

// client is a browser-like client of a test server: it keeps cookies and
// does not follow redirects, so tests see every response.
type client struct {
	t    *testing.T
	base string
	http *http.Client
}

func newClient(t *testing.T, h http.Handler) *client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	jar, _ := cookiejar.New(nil)
	return &client{t: t, base: srv.URL, http: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

func (c *client) do(method, path, contentType, body string, header ...string) (*http.Response, string) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

const formType = "application/x-www-form-urlencoded"

func (c *client) login(user, password string) *http.Response {
	c.t.Helper()
	resp, _ := c.do("POST", "/login", formType, url.Values{"username": {user}, "password": {password}}.Encode())
	if resp.StatusCode != http.StatusSeeOther {
		c.t.Fatalf("login %s: status %d, want 303", user, resp.StatusCode)
	}
	return resp
}

func sessionCookie(t *testing.T, resp *http.Response) *http.Cookie {
	t.Helper()
	for _, c := range resp.Cookies() {
		if c.Name == "session" {
			return c
		}
	}
	t.Fatalf("no session cookie in %q", resp.Header.Values("Set-Cookie"))
	return nil
}

func balance(t *testing.T, b *bank.Bank, user string) int64 {
	t.Helper()
	v, ok := b.Balance(user)
	if !ok {
		t.Fatalf("no account %q", user)
	}
	return v
}

func TestLogin(t *testing.T) {
	tests := []struct {
		name        string
		contentType string
		body        string
		wantStatus  int
		wantUser    string
	}{
		{"form", formType, "username=alice&password=wonderland", http.StatusSeeOther, "alice"},
		{"json", "application/json", `{"username":"bob","password":"builder"}`, http.StatusOK, "bob"},
		{"wrong password", formType, "username=alice&password=builder", http.StatusUnauthorized, ""},
		{"unknown user", "application/json", `{"username":"eve","password":"x"}`, http.StatusUnauthorized, ""},
		{"empty password", formType, "username=alice&password=", http.StatusUnauthorized, ""},
		{"malformed json", "application/json", `{"username":`, http.StatusBadRequest, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := bank.New(bank.Options{})
			c := newClient(t, b)
			resp, _ := c.do("POST", "/login", tt.contentType, tt.body)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			ev := b.Events()
			if tt.wantUser == "" {
				if len(ev) != 0 || len(resp.Cookies()) != 0 {
					t.Fatalf("failed login changed state: events %v, cookies %v", ev, resp.Cookies())
				}
				return
			}
			if len(ev) != 1 || ev[0].Kind != "login" || ev[0].User != tt.wantUser {
				t.Fatalf("events = %+v, want one login of %s", ev, tt.wantUser)
			}
			_, body := c.do("GET", "/api/balance", "", "")
			var got struct{ User string }
			json.Unmarshal([]byte(body), &got)
			if got.User != tt.wantUser {
				t.Fatalf("balance answered for %q, want %q (body %s)", got.User, tt.wantUser, body)
			}
		})
	}
}

func TestSessionCookieAttributes(t *testing.T) {
	tests := []struct {
		name     string
		opts     bank.Options
		wantSite http.SameSite
		secure   bool
	}{
		{"legacy default", bank.Options{}, 0, false},
		{"SameSite=None", bank.Options{SameSiteNone: true}, http.SameSiteNoneMode, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(t, bank.New(tt.opts))
			ck := sessionCookie(t, c.login("alice", "wonderland"))
			if !ck.HttpOnly || ck.SameSite != tt.wantSite || ck.Secure != tt.secure || ck.Path != "/" {
				t.Errorf("cookie %q: HttpOnly=%v SameSite=%v Secure=%v Path=%q", ck.Raw, ck.HttpOnly, ck.SameSite, ck.Secure, ck.Path)
			}
			if len(ck.Value) < 40 {
				t.Errorf("session id %d characters long, want at least 40 (32 random bytes)", len(ck.Value))
			}
		})
	}
}

func TestTransfers(t *testing.T) {
	tests := []struct {
		name        string
		method      string
		path        string
		contentType string
		body        string
		wantStatus  int
		wantVia     string // "" when no transfer must happen
		wantAmount  int64
	}{
		{"json number", "POST", "/api/transfer", "application/json", `{"to":"bob","amount":12.5}`, 200, bank.ViaJSON, 1250},
		{"json string", "POST", "/api/transfer", "application/json", `{"to":"bob","amount":"40"}`, 200, bank.ViaJSON, 4000},
		// The bank is naive on purpose: a text/plain form body reaches it.
		{"json sent as text/plain", "POST", "/api/transfer", "text/plain", `{"to":"mallory","amount":"1"}`, 200, bank.ViaJSON, 100},
		{"html form", "POST", "/transfer", formType, "to=bob&amount=7.25", 303, bank.ViaForm, 725},
		{"legacy get", "GET", "/transfer?to=mallory&amount=99", "", "", 303, bank.ViaLegacyGET, 9900},
		{"insufficient funds", "POST", "/api/transfer", "application/json", `{"to":"bob","amount":"1000.01"}`, 422, "", 0},
		{"unknown account", "POST", "/transfer", formType, "to=eve&amount=1", 422, "", 0},
		{"to oneself", "GET", "/transfer?to=alice&amount=1", "", "", 422, "", 0},
		{"negative amount", "POST", "/api/transfer", "application/json", `{"to":"bob","amount":-5}`, 400, "", 0},
		{"exponent amount", "POST", "/api/transfer", "application/json", `{"to":"bob","amount":1e3}`, 400, "", 0},
		{"three decimals", "POST", "/transfer", formType, "to=bob&amount=1.005", 400, "", 0},
		{"malformed json", "POST", "/api/transfer", "application/json", `{"to":`, 400, "", 0},
		{"oversized body", "POST", "/api/transfer", "application/json", `{"to":"bob","amount":"1","x":"` + strings.Repeat("a", 70<<10) + `"}`, 400, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := bank.New(bank.Options{})
			c := newClient(t, b)
			c.login("alice", "wonderland")
			before := balance(t, b, "alice")
			resp, body := c.do(tt.method, tt.path, tt.contentType, tt.body)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d; body %s", resp.StatusCode, tt.wantStatus, body)
			}
			tr := b.Transfers()
			if tt.wantVia == "" {
				if len(tr) != 0 || balance(t, b, "alice") != before {
					t.Fatalf("refused request moved money: %+v", tr)
				}
				return
			}
			if len(tr) != 1 {
				t.Fatalf("transfers = %+v, want 1", tr)
			}
			got := tr[0]
			if got.From != "alice" || got.Amount != tt.wantAmount || got.Via != tt.wantVia || got.Method != tt.method {
				t.Errorf("transfer = %+v, want alice → %d via %s with %s", got, tt.wantAmount, tt.wantVia, tt.method)
			}
			if after := balance(t, b, "alice"); after != before-tt.wantAmount {
				t.Errorf("alice's balance %d, want %d", after, before-tt.wantAmount)
			}
			if ev := b.Events(); ev[len(ev)-1].Kind != "transfer" || ev[len(ev)-1].Amount != tt.wantAmount {
				t.Errorf("last event = %+v, want the transfer", ev[len(ev)-1])
			}
		})
	}
}

func TestSignedOutChangesNothing(t *testing.T) {
	requests := []struct{ method, path, contentType, body string }{
		{"POST", "/api/transfer", "application/json", `{"to":"bob","amount":"1"}`},
		{"POST", "/transfer", formType, "to=bob&amount=1"},
		{"GET", "/transfer?to=bob&amount=1", "", ""},
		{"POST", "/api/payees/bob?_method=DELETE", formType, ""},
		{"GET", "/api/balance", "", ""},
	}
	b := bank.New(bank.Options{})
	c := newClient(t, b)
	for _, r := range requests {
		resp, _ := c.do(r.method, r.path, r.contentType, r.body)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s %s signed out: status %d, want 401", r.method, r.path, resp.StatusCode)
		}
	}
	if ev := b.Events(); len(ev) != 0 {
		t.Errorf("events = %+v, want none", ev)
	}
}

func TestMethodOverride(t *testing.T) {
	tests := []struct {
		name        string
		method      string
		path        string
		contentType string
		body        string
		header      []string
		wantStatus  int
		wantDeleted bool
		wantMethod  string
		wantVia     string
	}{
		{"query _method", "POST", "/api/payees/bob?_method=DELETE", formType, "", nil, 303, true, "POST", bank.ViaOverride},
		{"form _method", "POST", "/api/payees/bob", formType, "_method=delete", nil, 303, true, "POST", bank.ViaOverride},
		{"header override", "POST", "/api/payees/bob", "", "", []string{"X-HTTP-Method-Override", "DELETE"}, 204, true, "POST", bank.ViaOverride},
		{"real DELETE", "DELETE", "/api/payees/bob", "", "", nil, 204, true, "DELETE", ""},
		{"spoofed internal header", "DELETE", "/api/payees/bob", "", "", []string{"X-Bank-Original-Method", "POST"}, 204, true, "DELETE", ""},
		// Like Express's method-override by default, only POST is overridden.
		{"GET is not overridden", "GET", "/api/payees/bob?_method=DELETE", "", "", nil, 405, false, "", ""},
		{"POST without override", "POST", "/api/payees/bob", formType, "", nil, 405, false, "", ""},
		{"unknown payee", "POST", "/api/payees/carol?_method=DELETE", formType, "", nil, 404, false, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := bank.New(bank.Options{})
			c := newClient(t, b)
			c.login("alice", "wonderland")
			resp, body := c.do(tt.method, tt.path, tt.contentType, tt.body, tt.header...)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d; body %s", resp.StatusCode, tt.wantStatus, body)
			}
			payees := b.Payees("alice")
			deleted := !contains(payees, "bob")
			if deleted != tt.wantDeleted {
				t.Fatalf("payees = %v, deleted=%v, want %v", payees, deleted, tt.wantDeleted)
			}
			if !tt.wantDeleted {
				return
			}
			ev := b.Events()
			last := ev[len(ev)-1]
			if last.Kind != "payee-delete" || last.Detail != "bob" || last.Method != tt.wantMethod || last.Via != tt.wantVia {
				t.Errorf("event = %+v, want payee-delete of bob seen as %s via %q", last, tt.wantMethod, tt.wantVia)
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func TestLogout(t *testing.T) {
	b := bank.New(bank.Options{})
	c := newClient(t, b)
	c.login("alice", "wonderland")
	resp, _ := c.do("POST", "/logout", formType, "")
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: status %d, want 303", resp.StatusCode)
	}
	if ck := sessionCookie(t, resp); ck.MaxAge >= 0 {
		t.Errorf("logout cookie %q does not expire the session", ck.Raw)
	}
	if resp, _ := c.do("GET", "/api/balance", "", ""); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("balance after logout: status %d, want 401", resp.StatusCode)
	}
	ev := b.Events()
	if len(ev) != 2 || ev[1].Kind != "logout" || ev[1].User != "alice" {
		t.Errorf("events = %+v, want login then logout", ev)
	}
}

// A session id stolen before login must not survive it (session fixation).
func TestLoginReplacesSession(t *testing.T) {
	b := bank.New(bank.Options{})
	c := newClient(t, b)
	first := sessionCookie(t, c.login("alice", "wonderland"))
	second := sessionCookie(t, c.login("bob", "builder"))
	if first.Value == second.Value {
		t.Fatal("second login kept the session id")
	}
	old := newClient(t, b)
	u, _ := url.Parse(old.base)
	old.http.Jar.SetCookies(u, []*http.Cookie{{Name: "session", Value: first.Value}})
	if resp, _ := old.do("GET", "/api/balance", "", ""); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("old session still valid: status %d", resp.StatusCode)
	}
}

func TestPage(t *testing.T) {
	tests := []struct {
		name     string
		login    bool
		path     string
		want     []string
		dontWant []string
	}{
		{"signed out", false, "/", []string{`action="/login"`, `src="/.forgeproof/csrf.js"`, "<code>alice</code>"}, []string{`id="balance"`, `name="csrf-token"`}},
		{"signed in", true, "/", []string{`id="balance">1000.00<`, `action="/transfer"`, `id="json-transfer"`, `action="/api/payees/bob?_method=DELETE"`, `action="/logout"`, "No transfers yet."}, []string{`action="/login"`}},
		{"after a transfer", true, "/?sent=1", []string{`id="sent">Sent $5.00 to bob`, `id="balance">995.00<`}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(t, bank.New(bank.Options{}))
			if tt.login {
				c.login("alice", "wonderland")
				if strings.Contains(tt.path, "sent") {
					c.do("POST", "/transfer", formType, "to=bob&amount=5")
				}
			}
			resp, body := c.do("GET", tt.path, "", "")
			if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
				t.Fatalf("status %d, type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			for _, s := range tt.want {
				if !strings.Contains(body, s) {
					t.Errorf("page lacks %q", s)
				}
			}
			for _, s := range tt.dontWant {
				if strings.Contains(body, s) {
					t.Errorf("page has %q", s)
				}
			}
			if strings.Contains(body, "http://") && !strings.Contains(body, "https://github.com/forgeproof") {
				t.Errorf("page loads something from another origin")
			}
		})
	}
}

func TestStatic(t *testing.T) {
	c := newClient(t, bank.New(bank.Options{}))
	for path, ctype := range map[string]string{"/static/bank.js": "javascript", "/static/bank.css": "text/css"} {
		resp, body := c.do("GET", path, "", "")
		if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Type"), ctype) || len(body) < 100 {
			t.Errorf("%s: status %d, type %q, %d bytes", path, resp.StatusCode, resp.Header.Get("Content-Type"), len(body))
		}
	}
}

func TestParseAmount(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want int64 // 0 means an error
	}{
		{"whole", "12", 1200},
		{"one decimal", "12.5", 1250},
		{"two decimals", "12.05", 1205},
		{"spaces", " 3.10 ", 310},
		{"cents only", "0.01", 1},
		{"largest", "1000000000", 1000000000_00},
		{"too large", "1000000000.01", 0},
		{"zero", "0", 0},
		{"zero cents", "0.00", 0},
		{"negative", "-1", 0},
		{"plus sign", "+1", 0},
		{"exponent", "1e3", 0},
		{"three decimals", "1.005", 0},
		{"trailing dot", "1.", 0},
		{"leading dot", ".5", 0},
		{"comma", "1,5", 0},
		{"empty", "", 0},
		{"huge", "99999999999999999999", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := bank.ParseAmount(tt.in)
			if tt.want == 0 {
				if err == nil {
					t.Fatalf("ParseAmount(%q) = %d, want an error", tt.in, got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseAmount(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
			}
		})
	}
}

func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{"12", "12.5", "0.01", "1e3", "-1", " 7.25 ", "1000000000.00", "1.", "٣"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cents, err := bank.ParseAmount(s)
		if err != nil {
			return
		}
		if cents <= 0 || cents > 1000000000_00 {
			t.Fatalf("ParseAmount(%q) = %d, out of range", s, cents)
		}
		back, err := bank.ParseAmount(bank.FormatAmount(cents))
		if err != nil || back != cents {
			t.Fatalf("round trip of %q: %d → %q → %d, %v", s, cents, bank.FormatAmount(cents), back, err)
		}
	})
}

func TestLargeTransfers(t *testing.T) {
	tests := []struct {
		name        string
		method      string
		path        string
		contentType string
		body        string
		wantStatus  int
		wantStepUp  bool
		wantMoved   int64
	}{
		{"small on the ordinary route", "POST", "/api/transfer", "application/json", `{"to":"bob","amount":"499.99"}`, 200, false, 49999},
		{"large on the ordinary route", "POST", "/api/transfer", "application/json", `{"to":"bob","amount":"500"}`, 422, true, 0},
		{"large by form", "POST", "/transfer", formType, "to=bob&amount=600", 422, false, 0},
		{"large by legacy GET", "GET", "/transfer?to=bob&amount=600", "", "", 422, false, 0},
		// The bank trusts whatever protects this route to demand the
		// confirmation: unprotected, it moves the money.
		{"large on the large route", "POST", "/api/transfer/large", "application/json", `{"to":"bob","amount":"600"}`, 200, false, 60000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := bank.New(bank.Options{LargeTransfer: 500_00})
			c := newClient(t, b)
			c.login("alice", "wonderland")
			resp, body := c.do(tt.method, tt.path, tt.contentType, tt.body)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d; %s", resp.StatusCode, tt.wantStatus, body)
			}
			if got := strings.Contains(body, `"step_up":"/api/transfer/large"`); got != tt.wantStepUp {
				t.Errorf("body %s: step_up named %v, want %v", body, got, tt.wantStepUp)
			}
			var moved int64
			for _, tr := range b.Transfers() {
				moved += tr.Amount
			}
			if moved != tt.wantMoved {
				t.Errorf("moved %d cents, want %d", moved, tt.wantMoved)
			}
		})
	}
}

func TestReauthWithoutProtection(t *testing.T) {
	b := bank.New(bank.Options{LargeTransfer: 500_00})
	c := newClient(t, b)
	if resp, _ := c.do("POST", "/api/reauth", "application/json", `{"password":"wonderland"}`); resp.StatusCode != 401 {
		t.Fatalf("signed out: status %d, want 401", resp.StatusCode)
	}
	c.login("alice", "wonderland")
	if resp, _ := c.do("POST", "/api/reauth", "application/json", `{"password":"builder"}`); resp.StatusCode != 401 {
		t.Fatalf("wrong password: status %d, want 401", resp.StatusCode)
	}
	// Without a Protection the bank only verifies: 204, no proof, for a
	// gateway that mints the proof itself.
	resp, body := c.do("POST", "/api/reauth", "application/json", `{"password":"wonderland","method":"POST","path":"/api/transfer/large"}`)
	if resp.StatusCode != http.StatusNoContent || body != "" {
		t.Fatalf("right password: %d %q, want 204 and no body", resp.StatusCode, body)
	}
	ev := b.Events()
	if last := ev[len(ev)-1]; last.Kind != "reauth" || last.Detail != "POST /api/transfer/large" || len(ev) != 2 {
		t.Errorf("events %+v, want login and one reauth", ev)
	}
}
