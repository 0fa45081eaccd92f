package attack

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"html"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/browser"
)

// A Victim is an application under attack.
type Victim struct {
	// Name labels the victim in the report, such as "library/signed".
	Name string

	// Protected is false for the control: an application with no CSRF
	// defense, on which every attack that the browser lets through must
	// succeed.
	Protected bool

	// Target says where the victim is and how to use it.
	Target Target

	// Handler, if set, serves the victim in-process at Target.Origin, over
	// TLS with a throwaway certificate. If nil, Target.Origin is a real
	// deployment that the browser reaches through DNS and its own
	// certificate.
	Handler http.Handler

	// Reset, if set, gives the victim a fresh state before each case.
	Reset func()

	// Effects, if set, returns the victim's state changes since the last
	// Reset, oldest first, each described in a few words. If nil, the
	// runner reads Target.Probes as the signed-in user before and after
	// each attack, and a difference is the effect.
	Effects func() []string
}

// Options configure [Run].
type Options struct {
	// Chromium is the browser binary. If empty, it is looked up on PATH.
	Chromium string

	// CaseTimeout bounds each wait inside a case. If zero, it is 10 s.
	CaseTimeout time.Duration

	// Resolve maps host names to the addresses the browser connects to
	// instead of resolving them ("staging.example" → "10.0.0.5:443"), for
	// a deployment that is not in DNS.
	Resolve map[string]string

	// TrustSPKI lists base64 SHA-256 hashes of certificate public keys
	// that the browser accepts, for a deployment whose certificate no
	// public CA issued. Compute one with:
	//
	//	openssl x509 -in cert.pem -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64
	TrustSPKI []string

	// Logf, if set, receives progress and the browser's errors.
	Logf func(format string, args ...any)
}

// A Result is the verdict on one case against one victim.
type Result struct {
	Victim string
	Case   string
	Doc    string

	// Want is the expected effect: "effect", "no effect" or "page opens".
	Want string
	// Got says what was observed: the state changes, or "none", followed
	// by what the victim answered and what the browser blocked.
	Got string
	// Pass is true when the observation matches the expectation.
	Pass bool
	// Skipped says why the case did not apply to the target, or "".
	Skipped string

	Duration time.Duration
}

// Run launches a browser for v, runs cases against it one by one, each in a
// fresh profile, and returns a result per case. It returns an error only
// when the run could not start (no browser, a bad target); a case that
// fails to run is a failed Result. Every process and server it starts is
// stopped before it returns.
func Run(ctx context.Context, v Victim, cases []Case, opts Options) ([]Result, error) {
	t := v.Target
	if err := t.check(); err != nil {
		return nil, err
	}
	if opts.CaseTimeout == 0 {
		opts.CaseTimeout = 10 * time.Second
	}
	logf := opts.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}

	host := t.Host()
	sibling := "evil." + host
	names := []string{"evil.test", sibling}
	if v.Handler != nil {
		names = append(names, host)
	}
	ca, err := browser.NewCA(names...)
	if err != nil {
		return nil, err
	}
	f := newFront(host, v.Handler, "evil.test", sibling)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("attack: listen: %w", err)
	}
	srv := &http.Server{Handler: f, TLSConfig: ca.ServerConfig(), ReadHeaderTimeout: 10 * time.Second,
		// The browser drops connections and probes TLS; that is no news.
		ErrorLog: log.New(io.Discard, "", 0)}
	go srv.ServeTLS(l, "", "")
	defer srv.Close()

	hosts := make(map[string]string, len(names))
	for n, addr := range opts.Resolve {
		hosts[n] = addr
	}
	for _, n := range names {
		hosts[n] = l.Addr().String()
	}
	lctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	b, err := browser.Launch(lctx, browser.Options{
		ExecPath:  opts.Chromium,
		Hosts:     hosts,
		TrustSPKI: append([]string{ca.SPKI()}, opts.TrustSPKI...),
	})
	if err != nil {
		return nil, err
	}
	defer b.Close()

	var closing sync.WaitGroup
	defer closing.Wait() // before the browser closes
	attackerOrigin := map[Site]string{Attacker: "https://evil.test", Sibling: "https://" + sibling}
	var results []Result
	for _, c := range cases {
		if err := ctx.Err(); err != nil {
			return results, err
		}
		start := time.Now()
		res := Result{Victim: v.Name, Case: c.Name, Doc: c.Doc, Want: want(c, v.Protected)}
		if missing := missingFeature(t, c.Needs); missing != "" {
			res.Skipped = "target has no " + missing
			res.Pass = true
			results = append(results, res)
			continue
		}
		r := &run{
			b: b, f: f, v: v, t: t, c: c, timeout: opts.CaseTimeout,
			id: newRunID(), attacker: attackerOrigin[c.From],
		}
		got, pass, err := r.do()
		r.close(&closing)
		if err != nil {
			got = "error: " + err.Error()
			if r.observed != "" {
				got += "; observed: " + r.observed
			}
			pass = false
		}
		res.Got, res.Pass, res.Duration = got, pass, time.Since(start)
		logf("%s %s: want %s, got %s (%v)", v.Name, c.Name, res.Want, res.Got, res.Duration.Round(time.Millisecond))
		results = append(results, res)
	}
	return results, nil
}

