package checks

import (
	"net/http"
	"slices"
	"strings"

	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/report"
)

// The SameSite modes of a session, from the weakest session cookie set at
// login.
const (
	SameSiteUnknown = ""       // no login response was seen (--cookie)
	SameSiteNone    = "none"   // SameSite=None
	SameSiteAbsent  = "absent" // no SameSite attribute
	SameSiteLax     = "lax"
	SameSiteStrict  = "strict"
)

// postProbes are forged requests that a cross-site page sends as a POST.
var postProbes = []string{ProbeCrossSite, ProbeOriginNull, ProbeNoReferer, ProbeFetchMetadata, ProbeOtherScheme,
	ProbeTokenEmpty, ProbeTokenOtherSession, ProbeOverridePost}

// getProbes are forged requests that a cross-site page sends as a
// top-level GET navigation.
var getProbes = []string{ProbeGet, ProbeGetEffect, ProbeOverrideGet, ProbeOverrideHeader}

// sameSiteProbes come from the same site, where SameSite does not apply.
var sameSiteProbes = []string{ProbeSameSite, ProbeSameSitePort, ProbeDoubleSubmit}

// SessionSameSite returns the weakest SameSite mode among the session
// cookies that the login response set (token cookies and deleted cookies
// aside), or SameSiteUnknown.
func SessionSameSite(p *Pass) string {
	rank := map[string]int{SameSiteNone: 0, SameSiteAbsent: 1, SameSiteLax: 2, SameSiteStrict: 3}
	mode := SameSiteUnknown
	for _, sc := range p.SetCookies {
		ck := sc.Cookie
		if !sc.Login || tokenCookieNames[strings.ToLower(ck.Name)] || ck.MaxAge < 0 || ck.Value == "" {
			continue
		}
		var m string
		switch ck.SameSite {
		case http.SameSiteNoneMode:
			m = SameSiteNone
		case http.SameSiteLaxMode:
			m = SameSiteLax
		case http.SameSiteStrictMode:
			m = SameSiteStrict
		default: // absent (0) or an unknown value, which browsers ignore
			m = SameSiteAbsent
		}
		if mode == SameSiteUnknown || rank[m] < rank[mode] {
			mode = m
		}
	}
	return mode
}

// ApplySameSite states in f's detail what browsers do with a session
// cookie of the given SameSite mode on f's forged request, and lowers f's
// severity where current browsers do not carry the attack out: a POST
// from another site under SameSite=Lax stays at least medium (Chromium
// sends a fresh Lax cookie on a cross-site POST for two minutes, older
// browsers ignore SameSite, a same-site attacker is not stopped), and only
// SameSite=Strict lowers a cross-site finding to low. A cookie without
// the attribute changes nothing: Firefox and Safari do not default to Lax.
func ApplySameSite(f *report.Finding, mode string) {
	probe := f.Evidence.Probe
	post, get, same := slices.Contains(postProbes, probe), slices.Contains(getProbes, probe), slices.Contains(sameSiteProbes, probe)
	if !post && !get && !same {
		return
	}
	var note string
	switch {
	case same:
		note = "SameSite does not stop this attacker: a sibling subdomain or another port of the host is the same site, so the browser sends even SameSite=Strict cookies."
	case mode == SameSiteUnknown:
		note = "The session cookie's SameSite attribute is unknown (the scan did not see the login set it): with SameSite=None or none at all, browsers send it on this cross-site request."
	case mode == SameSiteNone:
		note = "The session cookie is SameSite=None: every browser sends it on this cross-site request."
	case mode == SameSiteAbsent:
		note = "The session cookie has no SameSite attribute: Firefox and Safari send it on cross-site requests, and Chromium, which treats it as Lax, still sends it on a cross-site top-level POST within two minutes of it being set."
	case mode == SameSiteLax && get:
		note = "The session cookie is SameSite=Lax, which browsers send on a cross-site top-level GET navigation: current browsers carry this out."
	case mode == SameSiteLax:
		if f.Severity > report.Medium {
			f.Severity = report.Medium
		}
		note = "The session cookie is SameSite=Lax: current browsers do not send it on a cross-site POST, except Chromium within two minutes of the cookie being set (Lax-on-POST); a browser that ignores SameSite, or an attacker on a sibling subdomain (the same site), can still carry this out. Not exploitable cross-site in current browsers once the cookie is two minutes old."
	case mode == SameSiteStrict:
		f.Severity = report.Low
		note = "The session cookie is SameSite=Strict: current browsers send it on no cross-site request; a browser that ignores SameSite, or an attacker on a sibling subdomain (the same site), can still carry this out."
	}
	f.Evidence.Detail = strings.TrimRight(f.Evidence.Detail, ". ") + ". " + note
}

// CarriedOut reports whether current browsers send the session cookie
// with the forged request of probe, given the session's SameSite mode: a
// cross-site POST not under SameSite=Lax or Strict, a cross-site GET
// navigation not under Strict, and any same-site request.
func CarriedOut(probe, mode string) bool {
	switch {
	case slices.Contains(sameSiteProbes, probe):
		return true
	case mode == SameSiteStrict:
		return false
	case mode == SameSiteLax:
		return !slices.Contains(postProbes, probe)
	}
	return true
}
