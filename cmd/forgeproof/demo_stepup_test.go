package main

import (
	"strings"
	"testing"

	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/bank"
)

// TestDemoStepUpInBrowser makes a large transfer in the demo in a real
// browser: the page asks for the password, the bank checks it, the gateway
// mints the proof, and the transfer goes through once; a wrong password
// moves no money.
func TestDemoStepUpInBrowser(t *testing.T) {
	d, run, wait := signedInDemo(t)

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