func want(c Case, protected bool) string {
	switch {
	case c.NoEffect:
		return "page opens"
	case c.Legit:
		return "effect"
	case c.BrowserStops || protected:
		return "no effect"
	}
	return "effect"
}

func missingFeature(t Target, needs []string) string {
	for _, n := range needs {
		var have bool
		switch n {
		case "get":
			have = t.GetURL != ""
		case "override":
			have = t.OverridePath != ""
		case "ws":
			have = t.WebSocketPath != ""
		case "logout":
			have = t.LogoutPath != ""
		case "multipart":
			have = t.Multipart
		}
		if !have {
			return n
		}
	}
	return ""
}

func newRunID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// run is one case against one victim.
type run struct {
	b        *browser.Browser
	f        *front
	v        Victim
	t        Target
	c        Case
	id       string
	attacker string
	timeout  time.Duration

	profile  *browser.Profile
	tab      *browser.Tab
	probe    *browser.Tab // deployment victims: reads Target.Probes
	baseline int          // len(v.Effects()) after setup
	before   string       // probe answers after setup
	mark     int          // f.log mark after setup
	observed string       // what was seen, for errors
}

// close closes the case's profile in the background; wg tracks it.
func (r *run) close(wg *sync.WaitGroup) {
	if r.profile != nil {
		wg.Go(r.profile.Close)
	}
}

// do runs the case and returns what was observed and the verdict.
func (r *run) do() (string, bool, error) {
	if r.v.Reset != nil {
		r.v.Reset()
	}
	var token string
	if r.c.StolenToken {
		var err error
		if token, err = r.attackerToken(); err != nil {
			return "", false, fmt.Errorf("getting the attacker's own token: %w", err)
		}
		if token == "" {
			// The target's pages carry no token: any value the attacker
			// chooses will do (against naive double-submit, for one).
			token = "forged-" + r.id
		}
	}
	p, err := r.b.NewProfile()
	if err != nil {
		return "", false, err
	}
	r.profile, r.tab = p, p.Tab()

	// Setup: the victim visits the target, and signs in. For an attack on
	// an in-process victim, the sign-in page's requests are sent to the
	// victim directly, as the browser would send them, and the cookies
	// they set are stored in the profile: the same state, in a fraction of
	// the time. Legitimate flows and deployments sign in through the page.
	if r.v.Handler != nil && r.c.Steps == nil {
		var creds []string
		if r.c.Setup == SignedIn {
			creds = []string{r.t.User, r.t.Password}
		}
		cookies, _, err := r.signInDirect(creds...)
		if err != nil {
			return "", false, err
		}
		if err := r.profile.SetCookies(r.t.Origin+"/", cookies); err != nil {
			return "", false, err
		}
	} else {
		if _, err := r.tab.Navigate(r.t.Origin+r.t.LoginPage, r.timeout); err != nil {
			return "", false, err
		}
		if r.c.Setup == SignedIn {
			if err := r.signIn(r.tab, r.t.User, r.t.Password); err != nil {
				return "", false, err
			}
		}
	}
	if err := r.snapshot(); err != nil {
		return "", false, err
	}

	// The attempt.
	if r.c.Steps != nil {
		err = r.c.Steps(r)
	} else {
		err = r.attack(token)
	}
	r.settle()
	effects, err2 := r.effects()
	if err2 != nil && err == nil {
		err = err2
	}
	got := r.describe(effects)
	r.observed = got
	if err != nil {
		return got, false, err
	}

	var pass bool
	switch want(r.c, r.v.Protected) {
	case "effect":
		pass = len(effects) > 0
	case "no effect":
		pass = len(effects) == 0
	case "page opens":
		var signedIn bool
		evalErr := r.tab.Eval(r.t.SignedIn, &signedIn, 5*time.Second)
		pass = len(effects) == 0 && evalErr == nil && signedIn
		if !signedIn {
			got += "; the page did not show the user signed in"
		}
	}
	return got, pass, nil
}

