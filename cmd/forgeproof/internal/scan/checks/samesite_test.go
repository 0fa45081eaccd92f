package checks_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/report"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/scan/checks"
)

// TestSameSiteSeverity checks the severity and text of a finding under
// each SameSite mode of the session cookie.
func TestSameSiteSeverity(t *testing.T) {
	tests := []struct {
		name, probe, mode string
		want              report.Severity
		text              string
		carried           bool
	}{
		{"POST, no attribute", checks.ProbeCrossSite, checks.SameSiteAbsent, report.High, "Firefox and Safari", true},
		{"POST, None", checks.ProbeCrossSite, checks.SameSiteNone, report.High, "every browser", true},
		{"POST, Lax", checks.ProbeCrossSite, checks.SameSiteLax, report.Medium, "Lax-on-POST", false},
		{"POST, Strict", checks.ProbeOriginNull, checks.SameSiteStrict, report.Low, "SameSite=Strict", false},
		{"GET, Lax", checks.ProbeGetEffect, checks.SameSiteLax, report.High, "top-level GET", true},
		{"GET, Strict", checks.ProbeGet, checks.SameSiteStrict, report.Low, "SameSite=Strict", false},
		{"same-site, Strict", checks.ProbeSameSite, checks.SameSiteStrict, report.Medium, "same site", true},
		{"tossed cookie, Lax", checks.ProbeDoubleSubmit, checks.SameSiteLax, report.Medium, "same site", true},
		{"unknown", checks.ProbeCrossSite, checks.SameSiteUnknown, report.High, "unknown", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sev := report.High
			if strings.HasPrefix(tt.probe, "same-site") || tt.probe == checks.ProbeDoubleSubmit {
				sev = report.Medium
			}
			f := report.Finding{Severity: sev, Evidence: report.Evidence{Probe: tt.probe, Detail: "accepted."}}
			checks.ApplySameSite(&f, tt.mode)
			if f.Severity != tt.want || !strings.Contains(f.Evidence.Detail, tt.text) {
				t.Errorf("got %s: %q, want %s mentioning %q", f.Severity, f.Evidence.Detail, tt.want, tt.text)
			}
			if got := checks.CarriedOut(tt.probe, tt.mode); got != tt.carried {
				t.Errorf("CarriedOut = %v, want %v", got, tt.carried)
			}
		})
	}
}

// TestSessionSameSite reads the weakest SameSite of the login's session
// cookies, from raw Set-Cookie lines (an absent attribute is not Lax).
func TestSessionSameSite(t *testing.T) {
	tests := []struct {
		lines []string
		want  string
	}{
		{[]string{"session=a; HttpOnly"}, checks.SameSiteAbsent},
		{[]string{"sessionid=a; HttpOnly; SameSite=Lax", "csrftoken=t; SameSite=Lax"}, checks.SameSiteLax},
		{[]string{"sid=a; SameSite=Strict", "remember=b; SameSite=Lax"}, checks.SameSiteLax},
		{[]string{"sid=a; SameSite=Strict", "XSRF-TOKEN=t"}, checks.SameSiteStrict},
		{[]string{"sid=a; SameSite=None; Secure"}, checks.SameSiteNone},
		{[]string{"sid=a; SameSite=Bogus"}, checks.SameSiteAbsent},
		{nil, checks.SameSiteUnknown},
	}
	for _, tt := range tests {
		p := &checks.Pass{}
		for _, l := range tt.lines {
			c, err := http.ParseSetCookie(l)
			if err != nil {
				t.Fatal(err)
			}
			p.SetCookies = append(p.SetCookies, checks.SetCookie{Cookie: c, Login: true})
		}
		if got := checks.SessionSameSite(p); got != tt.want {
			t.Errorf("%q: %q, want %q", tt.lines, got, tt.want)
		}
	}
}
