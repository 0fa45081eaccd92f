// Package browser drives a real headless Chromium for forgeproof's
// end-to-end tests and the scanner's confirmations.
//
// It starts the system Chromium (never a downloaded one) through the
// DevTools protocol with github.com/chromedp/chromedp, maps test host names
// such as bank.test and evil.test to loopback servers so that the browser
// sees real, distinct sites, and trusts a throwaway TLS certificate ([CA]) so
// that Secure and __Host- cookies behave as in production.
//
// # Profiles
//
// One browser process serves many cases. Each case gets a [Profile]: a fresh
// DevTools BrowserContext, which has its own cookie jar, cache and storage,
// like a new user profile, and is disposed of with everything in it when the
// profile is closed.
//
// # Recording
//
// Every [Tab] records the requests that its page sends and what became of
// them (status, network error, CORS or other blocking) from the DevTools
// Network events; see [Tab.Requests].
package browser

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// Options configures [Launch].
type Options struct {
	// ExecPath is the Chromium binary. If empty, chromium is looked up on
	// PATH (chromium, chromium-browser, google-chrome).
	ExecPath string

	// Hosts maps host names to the address the browser connects to instead
	// of resolving them, such as "bank.test" → "127.0.0.1:8443". A key may
	// be a pattern such as "*.bank.test". With a port in the address, the
	// browser connects to that port whatever port the URL names, so pages
	// can use https://bank.test/ with no port. Names not listed resolve
	// through DNS as usual.
	Hosts map[string]string

	// TrustSPKI lists base64 SHA-256 hashes of certificate public keys (see
	// [CA.SPKI]) that the browser accepts for any host, as if a trusted CA
	// had issued them.
	TrustSPKI []string

	// Flags are extra command-line switches, name → value (true for a
	// switch with no value).
	Flags map[string]any

	// BlockThirdPartyCookies makes profiles block third-party cookies, as
	// Chrome's incognito windows do. By default profiles allow them, as a
	// regular Chrome profile does, so that a cookie with SameSite=None is
	// sent on cross-site requests and only the application's own defenses
	// stand in the way of a forged request.
	BlockThirdPartyCookies bool

	// Logf, if set, receives the browser's own error messages.
	Logf func(format string, args ...any)
}

// A Browser is a running headless Chromium process.
type Browser struct {
	dataDir     string // removed by Close
	closeOnce   sync.Once
	closeErr    error
	allocCancel context.CancelFunc
	ctx         context.Context // the browser's first tab; owns the process
	cancel      context.CancelFunc
}

// Launch starts Chromium with opts and waits until it answers; ctx bounds
// the start. Call [Browser.Close] when done: it stops the process and
// removes its temporary user data directory.
func Launch(ctx context.Context, opts Options) (*Browser, error) {
	path := opts.ExecPath
	if path == "" {
		p, err := LookPath()
		if err != nil {
			return nil, err
		}
		path = p
	}
	allocOpts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Headless,
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-breakpad", true),
		chromedp.Flag("disable-popup-blocking", true),
		chromedp.Flag("disable-client-side-phishing-detection", true),
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.Flag("use-mock-keychain", true),
	}
	if len(opts.Hosts) > 0 {
		allocOpts = append(allocOpts, chromedp.Flag("host-resolver-rules", HostRules(opts.Hosts)))
	}
	if len(opts.TrustSPKI) > 0 {
		allocOpts = append(allocOpts, chromedp.Flag("ignore-certificate-errors-spki-list", strings.Join(opts.TrustSPKI, ",")))
	}
	for name, v := range opts.Flags {
		allocOpts = append(allocOpts, chromedp.Flag(name, v))
	}

	// Profiles made through DevTools are incognito profiles of the default
	// one, and read its preferences: cookie_controls_mode 0 lets them send
	// third-party cookies (a regular profile's behaviour), 1 blocks them.
	dataDir, err := os.MkdirTemp("", "forgeproof-chromium-")
	if err != nil {
		return nil, fmt.Errorf("browser: %w", err)
	}
	mode := 0
	if opts.BlockThirdPartyCookies {
		mode = 1
	}
	prefs := fmt.Sprintf(`{"profile": {"cookie_controls_mode": %d}}`, mode)
	if err := os.MkdirAll(filepath.Join(dataDir, "Default"), 0o700); err != nil {
		os.RemoveAll(dataDir)
		return nil, fmt.Errorf("browser: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dataDir, "Default", "Preferences"), []byte(prefs), 0o600); err != nil {
		os.RemoveAll(dataDir)
		return nil, fmt.Errorf("browser: %w", err)
	}
	allocOpts = append(allocOpts, chromedp.UserDataDir(dataDir))

	allocCtx, allocCancel := chromedp.NewExecAllocator(context.WithoutCancel(ctx), allocOpts...)
	var ctxOpts []chromedp.ContextOption
	if opts.Logf != nil {
		ctxOpts = append(ctxOpts, chromedp.WithErrorf(opts.Logf))
	} else {
		ctxOpts = append(ctxOpts, chromedp.WithErrorf(func(string, ...any) {}))
	}
	bctx, cancel := chromedp.NewContext(allocCtx, ctxOpts...)
	b := &Browser{allocCancel: allocCancel, ctx: bctx, cancel: cancel, dataDir: dataDir}

	// Start the process, bounded by ctx.
	stop := context.AfterFunc(ctx, cancel)
	err = chromedp.Do(bctx)
	if !stop() || err != nil {
		b.Close()
		if err == nil {
			err = ctx.Err()
		}
		return nil, fmt.Errorf("browser: start %s: %w", path, err)
	}
	return b, nil
}

