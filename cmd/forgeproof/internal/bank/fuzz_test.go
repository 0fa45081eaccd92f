package bank_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/bank"
)

// FuzzRequests sends arbitrary requests of a signed-in user to the bank:
// it must never fail with a server error, never create or destroy money,
// and never let a balance go negative.
func FuzzRequests(f *testing.F) {
	seeds := []struct{ method, target, ctype, body string }{
		{"POST", "/api/transfer", "application/json", `{"to":"bob","amount":"12.50"}`},
		{"POST", "/api/transfer", "text/plain", `{"to":"mallory","amount":1e3}`},
		{"POST", "/api/transfer/large", "application/json", `{"to":"bob","amount":"999.99"}`},
		{"POST", "/transfer", "application/x-www-form-urlencoded", "to=bob&amount=7.25"},
		{"POST", "/transfer", "multipart/form-data; boundary=x", "--x\r\nContent-Disposition: form-data; name=\"to\"\r\n\r\nbob\r\n--x--\r\n"},
		{"GET", "/transfer?to=mallory&amount=0.01", "", ""},
		{"POST", "/api/payees/bob?_method=DELETE", "application/x-www-form-urlencoded", ""},
		{"POST", "/api/payees/bob", "application/x-www-form-urlencoded", "_method=PUT"},
		{"POST", "/login", "application/json", `{"username":"bob","password":"builder"}`},
		{"POST", "/api/reauth", "application/json", `{"password":"wonderland"}`},
		{"POST", "/logout", "", ""},
		{"GET", "/?sent=1", "", ""},
	}
	for _, s := range seeds {
		f.Add(s.method, s.target, s.ctype, s.body)
	}
	f.Fuzz(func(t *testing.T, method, target, ctype, body string) {
		if !strings.HasPrefix(target, "/") {
			return
		}
		b := bank.New(bank.Options{LargeTransfer: 500_00})
		srv := httptest.NewServer(b)
		defer srv.Close()
		c := &client{t: t, base: srv.URL, http: &http.Client{
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}}
		resp, _ := c.do("POST", "/login", formType, "username=alice&password=wonderland")
		session := sessionCookie(t, resp)

		req, err := http.NewRequest(method, srv.URL+target, strings.NewReader(body))
		if err != nil {
			return // not a request a client can send
		}
		req.Header.Set("Content-Type", ctype)
		req.AddCookie(session)
		resp, err = c.http.Do(req)
		if err != nil {
			return
		}
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			t.Fatalf("%s %s: status %d", method, target, resp.StatusCode)
		}
		var total int64
		for _, u := range bank.DefaultUsers() {
			bal, _ := b.Balance(u.Name)
			if bal < 0 {
				t.Fatalf("%s's balance is negative: %d", u.Name, bal)
			}
			total += bal
		}
		if total != 1500_00 {
			t.Fatalf("money created or destroyed: total %d cents, want 150000", total)
		}
	})
}
