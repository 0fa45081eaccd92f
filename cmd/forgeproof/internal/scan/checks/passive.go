package checks

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/forgeproof/forgeproof"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/report"
)

// tokenCookieNames are cookies that carry anti-CSRF tokens, not sessions.
var tokenCookieNames = map[string]bool{
	"xsrf-token": true, "csrftoken": true, "csrf-token": true, "csrf_token": true,
	"csrf": true, "__host-csrf": true, "_csrf": true, "x-csrf-token": true, "__host-psifi.x-csrf-token": true,
	"_xsrf": true,
}

// SessionCookie: the session cookie lacks the attributes that limit CSRF
// and theft.
var SessionCookie = &Check{
	ID:       "session-cookie-attributes",
	Title:    "session cookie without protective attributes",
	Severity: report.Medium,
	Run: func(c *Check, p *Pass) {
		https := p.Target.Scheme == "https"
		seen := map[string]bool{}
		for _, sc := range p.SetCookies {
			ck := sc.Cookie
			if !sc.Login || seen[ck.Name] || tokenCookieNames[strings.ToLower(ck.Name)] || ck.MaxAge < 0 {
				continue
			}
			seen[ck.Name] = true
			var missing []string
			switch ck.SameSite {
			case 0, http.SameSiteDefaultMode:
				// Go's parser leaves SameSite at 0 when the attribute is
				// absent.
				missing = append(missing, "no SameSite attribute")
			case http.SameSiteNoneMode:
				missing = append(missing, "SameSite=None")
			}
			if !ck.HttpOnly {
				missing = append(missing, "no HttpOnly")
			}
			if https && !ck.Secure {
				missing = append(missing, "no Secure")
			}
			if https && !strings.HasPrefix(ck.Name, "__Host-") {
				missing = append(missing, "no __Host- prefix")
			}
			if len(missing) == 0 {
				continue
			}
			c.report(p, "", sc.Path, report.Evidence{Detail: fmt.Sprintf(
				"the session cookie %q set at login has %s; use SameSite=Lax (or Strict), HttpOnly, Secure and the __Host- prefix", ck.Name, strings.Join(missing, ", "))}, "")
		}
	},
}

// CORS: credentialed cross-origin reads are granted to any origin.
var CORS = &Check{
	ID:       "cors-misconfiguration",
	Title:    "CORS grants credentialed access to untrusted origins",
	Severity: report.High,
	Run: func(c *Check, p *Pass) {
		for _, ex := range p.CORS {
			acao := ex.Header.Get("Access-Control-Allow-Origin")
			creds := strings.EqualFold(ex.Header.Get("Access-Control-Allow-Credentials"), "true")
			sent := ex.Request.Header.Get("Origin")
			var detail string
			switch {
			case !creds || acao == "":
			case acao == "*":
				detail = "Access-Control-Allow-Origin: * together with Access-Control-Allow-Credentials: true: the server grants credentials to every origin (browsers refuse the pair, but it shows an origin policy that reflects anything)"
			case acao == "null" && sent == "null":
				detail = "Origin: null is allowed with credentials: any page can read responses and send preflighted requests from a sandboxed iframe"
			case acao == sent && sent != "" && !sameOriginString(sent, p.Target):
				detail = fmt.Sprintf("the untrusted Origin %s was reflected in Access-Control-Allow-Origin with credentials: any site can read the signed-in user's data and tokens, and send JSON requests", sent)
			}
			if detail == "" {
				continue
			}
			c.report(p, ex.Request.Method, ex.Request.URL.Path, report.Evidence{Probe: ex.Probe, Request: DumpRequest(ex.Request), Status: ex.Status, Detail: detail}, corsPoC(ex.Request.URL, sent == "null"))
		}
	},
}

// sameOriginString reports whether origin, as a server reflected it, is
// the target's origin, by the library's rule (case and default ports do
// not count).
func sameOriginString(origin string, target *url.URL) bool {
	a, err := forgeproof.CanonicalOrigin(origin)
	if err != nil {
		return false
	}
	b, err := forgeproof.CanonicalOrigin(target.Scheme + "://" + target.Host)
	return err == nil && a == b
}