// Close stops the browser process and waits for it to exit. It is safe to
// call more than once.
func (b *Browser) Close() error {
	b.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		defer cancel()
		err := chromedp.Cancel(ctx)
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			err = nil // the process is killed below all the same
		}
		b.cancel()
		b.allocCancel() // kills the process if it is still running and waits
		if rmErr := os.RemoveAll(b.dataDir); err == nil {
			err = rmErr
		}
		b.closeErr = err
	})
	return b.closeErr
}

// LookPath finds the system Chromium.
func LookPath() (string, error) {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("browser: chromium not found on PATH; install it with: apt-get install -y chromium")
}

// HostRules formats hosts as the value of Chromium's --host-resolver-rules
// switch, sorted so that the command line is stable.
func HostRules(hosts map[string]string) string {
	names := make([]string, 0, len(hosts))
	for n := range hosts {
		names = append(names, n)
	}
	sort.Strings(names)
	rules := make([]string, 0, len(names)+1)
	for _, n := range names {
		rules = append(rules, "MAP "+n+" "+hosts[n])
	}
	return strings.Join(rules, ", ")
}

// A Profile is a fresh browser profile: a DevTools BrowserContext with its
// own cookies, cache and storage, holding one or more tabs. Chrome treats
// such contexts as incognito; see [Options.BlockThirdPartyCookies] for
// their third-party cookies.
type Profile struct {
	ctx    context.Context // the first tab's context; owns the BrowserContext
	cancel context.CancelFunc
	first  *Tab
}

// NewProfile creates a fresh profile with one blank tab.
func (b *Browser) NewProfile() (*Profile, error) {
	t, err := newTab(b.ctx, chromedp.WithNewBrowserContext())
	if err != nil {
		return nil, fmt.Errorf("browser: new profile: %w", err)
	}
	return &Profile{ctx: t.ctx, cancel: t.cancel, first: t}, nil
}

// Tab returns the profile's first tab.
func (p *Profile) Tab() *Tab { return p.first }

// NewTab opens another tab in the profile; it shares the profile's cookies.
func (p *Profile) NewTab() (*Tab, error) {
	t, err := newTab(p.ctx)
	if err != nil {
		return nil, fmt.Errorf("browser: new tab: %w", err)
	}
	return t, nil
}

// SetCookies stores cookies in the profile as if a response from url had
// set them, with their attributes (Domain, Path, Secure, HttpOnly,
// SameSite, expiry). Cookies that the browser refuses, such as a __Host-
// cookie without Secure, make it return an error.
func (p *Profile) SetCookies(url string, cookies []*http.Cookie) error {
	params := network.SetCookiesParams{}
	for _, c := range cookies {
		cp := &network.CookieParam{
			Name: c.Name, Value: c.Value, Path: c.Path,
			Secure: c.Secure, HTTPOnly: c.HttpOnly,
		}
		if c.Domain != "" {
			cp.Domain = c.Domain
		} else {
			cp.URL = url
		}
		switch c.SameSite {
		case http.SameSiteNoneMode:
			cp.SameSite = network.CookieSameSiteNone
		case http.SameSiteLaxMode:
			cp.SameSite = network.CookieSameSiteLax
		case http.SameSiteStrictMode:
			cp.SameSite = network.CookieSameSiteStrict
		}
		switch {
		case c.MaxAge > 0:
			cp.Expires = epoch(time.Now().Add(time.Duration(c.MaxAge) * time.Second))
		case !c.Expires.IsZero():
			cp.Expires = epoch(c.Expires)
		}
		params.Cookies = append(params.Cookies, cp)
	}
	ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
	defer cancel()
	if _, err := chromedp.Call(ctx, network.SetCookies, params); err != nil {
		return fmt.Errorf("browser: set cookies: %w", err)
	}
	return nil
}

