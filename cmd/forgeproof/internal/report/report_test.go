package report_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/report"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/scan/checks"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// sample is a report with an active, a confirmed and a passive finding and
// an operation that had no baseline.
func sample() *report.Report {
	r := &report.Report{Target: "https://bank.example", Source: "openapi.yaml"}
	for _, c := range checks.All {
		r.Rules = append(r.Rules, c.Rule())
	}
	rule := func(id string) *checks.Check { c, _ := checks.Lookup(id); return c }
	nd := rule("no-csrf-defense")
	r.Findings = []report.Finding{
		{Check: nd.ID, Title: nd.Title, Severity: nd.Severity, Method: "POST", Path: "/transfer", Doc: nd.Doc(), Confirmed: true,
			Evidence: report.Evidence{Probe: "cross-site", Status: 200, BaselineStatus: 200, Similarity: 0.97,
				Request: "POST /transfer HTTP/1.1\r\nHost: bank.example\r\nContent-Type: application/x-www-form-urlencoded\r\nCookie: session=…\r\nOrigin: https://forgeproof-attacker.example\r\n\r\namount=5&to=bob",
				Detail:  "a request with a foreign Origin was accepted <like> the legitimate one",
				Browser: "Chromium sent POST https://bank.example/transfer and got 200"},
			PoC: "<!doctype html>\n<form id=\"f\" method=\"POST\" action=\"https://bank.example/transfer\"></form>\n"},
		{Check: "origin-null-accepted", Title: rule("origin-null-accepted").Title, Severity: report.High, Method: "POST", Path: "/api/transfer",
			Doc: rule("origin-null-accepted").Doc(), Evidence: report.Evidence{Probe: "origin-null", Status: 200, BaselineStatus: 200, Similarity: 1,
				Reason: "origin-mismatch", Detail: "a request with Origin: null was accepted"}},
		{Check: "session-cookie-attributes", Title: rule("session-cookie-attributes").Title, Severity: report.Medium, Path: "/login",
			Doc: rule("session-cookie-attributes").Doc(), Evidence: report.Evidence{Detail: "the session cookie \"sid\" set at login has no HttpOnly"}},
		{Check: "security-headers", Title: rule("security-headers").Title, Severity: report.Low, Method: "GET", Path: "/",
			Doc: rule("security-headers").Doc(), Evidence: report.Evidence{Status: 200, Detail: "no Referrer-Policy"}},
	}
	r.Operations = []report.Operation{
		{Method: "POST", Path: "/transfer", BaselineStatus: 200, Probes: []report.ProbeResult{
			{Probe: "cross-site", Status: 200, Similarity: 0.97, Accepted: true},
			{Probe: "origin-null", Status: 403, Similarity: 0.1, Reason: "origin-null"},
		}},
		{Method: "DELETE", Path: "/api/payees/{id}", BaselineStatus: 404, Note: "no baseline: the legitimate request got 404; nothing was probed"},
	}
	r.Hints = []string{"give --login to hold two independent sessions"}
	r.Finish(42, 1500*time.Millisecond)
	return r
}

func TestGolden(t *testing.T) {
	tests := []struct {
		name  string
		write func(*bytes.Buffer, *report.Report) error
	}{
		{"report.txt", func(b *bytes.Buffer, r *report.Report) error { return report.WriteText(b, r, report.TextOptions{}) }},
		{"report-color.txt", func(b *bytes.Buffer, r *report.Report) error {
			return report.WriteText(b, r, report.TextOptions{Color: true})
		}},
		{"report.json", func(b *bytes.Buffer, r *report.Report) error { return report.WriteJSON(b, r) }},
		{"report.sarif", func(b *bytes.Buffer, r *report.Report) error { return report.WriteSARIF(b, r) }},
		{"report.html", func(b *bytes.Buffer, r *report.Report) error { return report.WriteHTML(b, r) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := tt.write(&b, sample()); err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("testdata", tt.name), b.Bytes())
		})
	}
}

func golden(t *testing.T, file string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(file, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run go test -update after checking the change)\ngot:\n%s", file, got)
	}
}