// SecurityHeaders: HTML pages without the headers that contain injected
// script and framing.
var SecurityHeaders = &Check{
	ID:       "security-headers",
	Title:    "missing or weak security headers on an HTML page",
	Severity: report.Low,
	Run: func(c *Check, p *Pass) {
		seen := map[string]bool{}
		for _, pg := range p.Pages {
			if !isHTML(pg) || seen[pg.URL.Path] || pg.Status/100 != 2 {
				continue
			}
			seen[pg.URL.Path] = true
			var issues []string
			csp := strings.Join(pg.Header.Values("Content-Security-Policy"), ",")
			switch {
			case csp == "":
				issues = append(issues, "no Content-Security-Policy")
			case inlineScriptAllowed(csp):
				issues = append(issues, "the Content-Security-Policy allows inline script ('unsafe-inline' without a nonce or hash)")
			}
			if pg.Header.Get("Referrer-Policy") == "" {
				issues = append(issues, "no Referrer-Policy")
			}
			if !strings.Contains(strings.ToLower(csp), "frame-ancestors") && pg.Header.Get("X-Frame-Options") == "" {
				issues = append(issues, "no frame-ancestors (nor X-Frame-Options): the page can be framed")
			}
			if len(issues) == 0 {
				continue
			}
			poc := ""
			if !strings.Contains(strings.ToLower(csp), "frame-ancestors") && pg.Header.Get("X-Frame-Options") == "" {
				poc = framePoC(pg.URL)
			}
			c.report(p, "GET", pg.URL.Path, report.Evidence{Status: pg.Status, Detail: strings.Join(issues, "; ")}, poc)
		}
	},
}

func isHTML(pg *Page) bool {
	return strings.HasPrefix(strings.ToLower(pg.Header.Get("Content-Type")), "text/html")
}

// inlineScriptAllowed reports whether a policy lets inline script run: the
// effective script directive (script-src, else default-src) has
// 'unsafe-inline' and no nonce or hash (which make browsers ignore it).
func inlineScriptAllowed(policy string) bool {
	for _, pol := range strings.Split(policy, ",") {
		dirs := map[string]string{}
		for _, d := range strings.Split(pol, ";") {
			f := strings.Fields(strings.TrimSpace(d))
			if len(f) == 0 {
				continue
			}
			name := strings.ToLower(f[0])
			if _, dup := dirs[name]; !dup {
				dirs[name] = strings.ToLower(strings.Join(f[1:], " "))
			}
		}
		v, ok := dirs["script-src"]
		if !ok {
			v, ok = dirs["default-src"]
		}
		if !ok {
			continue // this policy does not restrict scripts
		}
		if strings.Contains(v, "'unsafe-inline'") && !strings.Contains(v, "'nonce-") && !strings.Contains(v, "'sha") && !strings.Contains(v, "'strict-dynamic'") {
			return true
		}
		return false
	}
	return false
}

var scriptTagRE = regexp.MustCompile(`(?is)<script\b([^>]*)>`)
var attrRE = regexp.MustCompile(`(?is)([a-z-]+)\s*=\s*("[^"]*"|'[^']*'|[^\s>]+)`)

// SRIMissing: a script from another origin without integrity metadata.
var SRIMissing = &Check{
	ID:       "sri-missing",
	Title:    "third-party script without Subresource Integrity",
	Severity: report.Low,
	Run: func(c *Check, p *Pass) {
		seen := map[string]bool{}
		for _, pg := range p.Pages {
			if !isHTML(pg) {
				continue
			}
			for _, m := range scriptTagRE.FindAllSubmatch(pg.Body, -1) {
				attrs := attributes(string(m[1]))
				src, ok := attrs["src"]
				if !ok || attrs["integrity"] != "" {
					continue
				}
				u, err := pg.URL.Parse(src)
				if err != nil || sameOrigin(u, p.Target) || (u.Scheme != "http" && u.Scheme != "https") {
					continue
				}
				if seen[pg.URL.Path+" "+u.String()] {
					continue
				}
				seen[pg.URL.Path+" "+u.String()] = true
				c.report(p, "GET", pg.URL.Path, report.Evidence{Detail: fmt.Sprintf(
					"the page loads %s without an integrity attribute: whoever controls that host runs script in the page and can read its anti-CSRF token", u)}, "")
			}
		}
	},
}