func epoch(t time.Time) cdp.TimeSinceEpoch {
	return cdp.TimeSinceEpoch(float64(t.UnixNano()) / 1e9)
}

// Close closes the profile's tabs and disposes of its BrowserContext, with
// its cookies and storage.
func (p *Profile) Close() {
	p.cancel()
}

// A Tab is a page in a profile. Its methods are not safe for concurrent
// use, except Requests.
type Tab struct {
	ctx    context.Context
	cancel context.CancelFunc
	rec    *recorder
}

func newTab(parent context.Context, opts ...chromedp.ContextOption) (*Tab, error) {
	rec := newRecorder()
	opts = append(opts, chromedp.WithListener(rec.event))
	ctx, cancel := chromedp.NewContext(parent, opts...)
	// The target lives as long as the context of the first run, so that run
	// gets ctx itself and the timeout cancels ctx.
	if err := runBounded(ctx, cancel, 15*time.Second); err != nil {
		return nil, err
	}
	return &Tab{ctx: ctx, cancel: cancel, rec: rec}, nil
}

// runBounded makes the first run on the chromedp context ctx, which
// creates its target, and cancels ctx if that takes longer than timeout.
func runBounded(ctx context.Context, cancel context.CancelFunc, timeout time.Duration) error {
	t := time.AfterFunc(timeout, cancel)
	err := chromedp.Do(ctx)
	if !t.Stop() && err == nil {
		err = ErrTimeout
	}
	if err != nil {
		cancel()
	}
	return err
}

// Close closes the tab.
func (t *Tab) Close() { t.cancel() }

// Navigate loads url in the tab and waits for its load event, at most
// timeout. It returns the HTTP status of the document (0 when the load
// failed before a response).
func (t *Tab) Navigate(url string, timeout time.Duration) (int, error) {
	ctx, cancel := context.WithTimeout(t.ctx, timeout)
	defer cancel()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(url))
	if err != nil {
		return 0, fmt.Errorf("browser: navigate to %s: %w", url, err)
	}
	if resp == nil {
		return 0, nil
	}
	return int(resp.Status), nil
}

// Eval evaluates the JavaScript expression in the page, awaits it when it
// is a promise, and stores its JSON value in out (which may be nil). It
// gives up after timeout.
func (t *Tab) Eval(expr string, out any, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(t.ctx, timeout)
	defer cancel()
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		return fmt.Errorf("browser: evaluate %.60q: %w", expr, err)
	}
	if out == nil || len(raw) == 0 {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("browser: evaluate %.60q: decode %s: %w", expr, raw, err)
	}
	return nil
}

// WaitFor waits until the JavaScript expression is truthy in the page, at
// most timeout. A page that navigates meanwhile is evaluated again.
func (t *Tab) WaitFor(expr string, timeout time.Duration) error {
	return Until(timeout, func() (bool, error) {
		var ok bool
		err := t.Eval("!!("+expr+")", &ok, time.Second)
		return err == nil && ok, nil
	})
}

// Settle waits until the tab's network has settled: every request it sent
// has had its response (or failed), and none was sent for quiet. It gives
// up after max and returns ErrTimeout, for a page that never stops
// sending. A caller that is about to change a session (sign in, send a
// form) settles first, so that a response still on its way, which may set
// cookies of its own, does not race the change.
func (t *Tab) Settle(quiet, max time.Duration) error {
	last, seen := time.Now(), -1
	return Until(max, func() (bool, error) {
		reqs := t.rec.requests()
		if len(reqs) != seen {
			last, seen = time.Now(), len(reqs)
		}
		for _, r := range reqs {
			if !r.Done && r.Status == 0 && r.Error == "" {
				return false, nil
			}
		}
		return time.Since(last) >= quiet, nil
	})
}

// URL returns the address of the page in the tab.
func (t *Tab) URL() (string, error) {
	ctx, cancel := context.WithTimeout(t.ctx, 5*time.Second)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Location())
}

// Requests returns the requests the tab's page has sent so far (its frames
// that run in the page's process included; out-of-process frames and
// popups are separate targets), in the order they were sent.
func (t *Tab) Requests() []Request { return t.rec.requests() }

// ErrTimeout is returned by [Until] when the condition did not hold in time.
var ErrTimeout = errors.New("browser: timed out")

// Until calls cond every 25 ms until it reports true or an error, at most
// timeout. It returns ErrTimeout when time runs out.
func Until(timeout time.Duration, cond func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, err := cond()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return ErrTimeout
		}
		time.Sleep(25 * time.Millisecond)
	}
}
