// Package report holds the result of a forgeproof scan and writes it as
// text, JSON, SARIF 2.1.0 or a self-contained HTML page.
//
// # JSON schema
//
// The JSON form (see [WriteJSON]) is a stable interface; fields are added,
// never renamed or removed. report.schema.json, beside this file, is its
// JSON Schema; in short:
//
//	{
//	  "target":   "https://app.example",          // the scanned origin
//	  "findings": [{
//	      "check":     "token-optional",         // a check id, see docs/checks/
//	      "title":     "...",                    // the check's title
//	      "severity":  "high",                   // high, medium or low
//	      "confirmed": false,                    // true when --confirm proved it in Chromium
//	      "method":    "POST", "path": "/transfer",
//	      "evidence":  {"probe", "request", "status", "baseline_status",
//	                    "similarity", "reason", "detail", "browser"},
//	      "doc":       "https://.../docs/checks/token-optional.md",
//	      "poc":       "<!doctype html>..."       // a proof-of-concept page
//	  }],
//	  "operations": [{"method", "path", "baseline_status", "note", "probes"}],
//	  "summary":  {"operations", "requests", "findings", "high", "medium",
//	               "low", "confirmed", "duration_ms"}
//	}
package report

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// A Severity ranks a finding. The zero Severity is invalid.
type Severity int

// The severities, from least to most severe.
const (
	// Low marks hardening advice: missing layers of defense.
	Low Severity = iota + 1
	// Medium marks weaknesses that need another flaw or condition.
	Medium
	// High marks requests a cross-site page can forge today.
	High
)

// String returns "low", "medium" or "high".
func (s Severity) String() string {
	switch s {
	case Low:
		return "low"
	case Medium:
		return "medium"
	case High:
		return "high"
	}
	return "unknown"
}

// MarshalText implements [encoding.TextMarshaler].
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements [encoding.TextUnmarshaler].
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	*s = v
	return err
}

// ParseSeverity parses "low", "medium" or "high".
func ParseSeverity(s string) (Severity, error) {
	switch s {
	case "low":
		return Low, nil
	case "medium":
		return Medium, nil
	case "high":
		return High, nil
	}
	return 0, fmt.Errorf("unknown severity %q (want high, medium or low)", s)
}

// A Rule describes a check for reports that list them (SARIF, HTML).
type Rule struct {
	ID       string
	Title    string
	Severity Severity
	Doc      string // URL of the check's documentation page
}

// Evidence is what a finding rests on.
type Evidence struct {
	// Probe names the variant of the request that was sent, such as
	// "cross-site" or "origin-null"; empty for passive checks.
	Probe string `json:"probe,omitempty"`
	// Request is the probe request as sent (request line and headers,
	// cookie values redacted, then the body).
	Request string `json:"request,omitempty"`
	// Status is the status code the probe got.
	Status int `json:"status,omitempty"`
	// BaselineStatus is the status code of the legitimate request.
	BaselineStatus int `json:"baseline_status,omitempty"`
	// Similarity is how alike the probe's and the baseline's responses
	// were, from 0 to 1.
	Similarity float64 `json:"similarity,omitempty"`
	// Reason is the forgeproof rejection reason that a related probe got,
	// when the server named one in a problem+json body.
	Reason string `json:"reason,omitempty"`
	// Detail explains the finding in one or two sentences.
	Detail string `json:"detail"`
	// Browser describes what Chromium sent and got with --confirm.
	Browser string `json:"browser,omitempty"`
}

// A Finding is one weakness of one endpoint.
type Finding struct {
	Check     string   `json:"check"`
	Title     string   `json:"title"`
	Severity  Severity `json:"severity"`
	Confirmed bool     `json:"confirmed"`
	Method    string   `json:"method"`
	Path      string   `json:"path"`
	Evidence  Evidence `json:"evidence"`
	Doc       string   `json:"doc"`
	// PoC is a self-contained HTML page that performs the attack when
	// opened in a browser that is signed in to the target.
	PoC string `json:"poc,omitempty"`
}

// A ProbeResult summarizes one probe of an operation.
type ProbeResult struct {
	Probe      string  `json:"probe"`
	Status     int     `json:"status"`
	Similarity float64 `json:"similarity"`
	Accepted   bool    `json:"accepted"`
	Reason     string  `json:"reason,omitempty"`
}

// An Operation is one state-changing endpoint that was probed.
type Operation struct {
	Method         string `json:"method"`
	Path           string `json:"path"`
	BaselineStatus int    `json:"baseline_status"`
	// Note says why an operation was not (fully) probed, such as
	// "no baseline".
	Note   string        `json:"note,omitempty"`
	Probes []ProbeResult `json:"probes,omitempty"`
}

// Summary counts what a scan did and found.
type Summary struct {
	Operations int   `json:"operations"`
	Requests   int   `json:"requests"`
	Findings   int   `json:"findings"`
	High       int   `json:"high"`
	Medium     int   `json:"medium"`
	Low        int   `json:"low"`
	Confirmed  int   `json:"confirmed"`
	DurationMS int64 `json:"duration_ms"`
}

// A Report is the result of a scan.
type Report struct {
	// Version is the version of forgeproof that made the report (see
	// forgeproof version), or "".
	Version    string      `json:"version,omitempty"`
	Target     string      `json:"target"`
	Findings   []Finding   `json:"findings"`
	Operations []Operation `json:"operations"`
	Summary    Summary     `json:"summary"`
	// Warnings are conditions that weaken the scan's own trust, such as
	// TLS certificate verification turned off (--insecure).
	Warnings []string `json:"warnings,omitempty"`
	// Rules are the checks that ran, for SARIF and HTML.
	Rules []Rule `json:"-"`
	// Source is the input file the operations came from (an OpenAPI
	// document or HAR file), used as the location of SARIF results.
	Source string `json:"-"`
	// Hints are advice for the reader of the text report.
	Hints []string `json:"-"`
}

// Finish sorts the findings (by path, method, severity, check) and fills in
// the summary counts. d is the scan's duration.
func (r *Report) Finish(requests int, d time.Duration) {
	sort.SliceStable(r.Findings, func(i, j int) bool {
		a, b := r.Findings[i], r.Findings[j]
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		if a.Method != b.Method {
			return a.Method < b.Method
		}
		if a.Severity != b.Severity {
			return a.Severity > b.Severity
		}
		return a.Check < b.Check
	})
	sort.SliceStable(r.Operations, func(i, j int) bool {
		a, b := r.Operations[i], r.Operations[j]
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		return a.Method < b.Method
	})
	if r.Findings == nil {
		r.Findings = []Finding{}
	}
	if r.Operations == nil {
		r.Operations = []Operation{}
	}
	s := Summary{Operations: len(r.Operations), Requests: requests, Findings: len(r.Findings), DurationMS: d.Milliseconds()}
	for _, f := range r.Findings {
		switch f.Severity {
		case High:
			s.High++
		case Medium:
			s.Medium++
		case Low:
			s.Low++
		}
		if f.Confirmed {
			s.Confirmed++
		}
	}
	r.Summary = s
}

// AtLeast reports whether some finding has severity min or above.
func (r *Report) AtLeast(min Severity) bool {
	for _, f := range r.Findings {
		if f.Severity >= min {
			return true
		}
	}
	return false
}

// endpoint names a finding's endpoint for grouping.
func (f *Finding) endpoint() string {
	return strings.TrimSpace(f.Method + " " + f.Path)
}