// TestJSONSchema validates the JSON report against report.schema.json, the
// documented schema, and checks its top-level shape.
func TestJSONSchema(t *testing.T) {
	c := jsonschema.NewCompiler()
	f, err := os.Open("report.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	schemaDoc, err := jsonschema.UnmarshalJSON(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.AddResource("report.schema.json", schemaDoc); err != nil {
		t.Fatal(err)
	}
	schema, err := c.Compile("report.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []*report.Report{sample(), {Target: "http://x"}, {Target: "http://x", Version: "v1.2.0+3f2c1a9b8e7d"}} {
		r.Finish(0, 0)
		var out bytes.Buffer
		if err := report.WriteJSON(&out, r); err != nil {
			t.Fatal(err)
		}
		v, err := jsonschema.UnmarshalJSON(&out)
		if err != nil {
			t.Fatal(err)
		}
		if err := schema.Validate(v); err != nil {
			t.Errorf("the report does not match its schema: %v", err)
		}
	}
	// The schema catches a finding without a valid severity.
	bad := sample()
	bad.Findings[0].Severity = 0
	var out bytes.Buffer
	report.WriteJSON(&out, bad)
	v, _ := jsonschema.UnmarshalJSON(&out)
	if err := schema.Validate(v); err == nil {
		t.Error("a finding with severity \"unknown\" passed the schema")
	}

	var b bytes.Buffer
	if err := report.WriteJSON(&b, sample()); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Target   *string `json:"target"`
		Findings []map[string]json.RawMessage
		Summary  map[string]json.RawMessage
	}
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Target == nil || *doc.Target != "https://bank.example" {
		t.Errorf("target = %v", doc.Target)
	}
	for _, f := range doc.Findings {
		for _, k := range []string{"check", "severity", "confirmed", "method", "path", "evidence"} {
			if _, ok := f[k]; !ok {
				t.Errorf("finding lacks %q: %v", k, f)
			}
		}
	}
	for _, k := range []string{"operations", "requests", "findings", "high", "medium", "low", "confirmed", "duration_ms"} {
		if _, ok := doc.Summary[k]; !ok {
			t.Errorf("summary lacks %q", k)
		}
	}
}

// TestSARIF checks what code-scanning upload requires of a SARIF log.
func TestSARIF(t *testing.T) {
	var b bytes.Buffer
	if err := report.WriteSARIF(&b, sample()); err != nil {
		t.Fatal(err)
	}
	var log struct {
		Version string `json:"version"`
		Runs    []struct {
			Tool struct {
				Driver struct {
					Name  string
					Rules []struct {
						ID      string `json:"id"`
						HelpURI string `json:"helpUri"`
					}
				}
			}
			Results []struct {
				RuleID    string `json:"ruleId"`
				RuleIndex int    `json:"ruleIndex"`
				Level     string `json:"level"`
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct{ URI string }
					}
				}
			}
		}
	}
	if err := json.Unmarshal(b.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	if log.Version != "2.1.0" || len(log.Runs) != 1 {
		t.Fatalf("version %q, %d runs", log.Version, len(log.Runs))
	}
	run := log.Runs[0]
	if len(run.Tool.Driver.Rules) != len(checks.All) {
		t.Errorf("%d rules, want %d", len(run.Tool.Driver.Rules), len(checks.All))
	}
	for _, r := range run.Tool.Driver.Rules {
		if r.HelpURI != checks.DocBase+r.ID+".md" {
			t.Errorf("rule %s helpUri %q", r.ID, r.HelpURI)
		}
	}
	if len(run.Results) != 4 {
		t.Fatalf("%d results, want 4", len(run.Results))
	}
	levels := map[string]string{"no-csrf-defense": "error", "origin-null-accepted": "error", "session-cookie-attributes": "warning", "security-headers": "note"}
	for _, res := range run.Results {
		if res.Level != levels[res.RuleID] {
			t.Errorf("%s: level %q, want %q", res.RuleID, res.Level, levels[res.RuleID])
		}
		if run.Tool.Driver.Rules[res.RuleIndex].ID != res.RuleID {
			t.Errorf("%s: ruleIndex %d points at %s", res.RuleID, res.RuleIndex, run.Tool.Driver.Rules[res.RuleIndex].ID)
		}
		if len(res.Locations) != 1 || res.Locations[0].PhysicalLocation.ArtifactLocation.URI != "openapi.yaml" {
			t.Errorf("%s: locations %+v", res.RuleID, res.Locations)
		}
	}
}

// TestHTMLEscapes checks that evidence cannot inject markup into the HTML
// report.
func TestHTMLEscapes(t *testing.T) {
	var b bytes.Buffer
	if err := report.WriteHTML(&b, sample()); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b.Bytes(), []byte("<like>")) || !bytes.Contains(b.Bytes(), []byte("&lt;like&gt;")) {
		t.Error("evidence was not escaped")
	}
	if bytes.Contains(b.Bytes(), []byte("<form id=")) {
		t.Error("the proof of concept was rendered as markup")
	}
}

func TestParseSeverity(t *testing.T) {
	for _, s := range []string{"low", "medium", "high"} {
		v, err := report.ParseSeverity(s)
		if err != nil || v.String() != s {
			t.Errorf("ParseSeverity(%q) = %v, %v", s, v, err)
		}
	}
	if _, err := report.ParseSeverity("critical"); err == nil {
		t.Error("ParseSeverity(critical) succeeded")
	}
}
