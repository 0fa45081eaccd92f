package main

import (
	"strings"
	"testing"
	"time"

	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/bank"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/browser"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/browser/browsertest"
	"github.com/forgeproof/forgeproof/internal/testenv"
)

// The README's main job in a real browser: the demo's page, unchanged
// behind the gateway, signs in and makes transfers with fetch and with the
// plain form, its tokens added by the gateway's csrf.js; its payee removal
// (a POST with _method=DELETE) and sign-out work too.
func TestDemoInBrowser(t *testing.T) {
	d, run, wait := signedInDemo(t)

	run(`const f = document.getElementById("json-transfer"); f.to.value = "bob"; f.amount.value = "25"; f.requestSubmit();`)
	wait("the fetch transfer", `document.querySelector("#json-result.ok")`)

	run(`const f = document.getElementById("form-transfer"); f.to.value = "bob"; f.amount.value = "5.50"; f.requestSubmit();`)
	wait("the form transfer", `document.readyState === "complete" && document.getElementById("sent")`)

	run(`document.querySelector('form[action^="/api/payees/mallory"]').requestSubmit();`)
	wait("the payee removal", `!document.querySelector('form[action^="/api/payees/mallory"]') && document.readyState === "complete" && document.getElementById("balance")`)

	run(`document.querySelector('form[action="/logout"]').requestSubmit();`)
	wait("the sign-in page after signing out", `document.getElementById("login")`)

	var got []string
	for _, tr := range d.bank.Transfers() {
		got = append(got, tr.Path+" "+bank.FormatAmount(tr.Amount)+" "+tr.Via)
	}
	want := []string{"/api/transfer 25.00 json", "/transfer 5.50 form"}
	if strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Errorf("transfers %v, want %v", got, want)
	}
	if p := d.bank.Payees("alice"); len(p) != 1 || p[0] != "bob" {
		t.Errorf("alice's payees %v, want [bob]", p)
	}
	var kinds []string
	for _, e := range d.bank.Events() {
		kinds = append(kinds, e.Kind)
	}
	if want := "login transfer transfer payee-delete logout"; strings.Join(kinds, " ") != want {
		t.Errorf("events %v, want %s", kinds, want)
	}
	if strings.Contains(d.stderr.String(), `msg="request refused"`) {
		t.Errorf("the gateway refused a request of the page:\n%s", d.stderr)
	}
}

// signedInDemo starts the demo, opens its page in a fresh Chromium profile
// and signs in as alice. run evaluates a script on the page; wait waits for
// an expression to hold, failing the test with the page text and the demo's
// log when it does not. Everything stops when the test ends.
func signedInDemo(t *testing.T) (d *demoRun, run func(js string), wait func(what, expr string)) {
	t.Helper()
	testenv.Chromium(t)
	d = startDemo(t)
	tab := browsertest.Tab(t, browser.Options{})
	run = func(js string) {
		t.Helper()
		if err := tab.Eval("(() => {"+js+"})()", nil, 5*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	wait = func(what, expr string) {
		t.Helper()
		if err := tab.WaitFor(expr, 10*time.Second); err != nil {
			var text string
			tab.Eval("document.body.innerText", &text, time.Second)
			t.Fatalf("waiting for %s: %v\npage:\n%s\nlogs:\n%s", what, err, text, d.stderr)
		}
	}
	if status, err := tab.Navigate(d.url+"/", 10*time.Second); err != nil || status != 200 {
		t.Fatalf("navigate: %d %v", status, err)
	}
	run(`const f = document.getElementById("login"); f.username.value = "alice"; f.password.value = "wonderland"; f.requestSubmit();`)
	// bank.js is deferred: its handlers exist only once the page has loaded.
	wait("the signed-in page", `document.readyState === "complete" && document.readyState === "complete" && document.getElementById("balance")`)
	return d, run, wait
}
