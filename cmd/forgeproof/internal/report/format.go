package report

import (
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"strings"
)

// TextOptions controls [WriteText].
type TextOptions struct {
	// Color adds ANSI colours, for a terminal.
	Color bool
}

const (
	ansiReset = "\x1b[0m"
	ansiBold  = "\x1b[1m"
	ansiRed   = "\x1b[31m"
	ansiYel   = "\x1b[33m"
	ansiCyan  = "\x1b[36m"
	ansiGreen = "\x1b[32m"
	ansiDim   = "\x1b[2m"
)

// WriteText writes a report for people, grouped by endpoint.
func WriteText(w io.Writer, r *Report, opts TextOptions) error {
	c := func(code, s string) string {
		if !opts.Color {
			return s
		}
		return code + s + ansiReset
	}
	sev := func(s Severity) string {
		label := fmt.Sprintf("%-6s", strings.ToUpper(s.String()))
		switch s {
		case High:
			return c(ansiRed+ansiBold, label)
		case Medium:
			return c(ansiYel, label)
		}
		return c(ansiCyan, label)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s\n\n", c(ansiBold, "forgeproof scan of"), r.Target)
	for _, w := range r.Warnings {
		fmt.Fprintf(&b, "%s %s\n\n", c(ansiRed+ansiBold, "WARNING:"), w)
	}
	last := "\x00"
	for i := range r.Findings {
		f := &r.Findings[i]
		if ep := f.endpoint(); ep != last {
			if last != "\x00" {
				b.WriteString("\n")
			}
			fmt.Fprintf(&b, "%s\n", c(ansiBold, ep))
			last = ep
		}
		confirmed := ""
		if f.Confirmed {
			confirmed = " " + c(ansiGreen, "[confirmed in Chromium]")
		}
		fmt.Fprintf(&b, "  %s %s: %s%s\n", sev(f.Severity), f.Check, f.Title, confirmed)
		fmt.Fprintf(&b, "         %s\n", f.Evidence.Detail)
		if f.Evidence.Probe != "" {
			line := fmt.Sprintf("probe %s: status %d (baseline %d), similarity %.2f",
				f.Evidence.Probe, f.Evidence.Status, f.Evidence.BaselineStatus, f.Evidence.Similarity)
			if f.Evidence.Reason != "" {
				line += "; the plain cross-site request was refused with reason " + f.Evidence.Reason
			}
			fmt.Fprintf(&b, "         %s\n", c(ansiDim, line))
		}
		if f.Evidence.Browser != "" {
			fmt.Fprintf(&b, "         %s\n", c(ansiDim, "browser: "+f.Evidence.Browser))
		}
		fmt.Fprintf(&b, "         %s\n", c(ansiDim, "see "+f.Doc))
	}
	if len(r.Findings) == 0 {
		fmt.Fprintf(&b, "%s\n", c(ansiGreen, "no findings"))
	}
	var notes []string
	for _, op := range r.Operations {
		if op.Note != "" {
			notes = append(notes, fmt.Sprintf("  %s %s: %s", op.Method, op.Path, op.Note))
		}
	}
	if len(notes) > 0 {
		fmt.Fprintf(&b, "\n%s\n%s\n", c(ansiBold, "Notes"), strings.Join(notes, "\n"))
	}
	s := r.Summary
	fmt.Fprintf(&b, "\n%s, %s, %s (%d high, %d medium, %d low), %d confirmed\n",
		plural(s.Operations, "operation"), plural(s.Requests, "request"), plural(s.Findings, "finding"), s.High, s.Medium, s.Low, s.Confirmed)
	for _, h := range r.Hints {
		fmt.Fprintf(&b, "hint: %s\n", h)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// WriteJSON writes the report as indented JSON (schema in the package
// documentation).
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}

// SARIF 2.1.0, the subset that code-scanning services read.
type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool    sarifTool     `json:"tool"`
	Results []sarifResult `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version,omitempty"`
	InformationURI string      `json:"informationUri"`
	Rules          []sarifRule `json:"rules"`
}

type sarifRule struct {
	ID                   string            `json:"id"`
	Name                 string            `json:"name"`
	ShortDescription     sarifText         `json:"shortDescription"`
	HelpURI              string            `json:"helpUri"`
	Help                 sarifText         `json:"help"`
	DefaultConfiguration sarifRuleConfig   `json:"defaultConfiguration"`
	Properties           map[string]string `json:"properties"`
}

type sarifRuleConfig struct {
	Level string `json:"level"`
}

type sarifText struct {
	Text string `json:"text"`
}

type sarifResult struct {
	RuleID              string            `json:"ruleId"`
	RuleIndex           int               `json:"ruleIndex"`
	Level               string            `json:"level"`
	Message             sarifText         `json:"message"`
	Locations           []sarifLocation   `json:"locations"`
	PartialFingerprints map[string]string `json:"partialFingerprints"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical `json:"physicalLocation"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           sarifRegion   `json:"region"`
}

type sarifArtifact struct {
	URI string `json:"uri"`
}

type sarifRegion struct {
	StartLine int `json:"startLine"`
}

func sarifLevel(s Severity) string {
	switch s {
	case High:
		return "error"
	case Medium:
		return "warning"
	}
	return "note"
}

// WriteSARIF writes the report as a SARIF 2.1.0 log suitable for
// code-scanning upload. Results point at the report's Source file (the
// OpenAPI document or HAR file) when there is one, else at the target URL.
func WriteSARIF(w io.Writer, r *Report) error {
	driver := sarifDriver{
		Name:           "forgeproof",
		Version:        r.Version,
		InformationURI: "https://github.com/forgeproof/forgeproof/blob/main/docs/SCANNER.md",
		Rules:          []sarifRule{},
	}
	index := map[string]int{}
	for _, rule := range r.Rules {
		index[rule.ID] = len(driver.Rules)
		driver.Rules = append(driver.Rules, sarifRule{
			ID:                   rule.ID,
			Name:                 rule.ID,
			ShortDescription:     sarifText{rule.Title},
			HelpURI:              rule.Doc,
			Help:                 sarifText{rule.Title + ". See " + rule.Doc},
			DefaultConfiguration: sarifRuleConfig{sarifLevel(rule.Severity)},
			Properties:           map[string]string{"security-severity": securitySeverity(rule.Severity)},
		})
	}
	uri := r.Source
	if uri == "" {
		uri = r.Target
	}
	results := []sarifResult{}
	for _, f := range r.Findings {
		i, ok := index[f.Check]
		if !ok {
			return fmt.Errorf("report: finding for check %q that is not among the rules", f.Check)
		}
		msg := f.endpoint() + ": " + f.Title + ". " + f.Evidence.Detail
		if f.Confirmed {
			msg += " Confirmed in Chromium."
		}
		results = append(results, sarifResult{
			RuleID:    f.Check,
			RuleIndex: i,
			Level:     sarifLevel(f.Severity),
			Message:   sarifText{msg},
			Locations: []sarifLocation{{sarifPhysical{sarifArtifact{uri}, sarifRegion{1}}}},
			PartialFingerprints: map[string]string{
				"forgeproofEndpoint/v1": f.Check + " " + f.endpoint(),
			},
		})
	}
	log := sarifLog{
		Schema:  "https://json.schemastore.org/sarif-2.1.0.json",
		Version: "2.1.0",
		Runs:    []sarifRun{{Tool: sarifTool{driver}, Results: results}},
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(log)
}

// securitySeverity maps a severity to the CVSS-like score that GitHub code
// scanning reads from the rule's "security-severity" property.
func securitySeverity(s Severity) string {
	switch s {
	case High:
		return "8.0"
	case Medium:
		return "5.0"
	}
	return "2.0"
}

var htmlReport = template.Must(template.New("report").Funcs(template.FuncMap{
	"lower": strings.ToLower,
}).Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>forgeproof scan of {{.Target}}</title>
<style>
body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:70rem;padding:0 1rem;color:#1b1f24}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:2rem;border-bottom:1px solid #d0d7de}
.f{border:1px solid #d0d7de;border-radius:6px;padding:.6rem 1rem;margin:.8rem 0}
.high{border-left:6px solid #cf222e}.medium{border-left:6px solid #bf8700}.low{border-left:6px solid #0969da}
.sev{font-weight:700;text-transform:uppercase;margin-right:.5rem}.ok{color:#1a7f37;font-weight:700}
pre{background:#f6f8fa;padding:.6rem;overflow:auto;font-size:13px}table{border-collapse:collapse}
td,th{border:1px solid #d0d7de;padding:.2rem .6rem;text-align:left}
</style>
</head>
<body>
<h1>forgeproof scan of <code>{{.Target}}</code></h1>
{{range .Warnings}}<p class="f high"><span class="sev">Warning</span>{{.}}</p>
{{end}}<p>{{.Summary.Operations}} operations, {{.Summary.Requests}} requests, {{.Summary.Findings}} findings
({{.Summary.High}} high, {{.Summary.Medium}} medium, {{.Summary.Low}} low), {{.Summary.Confirmed}} confirmed.</p>
{{if not .Findings}}<p class="ok">No findings.</p>{{end}}
{{range .Findings}}<div class="f {{lower .Severity.String}}">
<p><span class="sev">{{.Severity}}</span><strong>{{.Method}} {{.Path}}</strong>: <a href="{{.Doc}}">{{.Check}}</a>, {{.Title}}{{if .Confirmed}} <span class="ok">confirmed in Chromium</span>{{end}}</p>
<p>{{.Evidence.Detail}}</p>
{{if .Evidence.Probe}}<p>Probe <code>{{.Evidence.Probe}}</code>: status {{.Evidence.Status}} (baseline {{.Evidence.BaselineStatus}}), similarity {{printf "%.2f" .Evidence.Similarity}}{{if .Evidence.Reason}}; the plain cross-site request was refused with reason <code>{{.Evidence.Reason}}</code>{{end}}</p>{{end}}
{{if .Evidence.Browser}}<p>Browser: {{.Evidence.Browser}}</p>{{end}}
{{if .Evidence.Request}}<details><summary>Request sent</summary><pre>{{.Evidence.Request}}</pre></details>{{end}}
{{if .PoC}}<details><summary>Proof-of-concept page</summary><pre>{{.PoC}}</pre></details>{{end}}
</div>
{{end}}
{{if .Operations}}<h2>Operations</h2>
<table><tr><th>Operation</th><th>Baseline</th><th>Probes accepted</th><th>Note</th></tr>
{{range .Operations}}<tr><td>{{.Method}} {{.Path}}</td><td>{{.BaselineStatus}}</td><td>{{range .Probes}}{{if .Accepted}}{{.Probe}} {{end}}{{end}}</td><td>{{.Note}}</td></tr>
{{end}}</table>{{end}}
</body>
</html>
`))

// WriteHTML writes the report as one self-contained HTML page (inline
// styles, no scripts, no external resources).
func WriteHTML(w io.Writer, r *Report) error {
	return htmlReport.Execute(w, r)
}
