package attack

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func TestPagesRender(t *testing.T) {
	tgt := BankTarget("https://bank.test")
	seen := map[string]bool{}
	for _, c := range Cases() {
		if seen[c.Name] {
			t.Errorf("two cases named %q", c.Name)
		}
		seen[c.Name] = true
		if (c.Page == "") == (c.Steps == nil) {
			t.Errorf("%s: want exactly one of Page and Steps", c.Name)
			continue
		}
		if c.Page == "" {
			continue
		}
		tmpl, err := compilePage(c)
		if err != nil {
			t.Errorf("%s: %v", c.Name, err)
			continue
		}
		var buf bytes.Buffer
		if err := tmpl.Execute(&buf, newPageData(tgt, "run1", "tok")); err != nil {
			t.Errorf("%s: %v", c.Name, err)
			continue
		}
		page := buf.String()
		if strings.Contains(page, "ZgotmplZ") {
			t.Errorf("%s: html/template refused a value:\n%s", c.Name, page)
		}
		body := page[strings.Index(page, "<title>attacker</title>"):]
		if !strings.Contains(body, "bank.test") && !strings.Contains(body, "data:text/html;base64,") {
			t.Errorf("%s: the page does not aim at the target:\n%s", c.Name, body)
		}
	}
	if n := len(Attacks()); n < 25 {
		t.Errorf("%d attacks; want at least 25", n)
	}
}

func TestPlainTextBodyIsJSON(t *testing.T) {
	for _, body := range []string{`{"to":"mallory","amount":"1"}`, `{}`, `{"a":{"b":[1,2]}}`} {
		tgt := BankTarget("https://bank.test")
		tgt.JSONBody = body
		d := newPageData(tgt, "r", "")
		// A text/plain form sends name=value.
		sent := d.PlainName + "=" + d.PlainValue
		var got map[string]any
		if err := json.Unmarshal([]byte(sent), &got); err != nil {
			t.Errorf("body %s: the form sends %s, not JSON: %v", body, sent, err)
			continue
		}
		var want map[string]any
		json.Unmarshal([]byte(body), &want)
		for k, v := range want {
			if g, _ := json.Marshal(got[k]); string(g) != mustJSON(v) {
				t.Errorf("body %s: field %s = %s; want %s", body, k, g, mustJSON(v))
			}
		}
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestTargetCheck(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Target)
		want   string // substring of the error, "" for none
	}{
		{"bank", func(*Target) {}, ""},
		{"http origin", func(t *Target) { t.Origin = "http://bank.test" }, "must use https"},
		{"origin with path", func(t *Target) { t.Origin = "https://bank.test/app" }, "not an origin"},
		{"no form path", func(t *Target) { t.FormPath = "" }, "FormPath is empty"},
		{"bad form fields", func(t *Target) { t.FormFields = "a=%zz" }, "FormFields"},
		{"JSON not an object", func(t *Target) { t.JSONBody = `[1]` }, "JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tgt := BankTarget("https://bank.test")
			tt.modify(&tgt)
			err := tgt.check()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("check() = %v; want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("check() = %v; want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestWriteTableGolden(t *testing.T) {
	results := []Result{
		{Victim: "control", Case: "form-urlencoded", Want: "effect", Got: "transfer alice→mallory 1.00 (form)", Pass: true},
		{Victim: "control", Case: "custom-header-fetch", Want: "no effect", Got: "none; browser blocked POST (cors: PreflightMissingAllowOriginHeader)", Pass: true},
		{Victim: "control", Case: "form-multipart", Want: "effect", Skipped: "target has no multipart", Pass: true},
		{Victim: "library/signed", Case: "form-urlencoded", Want: "no effect", Got: "none; refused: POST /transfer 403 sec-fetch-site-cross-site", Pass: true},
		{Victim: "library/signed", Case: "login-csrf", Want: "no effect", Got: "login mallory", Pass: false},
	}
	var buf bytes.Buffer
	passed, failed := WriteTable(&buf, results)
	if passed != 3 || failed != 1 {
		t.Errorf("WriteTable = %d passed, %d failed; want 3, 1", passed, failed)
	}
	golden := filepath.Join("testdata", "table.golden")
	if *update {
		if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if buf.String() != string(want) {
		t.Errorf("table differs from %s (run with -update after checking):\n%s", golden, buf.String())
	}
}