func attributes(s string) map[string]string {
	out := map[string]string{}
	for _, m := range attrRE.FindAllStringSubmatch(s, -1) {
		out[strings.ToLower(m[1])] = strings.Trim(m[2], `"'`)
	}
	return out
}

// tokenParamRE matches query parameter names that carry anti-CSRF tokens.
var tokenParamRE = regexp.MustCompile(`(?i)^(_?csrf(_?token)?|csrfmiddlewaretoken|authenticity_token|__requestverificationtoken|_?xsrf(_?token)?|_token)$`)

var hrefRE = regexp.MustCompile(`(?is)\b(?:href|src|action)\s*=\s*("[^"]*"|'[^']*')`)

// TokenInURL: a token appears in a URL, from where it leaks through
// Referer, logs and history.
var TokenInURL = &Check{
	ID:       "token-in-url",
	Title:    "anti-CSRF token in a URL",
	Severity: report.Medium,
	Run: func(c *Check, p *Pass) {
		seen := map[string]bool{}
		check := func(u *url.URL, where string) {
			if u == nil || !sameOrigin(u, p.Target) {
				return
			}
			for name, vs := range u.Query() {
				leak := tokenParamRE.MatchString(name)
				for _, v := range vs {
					for _, t := range p.Tokens {
						if t != "" && v == t {
							leak = true
						}
					}
				}
				if leak && !seen[u.Path+" "+name] {
					seen[u.Path+" "+name] = true
					c.report(p, "GET", u.Path, report.Evidence{Detail: fmt.Sprintf(
						"%s carries an anti-CSRF token in the query parameter %q; URLs leak through Referer headers, logs and history, so send tokens in a header or a POST body", where, name)}, "")
				}
			}
		}
		for _, u := range p.URLs {
			check(u, "a request of the recorded session")
		}
		for _, pg := range p.Pages {
			if !isHTML(pg) {
				continue
			}
			for _, m := range hrefRE.FindAllSubmatch(pg.Body, -1) {
				raw := strings.Trim(string(m[1]), `"'`)
				u, err := pg.URL.Parse(htmlUnescape(raw))
				if err == nil {
					check(u, "a link on "+pg.URL.Path)
				}
			}
		}
	},
}

func htmlUnescape(s string) string { return strings.ReplaceAll(s, "&amp;", "&") }

// TokenNotRotated: the token is the same before and after login, or the
// token from before login is still accepted after it (masked tokens differ
// on every page yet may carry the same secret).
var TokenNotRotated = &Check{
	ID:       "token-not-rotated",
	Title:    "anti-CSRF token does not change at login",
	Severity: report.Medium,
	Run: func(c *Check, p *Pass) {
		if p.PreLogin != "" && p.PreLogin == p.PostLogin {
			c.report(p, "POST", p.LoginPath, report.Evidence{Detail: "the anti-CSRF token issued before login is the one used after login: whoever planted or read it before the victim signed in can forge the victim's requests; issue a new token (and session) at login"}, "")
			return
		}
		for _, op := range p.Ops {
			// Only an operation that verifies tokens and was seen to bind
			// them to the session (it refused another session's token)
			// tells whether login rotated the token: one that takes any
			// token, or any session's, accepts the old one for that
			// reason, and is no evidence about the login flow.
			if other := op.Probes[ProbeTokenOtherSession]; other == nil || other.Accepted ||
				accepted(op, ProbeTokenBogus) != nil || accepted(op, ProbeCrossSite) != nil {
				continue
			}
			if ex := accepted(op, ProbeTokenPreLogin); ex != nil {
				ev := evidence(op, ex, fmt.Sprintf("%s %s accepted the token issued before login: whoever planted or read it before the victim signed in can forge the victim's requests; issue a new token (and session) at login", op.Method, op.Path))
				ev.Reason = ""
				c.report(p, "POST", p.LoginPath, ev, "")
				return
			}
		}
	},
}
