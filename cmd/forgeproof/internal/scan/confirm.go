package scan

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/browser"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/report"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/scan/checks"
)

// attackerHost is the host name of the page that serves proofs of concept
// to the browser; Chromium resolves it to a loopback server.
const attackerHost = "forgeproof-attacker.test"

// BrowserOptions configures [NewBrowserConfirmer].
type BrowserOptions struct {
	// Login signs the browser in the way a user does: the browser loads
	// the login URL, fills the page's form with the login body's fields
	// (the framework's own hidden token included) and submits it. When
	// the URL has no form (a JSON API), the browser posts the body with
	// fetch. If Login is nil, the scan's cookies are set in the browser
	// through the DevTools protocol, with their attributes.
	Login *Login
	// ExecPath is the Chromium binary; empty looks it up on PATH.
	ExecPath string
	// Browser, if set, is a running browser to use (and leave running);
	// tests share one.
	Browser *browser.Browser
	// Hosts and TrustSPKI are passed to the browser (see
	// [browser.Options]), for targets on test host names.
	Hosts     map[string]string
	TrustSPKI []string
	// Timeout bounds the confirmation of one finding; zero means 15 s.
	Timeout time.Duration
	// Log receives progress lines; nil discards them.
	Log io.Writer
}

// NewBrowserConfirmer returns a [Confirmer] that signs in to the target in
// headless Chromium, loads each finding's proof-of-concept page from
// another site (or, for same-site findings, from a sibling subdomain or
// another port), and judges by effect: a finding is confirmed when the
// scan's read-back of the application's state changed across the replay,
// or, without a read-back, when the browser's request got the legitimate
// request's status and no redirect to a sign-in page. Browser cookie rules
// apply for real: a request that Chromium sends without the session
// cookie is reported as not exploitable in current browsers.
func NewBrowserConfirmer(opts BrowserOptions) Confirmer { return &browserConfirmer{opts} }

type browserConfirmer struct{ opts BrowserOptions }

func (bc *browserConfirmer) logf(format string, args ...any) {
	if bc.opts.Log != nil {
		fmt.Fprintf(bc.opts.Log, "forgeproof: "+format+"\n", args...)
	}
}

// BrowserHosts returns the host resolver rules a browser needs to confirm
// findings on target: the attacker's site and the target's sibling
// subdomain resolve to the loopback page server (its port is in the URL).
// A browser shared between confirmations must be launched with them.
func BrowserHosts(target *url.URL) map[string]string {
	hosts := map[string]string{attackerHost: "127.0.0.1"}
	if sib := sibling(target); sib != "" {
		u, _ := url.Parse(sib)
		hosts[u.Hostname()] = "127.0.0.1"
	}
	return hosts
}

