package bank_test

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/forgeproof/forgeproof"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/bank"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/browser"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/browser/browsertest"
)

// page runs JavaScript statements in the tab.
func run(t *testing.T, tab *browser.Tab, js string) {
	t.Helper()
	if err := tab.Eval("(() => {"+js+"})()", nil, 5*time.Second); err != nil {
		t.Fatal(err)
	}
}

func waitFor(t *testing.T, tab *browser.Tab, what, expr string) {
	t.Helper()
	if err := tab.WaitFor(expr, 10*time.Second); err != nil {
		var text string
		tab.Eval("document.body.innerText", &text, time.Second)
		t.Fatalf("waiting for %s (%s): %v\npage:\n%s", what, expr, err, text)
	}
}

// signIn fills in and submits the page's sign-in form.
func signIn(t *testing.T, tab *browser.Tab, user, password string) {
	t.Helper()
	run(t, tab, `const f = document.getElementById("login");
		f.username.value = "`+user+`"; f.password.value = "`+password+`"; f.requestSubmit();`)
	// The page's script is deferred: it attaches its handlers after the
	// balance is in the DOM and before the load event, so wait for that.
	waitFor(t, tab, "the signed-in page", `document.readyState === "complete" && document.getElementById("balance")`)
}

// sendJSON submits the fetch-based transfer form and waits for its result.
func sendJSON(t *testing.T, tab *browser.Tab, to, amount string) {
	t.Helper()
	run(t, tab, `const f = document.getElementById("json-transfer");
		document.getElementById("json-result").className = "result";
		f.to.value = "`+to+`"; f.amount.value = "`+amount+`"; f.requestSubmit();`)
}

// The page's scripts in a real browser, with the library around the bank:
// sign-in with the rendered token, a fetch transfer with the meta-tag
// token, a large transfer confirmed with the password (step-up), and a
// plain form transfer.
func TestBrowserProtectedBank(t *testing.T) {
	tab := browsertest.Tab(t, browser.Options{})
	p, err := forgeproof.New(forgeproof.Config{
		SessionCookie: "session",
		ReauthURL:     "/api/reauth",
		Routes:        []forgeproof.Route{{Pattern: "POST /api/transfer/large", ReauthMaxAge: 5 * time.Minute}},
	})
	if err != nil {
		t.Fatal(err)
	}
	b := bank.New(bank.Options{Protection: p, LargeTransfer: 500_00})
	srv := httptest.NewServer(p.Handler(b))
	t.Cleanup(srv.Close)

	if status, err := tab.Navigate(srv.URL+"/", 10*time.Second); err != nil || status != 200 {
		t.Fatalf("navigate: %d %v", status, err)
	}
	signIn(t, tab, "alice", "wonderland")

	sendJSON(t, tab, "bob", "25")
	waitFor(t, tab, "the fetch transfer", `document.querySelector("#json-result.ok")`)
	waitFor(t, tab, "the new balance", `document.getElementById("balance").textContent === "975.00"`)

	sendJSON(t, tab, "bob", "600")
	waitFor(t, tab, "the confirmation box", `!document.getElementById("confirm").hidden`)
	run(t, tab, `const f = document.getElementById("confirm-form"); f.password.value = "wonderland"; f.requestSubmit();`)
	waitFor(t, tab, "the confirmed transfer", `document.querySelector("#json-result.ok")`)

	sendJSON(t, tab, "bob", "700")
	waitFor(t, tab, "the second confirmation box", `!document.getElementById("confirm").hidden`)
	run(t, tab, `const f = document.getElementById("confirm-form"); f.password.value = "guess"; f.requestSubmit();`)
	waitFor(t, tab, "the refusal of a wrong password", `document.querySelector("#json-result.error")`)

	run(t, tab, `const f = document.getElementById("form-transfer");
		f.to.value = "bob"; f.amount.value = "5"; f.requestSubmit();`)
	waitFor(t, tab, "the form transfer", `document.getElementById("sent")`)

	var got []string
	for _, tr := range b.Transfers() {
		got = append(got, tr.Path+" "+bank.FormatAmount(tr.Amount)+" "+tr.Via)
	}
	want := []string{"/api/transfer 25.00 json", "/api/transfer/large 600.00 json", "/transfer 5.00 form"}
	if strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Errorf("transfers %v, want %v", got, want)
	}
}
