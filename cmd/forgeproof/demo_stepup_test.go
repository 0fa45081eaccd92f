package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/forgeproof/forgeproof/internal/bank"
	"github.com/forgeproof/forgeproof/internal/browser"
	"github.com/forgeproof/forgeproof/internal/testenv"
)

// TestDemoStepUpInBrowser makes a large transfer in the demo in a real
// browser: the page asks for the password, the bank checks it, the gateway
// mints the proof, and the transfer goes through once; a wrong password
// moves no money.
func TestDemoStepUpInBrowser(t *testing.T) {
	path := testenv.Chromium(t)
	d := startDemo(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := browser.Launch(ctx, browser.Options{ExecPath: path})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	p, err := b.NewProfile()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	tab := p.Tab()
	run := func(js string) {
		t.Helper()
		if err := tab.Eval("(() => {"+js+"})()", nil, 5*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	wait := func(what, expr string) {
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
	wait("the signed-in page", `document.getElementById("balance")`)

	run(`const f = document.getElementById("json-transfer"); f.to.value = "bob"; f.amount.value = "600"; f.requestSubmit();`)
	wait("the confirmation box", `!document.getElementById("confirm").hidden`)
	run(`const f = document.getElementById("confirm-form"); f.password.value = "guess"; f.requestSubmit();`)
	wait("the refusal of a wrong password", `document.querySelector("#json-result.error")`)

	run(`const f = document.getElementById("json-transfer"); f.to.value = "bob"; f.amount.value = "600"; f.requestSubmit();`)
	wait("the second confirmation box", `!document.getElementById("confirm").hidden`)
	run(`const f = document.getElementById("confirm-form"); f.password.value = "wonderland"; f.requestSubmit();`)
	wait("the confirmed transfer", `document.querySelector("#json-result.ok")`)

	var got []string
	for _, tr := range d.bank.Transfers() {
		got = append(got, tr.Path+" "+bank.FormatAmount(tr.Amount))
	}
	if want := "/api/transfer/large 600.00"; strings.Join(got, "; ") != want {
		t.Errorf("transfers %v, want [%s]", got, want)
	}
	// The first attempt was refused by the library (reauth-required) before
	// the bank saw it; the gateway logged it.
	if !strings.Contains(d.stderr.String(), "reason=reauth-required") {
		t.Errorf("no reauth-required refusal in the log:\n%s", d.stderr)
	}
}