// attack serves the case's page on the attacker's site, opens it in the
// victim's tab and waits until the attempt is over.
func (r *run) attack(token string) error {
	tmpl, err := compilePage(r.c)
	if err != nil {
		return fmt.Errorf("page template: %w", err)
	}
	r.f.setPage(r.id, pageRun{tmpl: tmpl, data: newPageData(r.t, r.id, token)})
	url := r.attacker + "/a/" + r.c.Name + "?run=" + r.id
	// A page that navigates away at once can make the navigation report
	// an error; the wait below decides whether the attempt ran.
	r.tab.Navigate(url, r.timeout)
	switch r.c.Wait {
	case Navigate:
		cond := fmt.Sprintf(`location.origin === %q && document.readyState === "complete"`, r.t.Origin)
		err := browser.Until(r.timeout, func() (bool, error) {
			if r.reached() {
				return true, nil
			}
			var ok bool
			err := r.tab.Eval(cond, &ok, time.Second)
			return err == nil && ok, nil
		})
		if err != nil {
			return fmt.Errorf("the page did not navigate to the target: %w", err)
		}
	default:
		if err := browser.Until(r.timeout, func() (bool, error) { return r.f.signaled(r.id) || r.reached(), nil }); err != nil {
			return fmt.Errorf("the attacker's page did not finish: %w", err)
		}
	}
	return nil
}

// reached reports whether an in-process victim has answered a request to
// one of the target's state-changing paths since the setup (a preflight
// does not count: the request it precedes may follow).
func (r *run) reached() bool {
	if r.v.Handler == nil {
		return false
	}
	paths := []string{r.t.FormPath, r.t.JSONPath, r.t.OverridePath, r.t.LoginPath, r.t.LogoutPath, r.t.WebSocketPath}
	if r.t.GetURL != "" {
		paths = append(paths, strings.SplitN(r.t.GetURL, "?", 2)[0])
	}
	served, _ := r.f.since(r.mark)
	for _, s := range served {
		if s.Method != http.MethodOptions && s.Path != "" && slices.Contains(paths, s.Path) {
			return true
		}
	}
	return false
}

// settle waits until the victim has answered every request of the attempt.
func (r *run) settle() {
	if r.v.Handler == nil {
		time.Sleep(300 * time.Millisecond)
		return
	}
	quiet := 0
	browser.Until(2*time.Second, func() (bool, error) {
		_, inflight := r.f.since(r.mark)
		if inflight == 0 {
			quiet++
		} else {
			quiet = 0
		}
		return quiet >= 3, nil
	})
}

// signIn signs user in on tab with the target's sign-in form.
func (r *run) signIn(tab *browser.Tab, user, password string) error {
	url := r.t.Origin + r.t.LoginPage
	if cur, err := tab.URL(); err != nil || cur != url {
		if _, err := tab.Navigate(url, r.timeout); err != nil {
			return err
		}
	}
	form := fmt.Sprintf(`document.readyState === "complete" && document.querySelector('input[name=%q]')`, r.t.UserField)
	if err := tab.WaitFor(form, r.timeout); err != nil {
		return fmt.Errorf("signing in as %s: no sign-in form on %s: %w", user, url, err)
	}
	js := fmt.Sprintf(`(() => {
		const u = document.querySelector('input[name=%q]'), p = document.querySelector('input[name=%q]');
		if (!u || !p) return "no sign-in form";
		u.value = %q; p.value = %q; u.form.requestSubmit(); return "";
	})()`, r.t.UserField, r.t.PasswordField, user, password)
	var msg string
	if err := tab.Eval(js, &msg, 5*time.Second); err != nil {
		return err
	}
	if msg != "" {
		return fmt.Errorf("signing in as %s on %s: %s", user, url, msg)
	}
	if err := tab.WaitFor(`document.readyState === "complete" && `+r.t.SignedIn, r.timeout); err != nil {
		return fmt.Errorf("signing in as %s: not signed in after the form was sent: %w", user, err)
	}
	return nil
}