// isLoopback reports whether host names the local machine.
func isLoopback(host string) bool {
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Confirm implements [Confirmer].
func (bc *browserConfirmer) Confirm(ctx context.Context, c *Confirmation) error {
	target, findings := c.Target, c.Findings
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /poc/{n}", func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.Atoi(r.PathValue("n"))
		if err != nil || n < 0 || n >= len(findings) {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, findings[n].PoC)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	port := ln.Addr().(*net.TCPAddr).Port

	hosts := BrowserHosts(target)
	var sibHost string
	if sib := sibling(target); sib != "" {
		u, _ := url.Parse(sib)
		sibHost = u.Hostname()
	}
	for k, v := range bc.opts.Hosts {
		hosts[k] = v
	}
	br := bc.opts.Browser
	if br == nil {
		lctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		br, err = browser.Launch(lctx, browser.Options{ExecPath: bc.opts.ExecPath, Hosts: hosts, TrustSPKI: bc.opts.TrustSPKI})
		if err != nil {
			return err
		}
		defer br.Close()
	}
	timeout := bc.opts.Timeout
	if timeout <= 0 {
		timeout = 15 * time.Second
	}
	for i, f := range findings {
		if err := ctx.Err(); err != nil {
			return err
		}
		// Where the attacker's page runs: another site, or the same
		// site for the probes that model a same-site attacker. Another
		// port of a loopback host needs no host rule; a sibling
		// subdomain is mapped to the page server.
		host := attackerHost
		switch f.Evidence.Probe {
		case checks.ProbeOtherScheme:
			f.Evidence.Browser = "not replayed: the page must run on " + otherScheme(target) + ", the target's own host name, which the scanner cannot serve"
			continue
		case checks.ProbeSameSite, checks.ProbeSameSitePort, checks.ProbeDoubleSubmit:
			// Browsers take every subdomain of localhost for a site of
			// its own: on loopback, another port of the host is the
			// same-site page.
			switch {
			case isLoopback(target.Hostname()):
				host = target.Hostname()
			case f.Evidence.Probe != checks.ProbeSameSitePort && sibHost != "":
				host = sibHost
			default:
				f.Evidence.Browser = "not replayed: the page must run on another port of " + target.Hostname() + ", which the scanner cannot serve for a remote host"
				continue
			}
		}
		page := fmt.Sprintf("http://%s/poc/%d", net.JoinHostPort(host, strconv.Itoa(port)), i)
		if err := bc.confirmOne(ctx, br, c, f, page, timeout); err != nil {
			f.Evidence.Browser = "not confirmed: " + err.Error()
		}
		bc.logf("confirm %s %s %s: %s", f.Check, f.Method, f.Path, f.Evidence.Browser)
	}
	return nil
}

// How long signIn lets a page's requests settle (see browser.Tab.Settle):
// no request for settleQuiet, and never more than settleMax.
const (
	settleQuiet = 250 * time.Millisecond
	settleMax   = 3 * time.Second
)

// signIn signs the profile in through the target's real login page.
func (bc *browserConfirmer) signIn(tab *browser.Tab, l *Login, timeout time.Duration) error {
	method := l.Method
	if method == "" {
		method = "POST"
	}
	if l.ContentType != "application/json" && method == "POST" {
		if status, err := tab.Navigate(l.URL.String(), timeout); err == nil && status < 400 {
			// Before the login changes the session, the login page's
			// own requests must have their answers: a favicon request
			// sent with the old session cookie and answered after the
			// login (express-session then hands out a new, anonymous
			// session for the session the login replaced) would sign
			// the browser out again.
			tab.Settle(settleQuiet, settleMax)
			fields, _ := url.ParseQuery(string(l.Body))
			fj, _ := json.Marshal(fields)
			// Fill the form that has the login's fields (else the one
			// with a password, else the first) and submit it as a user
			// would: the page's own hidden token goes with it.
			script := fmt.Sprintf(`(() => {
  const want = %s;
  const names = Object.keys(want);
  const forms = [...document.forms];
  const f = forms.find(f => names.every(n => f.elements[n])) || forms.find(f => f.querySelector("input[type=password]")) || forms[0];
  if (!f) return false;
  for (const n of names) {
    let el = f.elements[n];
    if (!el) { el = document.createElement("input"); el.type = "hidden"; el.name = n; f.appendChild(el); }
    el.value = want[n][0];
  }
  HTMLFormElement.prototype.submit.call(f);
  return true;
})()`, fj)
			start := len(tab.Requests())
			var submitted bool
			if err := tab.Eval(script, &submitted, timeout); err != nil {
				return fmt.Errorf("signing in: %w", err)
			}
			if submitted {
				var sent *browser.Request
				err := browser.Until(timeout, func() (bool, error) {
					reqs := tab.Requests()
					for i := start; i < len(reqs); i++ {
						if reqs[i].Method == "POST" && reqs[i].Done {
							sent = &reqs[i]
							return true, nil
						}
					}
					return false, nil
				})
				if err != nil {
					return fmt.Errorf("signing in: the login form was not submitted: %w", err)
				}
				if sent.Status == 0 || sent.Status >= 400 {
					return fmt.Errorf("signing in through the login page got %d%s", sent.Status, sent.Error)
				}
				// Let the page the login leads to settle: it may set
				// cookies of its own (a rotated token), and leaving it
				// while it loads would race them. A page that never stops
				// sending is left after settleMax all the same.
				tab.Settle(settleQuiet, settleMax)
				return nil
			}
		}
	}
	// No form: an API login, posted with fetch from the target's page.
	init := map[string]any{"method": method, "credentials": "include"}
	if len(l.Body) > 0 {
		init["body"] = string(l.Body)
		init["headers"] = map[string]string{"Content-Type": l.ContentType}
	}
	initJSON, _ := json.Marshal(init)
	var status int
	if err := tab.Eval(fmt.Sprintf("fetch(%q, %s).then(r => r.status)", l.URL.String(), initJSON), &status, timeout); err != nil {
		return fmt.Errorf("signing in: %w", err)
	}
	if status >= 400 {
		return fmt.Errorf("signing in in the browser got %d", status)
	}
	return nil
}

func (bc *browserConfirmer) confirmOne(ctx context.Context, br *browser.Browser, c *Confirmation, f *report.Finding, page string, timeout time.Duration) error {
	target := c.Target
	prof, err := br.NewProfile()
	if err != nil {
		return err
	}
	defer prof.Close()
	tab := prof.Tab()
	home := origin(target) + "/"
	if _, err := tab.Navigate(home, timeout); err != nil {
		return err
	}
	if l := bc.opts.Login; l != nil {
		if err := bc.signIn(tab, l, timeout); err != nil {
			return err
		}
	} else if len(c.Cookies) > 0 {
		if err := prof.SetCookies(home, c.Cookies); err != nil {
			return err
		}
	}
	var before string
	if c.ReadBack != nil {
		if before, err = c.ReadBack(ctx); err != nil {
			return err
		}
	}
	start := len(tab.Requests())
	if _, err := tab.Navigate(page, timeout); err != nil && !strings.Contains(err.Error(), "net::") {
		return err
	}
	method := f.Method
	if f.Evidence.Request != "" {
		method, _, _ = strings.Cut(f.Evidence.Request, " ")
	}
	var sent *browser.Request
	var next string // the URL the browser went to after a redirect
	err = browser.Until(timeout, func() (bool, error) {
		reqs := tab.Requests()
		for i := start; i < len(reqs); i++ {
			r := reqs[i]
			u, err := url.Parse(r.URL)
			if err != nil || !strings.EqualFold(u.Host, target.Host) || r.Method != method || !pathMatches(f.Path, u.Path) {
				continue
			}
			if r.Done {
				sent = &r
				if r.Status/100 == 3 && i+1 < len(reqs) {
					next = reqs[i+1].URL
				}
				return true, nil
			}
		}
		return false, nil
	})
	carried := checks.CarriedOut(f.Evidence.Probe, c.SameSite)
	notExploitable := func(what string) {
		if !carried {
			f.Evidence.Browser = "not exploitable in current browsers: " + what
		} else {
			f.Evidence.Browser = "not confirmed: " + what
		}
	}
	if errors.Is(err, browser.ErrTimeout) {
		notExploitable(fmt.Sprintf("Chromium did not send %s %s from %s", method, f.Path, page))
		return nil
	}
	if err != nil {
		return err
	}
	if sent.Status == 0 {
		notExploitable(fmt.Sprintf("Chromium sent %s %s but it failed (%s%s)", sent.Method, sent.URL, sent.Error, sent.Blocked))
		return nil
	}
	if c.ReadBack != nil {
		var after string
		// The application may finish the change after answering.
		readChanged := func() bool {
			after, err = c.ReadBack(ctx)
			return err == nil && after != before
		}
		changed := readChanged()
		for i := 0; i < 5 && !changed && err == nil; i++ {
			time.Sleep(100 * time.Millisecond)
			changed = readChanged()
		}
		if err != nil {
			return err
		}
		if changed {
			f.Confirmed = true
			f.Evidence.Browser = fmt.Sprintf("Chromium sent %s %s from %s, got %d, and the application's state (read back) changed", sent.Method, sent.URL, page, sent.Status)
		} else {
			notExploitable(fmt.Sprintf("Chromium sent %s %s from %s and got %d, but the application's state (read back) did not change", sent.Method, sent.URL, page, sent.Status))
		}
		return nil
	}
	// No read-back: the browser's answer must be the legitimate one's.
	switch {
	case sent.Status != f.Evidence.BaselineStatus:
		notExploitable(fmt.Sprintf("Chromium sent %s %s from %s and got %d (the legitimate request got %d)", sent.Method, sent.URL, page, sent.Status, f.Evidence.BaselineStatus))
	case next != "" && isLoginURL(next):
		notExploitable(fmt.Sprintf("Chromium sent %s %s from %s and got %d, a redirect to the sign-in page %s", sent.Method, sent.URL, page, sent.Status, next))
	default:
		f.Confirmed = true
		f.Evidence.Browser = fmt.Sprintf("Chromium sent %s %s from %s and got %d, like the legitimate request", sent.Method, sent.URL, page, sent.Status)
	}
	return nil
}

func isLoginURL(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && isLoginPath(u.Path)
}

// pathMatches reports whether a concrete path matches a declared one with
// {parameters}.
func pathMatches(declared, path string) bool {
	d := strings.Split(declared, "/")
	p := strings.Split(path, "/")
	if len(d) != len(p) {
		return false
	}
	for i := range d {
		if strings.HasPrefix(d[i], "{") && strings.HasSuffix(d[i], "}") {
			continue
		}
		if d[i] != p[i] {
			return false
		}
	}
	return true
}
