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
	// Login signs the browser in the way the scan signed in; if nil the
	// scan's cookies are set in the browser instead.
	Login *Login
	// ExecPath is the Chromium binary; empty looks it up on PATH.
	ExecPath string
	// Hosts and TrustSPKI are passed to the browser (see
	// [browser.Options]), for targets on test host names.
	Hosts     map[string]string
	TrustSPKI []string
	// Timeout bounds the confirmation of one finding; zero means 15 s.
	Timeout time.Duration
	// Log receives progress lines; nil discards them.
	Log io.Writer
}

// NewBrowserConfirmer returns a [Confirmer] that loads each finding's
// proof-of-concept page in headless Chromium, from a separate attacker
// origin, against the real target. The request the browser sent to the
// finding's endpoint and the status it got, seen through the DevTools
// protocol, decide whether the finding is confirmed.
func NewBrowserConfirmer(opts BrowserOptions) Confirmer { return &browserConfirmer{opts} }

type browserConfirmer struct{ opts BrowserOptions }

func (bc *browserConfirmer) logf(format string, args ...any) {
	if bc.opts.Log != nil {
		fmt.Fprintf(bc.opts.Log, "forgeproof: "+format+"\n", args...)
	}
}

// Confirm implements [Confirmer].
func (bc *browserConfirmer) Confirm(ctx context.Context, target *url.URL, cookies []*http.Cookie, findings []*report.Finding) error {
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

	hosts := map[string]string{attackerHost: ln.Addr().String()}
	sib := sibling(target)
	var sibHost string
	if sib != "" {
		u, _ := url.Parse(sib)
		sibHost = u.Hostname()
		hosts[sibHost] = ln.Addr().String()
	}
	for k, v := range bc.opts.Hosts {
		hosts[k] = v
	}
	lctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	br, err := browser.Launch(lctx, browser.Options{ExecPath: bc.opts.ExecPath, Hosts: hosts, TrustSPKI: bc.opts.TrustSPKI})
	if err != nil {
		return err
	}
	defer br.Close()
	timeout := bc.opts.Timeout
	if timeout <= 0 {
		timeout = 15 * time.Second
	}
	for i, f := range findings {
		if err := ctx.Err(); err != nil {
			return err
		}
		host := attackerHost
		if f.Evidence.Probe == checks.ProbeSameSite && sibHost != "" {
			host = sibHost
		}
		page := fmt.Sprintf("http://%s:%d/poc/%d", host, port, i)
		if err := bc.confirmOne(br, target, cookies, f, page, timeout); err != nil {
			f.Evidence.Browser = "not confirmed: " + err.Error()
		}
		bc.logf("confirm %s %s %s: %s", f.Check, f.Method, f.Path, f.Evidence.Browser)
	}
	return nil
}

func (bc *browserConfirmer) confirmOne(br *browser.Browser, target *url.URL, cookies []*http.Cookie, f *report.Finding, page string, timeout time.Duration) error {
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
		method := l.Method
		if method == "" {
			method = "POST"
		}
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
	} else {
		for _, c := range cookies {
			attr := "; path=/"
			if target.Scheme == "https" {
				attr += "; secure; samesite=none"
			}
			if err := tab.Eval(fmt.Sprintf("document.cookie = %q", c.Name+"="+c.Value+attr), nil, timeout); err != nil {
				return fmt.Errorf("setting cookie %s: %w", c.Name, err)
			}
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
				return true, nil
			}
		}
		return false, nil
	})
	if errors.Is(err, browser.ErrTimeout) {
		f.Evidence.Browser = fmt.Sprintf("Chromium did not send %s %s from %s", method, f.Path, page)
		return nil
	}
	if err != nil {
		return err
	}
	switch {
	case sent.Status == 0:
		f.Evidence.Browser = fmt.Sprintf("Chromium sent %s %s but it failed (%s%s)", sent.Method, sent.URL, sent.Error, sent.Blocked)
	case f.Evidence.BaselineStatus != 0 && sent.Status/100 == f.Evidence.BaselineStatus/100:
		f.Confirmed = true
		f.Evidence.Browser = fmt.Sprintf("Chromium sent %s %s from %s and got %d, like the legitimate request", sent.Method, sent.URL, page, sent.Status)
	default:
		f.Evidence.Browser = fmt.Sprintf("Chromium sent %s %s from %s and got %d (the legitimate request got %d)", sent.Method, sent.URL, page, sent.Status, f.Evidence.BaselineStatus)
	}
	return nil
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