// attackerToken signs the attacker in with their own account in a profile
// of their own and returns the anti-CSRF token that the page gives them
// ("" when the page has none).
func (r *run) attackerToken() (string, error) {
	if r.v.Handler != nil {
		_, token, err := r.signInDirect(r.t.AttackerUser, r.t.AttackerPassword)
		return token, err
	}
	p, err := r.b.NewProfile()
	if err != nil {
		return "", err
	}
	defer p.Close()
	tab := p.Tab()
	if err := r.signIn(tab, r.t.AttackerUser, r.t.AttackerPassword); err != nil {
		return "", err
	}
	js := fmt.Sprintf(`(() => {
		const m = document.querySelector('meta[name=%q]'); if (m) return m.content;
		const i = document.querySelector('input[name=%q]'); return i ? i.value : "";
	})()`, r.t.TokenMeta, r.t.TokenField)
	var token string
	err = tab.Eval(js, &token, 5*time.Second)
	return token, err
}

// snapshot records the state after setup.
func (r *run) snapshot() error {
	r.mark = r.f.mark()
	if r.v.Effects != nil {
		r.baseline = len(r.v.Effects())
		return nil
	}
	tab, err := r.profile.NewTab()
	if err != nil {
		return err
	}
	r.probe = tab
	if _, err := tab.Navigate(r.t.Origin+r.t.LoginPage, r.timeout); err != nil {
		return err
	}
	r.before, err = r.readProbes()
	return err
}

// readProbes GETs the target's probes as the signed-in user.
func (r *run) readProbes() (string, error) {
	js := fmt.Sprintf(`Promise.all(%s.map(p => fetch(p, {credentials: "same-origin", cache: "no-store"})
		.then(async r => p + " " + r.status + " " + await r.text(), e => p + " " + e.message))).then(a => a.join("\n"))`,
		jsStrings(r.t.Probes))
	var out string
	err := r.probe.Eval(js, &out, r.timeout)
	return out, err
}

func jsStrings(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return "[" + strings.Join(q, ",") + "]"
}

// effects returns the state changes since the snapshot.
func (r *run) effects() ([]string, error) {
	if r.v.Effects != nil {
		all := r.v.Effects()
		if len(all) < r.baseline {
			return nil, fmt.Errorf("the victim's record shrank")
		}
		return all[r.baseline:], nil
	}
	// A deployment: a tab that navigated to the target may have replaced
	// the session (login CSRF), so the probe tab reads afresh.
	after, err := r.readProbes()
	if err != nil {
		return nil, err
	}
	if after == r.before {
		return nil, nil
	}
	return []string{"probes changed: " + diffLines(r.before, after)}, nil
}

func diffLines(before, after string) string {
	b := strings.Split(before, "\n")
	var changed []string
	for i, line := range strings.Split(after, "\n") {
		if i >= len(b) || b[i] != line {
			changed = append(changed, truncate(line, 80))
		}
	}
	return strings.Join(changed, " | ")
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// describe says what was observed: the effects, then the victim's
// rejections and the browser's blocks.
func (r *run) describe(effects []string) string {
	var parts []string
	if len(effects) == 0 {
		parts = append(parts, "none")
	} else {
		parts = append(parts, strings.Join(effects, ", "))
	}
	served, _ := r.f.since(r.mark)
	var answers []string
	for _, s := range served {
		if s.Status == http.StatusNotFound && s.Method == http.MethodGet {
			continue // a page's missing asset, such as the gateway's script on the control
		}
		if s.Status >= 400 && !slices.Contains(answers, s.String()) {
			answers = append(answers, s.String())
		}
	}
	var blocked []string
	for _, q := range r.tab.Requests() {
		if !strings.HasPrefix(q.URL, r.t.Origin+"/") {
			continue
		}
		if r.v.Handler == nil && q.Status >= 400 && !(q.Status == http.StatusNotFound && q.Method == http.MethodGet) {
			// A deployment: what the browser saw is all there is.
			u, _ := url.Parse(q.URL)
			a := fmt.Sprintf("%s %s %d", q.Method, u.Path, q.Status)
			if !slices.Contains(answers, a) {
				answers = append(answers, a)
			}
		}
		if q.Blocked != "" {
			b := "browser blocked " + q.Method + " (" + q.Blocked + ")"
			if !slices.Contains(blocked, b) {
				blocked = append(blocked, b)
			}
		}
	}
	if len(answers) > 0 {
		parts = append(parts, "refused: "+strings.Join(answers, ", "))
	}
	parts = append(parts, blocked...)
	return strings.Join(parts, "; ")
}

// change runs js on tab, which makes one legitimate state change, and
// waits until the victim's record holds n effects since the snapshot.
// navigates says that js loads a new page in tab.
func (r *run) change(tab *browser.Tab, js string, navigates bool, n int) error {
	ready := `document.readyState === "complete" && ` + r.t.SignedIn
	if err := tab.WaitFor(ready, r.timeout); err != nil {
		return fmt.Errorf("the page is not ready: %w", err)
	}
	if err := tab.Eval(`window.__attackMark = true; `+js, nil, 5*time.Second); err != nil {
		return err
	}
	if navigates {
		if err := tab.WaitFor(`!window.__attackMark && `+ready, r.timeout); err != nil {
			return fmt.Errorf("the page did not load after the form was sent: %w", err)
		}
	}
	if r.v.Effects == nil {
		time.Sleep(500 * time.Millisecond)
		return nil
	}
	err := browser.Until(r.timeout, func() (bool, error) {
		return len(r.v.Effects())-r.baseline >= n, nil
	})
	if err != nil {
		got := r.v.Effects()[r.baseline:]
		served, _ := r.f.since(r.mark)
		return fmt.Errorf("want %d effects, have %d (%s); served %v", n, len(got), strings.Join(got, ", "), served)
	}
	return nil
}

// wsURL returns the target's WebSocket URL.
func (r *run) wsURL() string {
	return "wss://" + strings.TrimPrefix(r.t.Origin, "https://") + r.t.WebSocketPath
}

// signInDirect sends the requests of the sign-in page to the in-process
// victim, with the headers the browser sends, and returns the cookies they
// set and the page's anti-CSRF token afterwards. With no credentials it
// only visits the page (a signed-out visitor).
func (r *run) signInDirect(creds ...string) ([]*http.Cookie, string, error) {
	jar := newJar()
	page := func() (string, error) {
		req := httptest.NewRequest(http.MethodGet, r.t.Origin+r.t.LoginPage, nil)
		req.Header.Set("Accept", "text/html")
		req.Header.Set("Sec-Fetch-Site", "none")
		req.Header.Set("Sec-Fetch-Mode", "navigate")
		req.Header.Set("Sec-Fetch-Dest", "document")
		resp := jar.do(r.v.Handler, req)
		if resp.Code != http.StatusOK {
			return "", fmt.Errorf("GET %s answered %d", r.t.LoginPage, resp.Code)
		}
		return findToken(resp.Body.String(), r.t.TokenMeta), nil
	}
	token, err := page()
	if err != nil || len(creds) < 2 {
		return jar.cookies(), token, err
	}
	form := url.Values{r.t.UserField: {creds[0]}, r.t.PasswordField: {creds[1]}}
	if token != "" {
		form.Set(r.t.TokenField, token)
	}
	req := httptest.NewRequest(http.MethodPost, r.t.Origin+r.t.LoginPath, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "text/html")
	req.Header.Set("Origin", r.t.Origin)
	req.Header.Set("Referer", r.t.Origin+r.t.LoginPage)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("Sec-Fetch-Mode", "navigate")
	req.Header.Set("Sec-Fetch-Dest", "document")
	if resp := jar.do(r.v.Handler, req); resp.Code >= 400 {
		return nil, "", fmt.Errorf("signing in as %s: POST %s answered %d: %s", creds[0], r.t.LoginPath, resp.Code, truncate(resp.Body.String(), 200))
	}
	token, err = page()
	return jar.cookies(), token, err
}

var metaToken = regexp.MustCompile(`<meta name="([^"]+)" content="([^"]*)"`)

// findToken returns the content of the meta tag named name in page.
func findToken(page, name string) string {
	for _, m := range metaToken.FindAllStringSubmatch(page, -1) {
		if m[1] == name {
			return html.UnescapeString(m[2])
		}
	}
	return ""
}

// jar keeps cookies with their attributes, as a browser's jar does for one
// host.
type jar struct {
	order []string
	byKey map[string]*http.Cookie
}

func newJar() *jar { return &jar{byKey: make(map[string]*http.Cookie)} }

func (j *jar) do(h http.Handler, req *http.Request) *httptest.ResponseRecorder {
	req.RemoteAddr = "127.0.0.1:1"
	for _, name := range j.order {
		if c := j.byKey[name]; c != nil {
			req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	for _, line := range rec.Result().Header.Values("Set-Cookie") {
		c, err := http.ParseSetCookie(line)
		if err != nil {
			continue
		}
		if c.MaxAge < 0 || (!c.Expires.IsZero() && c.Expires.Before(time.Now())) {
			j.byKey[c.Name] = nil
			continue
		}
		if _, ok := j.byKey[c.Name]; !ok {
			j.order = append(j.order, c.Name)
		}
		j.byKey[c.Name] = c
	}
	return rec
}

func (j *jar) cookies() []*http.Cookie {
	var out []*http.Cookie
	for _, name := range j.order {
		if c := j.byKey[name]; c != nil {
			out = append(out, c)
		}
	}
	return out
}
