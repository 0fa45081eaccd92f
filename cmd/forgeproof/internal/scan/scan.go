// Package scan is the engine of "forgeproof scan": it reads the operations
// of an API (OpenAPI, HAR, command line), signs in, discovers anti-CSRF
// tokens, sends a legitimate baseline and differential probes for every
// state-changing operation, collects what passive checks need, runs every
// check of package checks, and returns a [report.Report].
//
// The scanner only sends requests to the target's origin, never follows
// redirects, and bounds its request rate and concurrency. Probes repeat
// the operation they test: run it against a test environment.
package scan

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/report"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/scan/checks"
)

// AttackerOrigin is the foreign origin that probes claim to come from.
const AttackerOrigin = "https://forgeproof-attacker.example"

// Options configures [Run].
type Options struct {
	// Target is the origin (and base path) of the application.
	Target *url.URL
	// Operations are the endpoints to probe; safe ones are used for
	// passive checks only.
	Operations []Operation
	// Declared lists the input's operations for checks on the API
	// description.
	Declared []checks.Declared
	// HAR holds what a HAR file contributed, or nil.
	HAR *HAR
	// Source names the input file, for SARIF locations.
	Source string
	// Cookies and Header authenticate the first session.
	Cookies []*http.Cookie
	Header  http.Header
	// Login, if set, is called twice to obtain two independent sessions.
	Login *Login
	// Rate bounds requests per second; zero means no bound.
	Rate float64
	// Concurrency bounds requests in flight; zero means 4.
	Concurrency int
	// Timeout bounds each request; zero means 15 seconds.
	Timeout time.Duration
	// Confirm, if set, tries each finding's proof of concept in a real
	// browser.
	Confirm Confirmer
	// Progress, if set, is called after each operation.
	Progress func(done, total int)
	// Transport replaces the HTTP transport (tests).
	Transport http.RoundTripper
	// RootCAs, if set, are the certificate authorities trusted for an
	// https target (--ca-cert) instead of the system's.
	RootCAs *x509.CertPool
	// Insecure turns off TLS certificate verification (--insecure); the
	// report says so in a warning.
	Insecure bool
}

// Login describes the request that signs in.
type Login struct {
	URL         *url.URL
	Method      string // POST if empty
	Body        []byte
	ContentType string
}

// A Confirmer replays findings in a browser and sets their Confirmed and
// Evidence.Browser fields.
type Confirmer interface {
	Confirm(ctx context.Context, c *Confirmation) error
}

// A Confirmation is what a [Confirmer] needs to replay findings.
type Confirmation struct {
	Target *url.URL
	// Cookies are the first session's cookies, with the attributes the
	// target set them with when the scan saw it (HttpOnly, SameSite…).
	Cookies []*http.Cookie
	// Findings are the findings to replay.
	Findings []*report.Finding
	// ReadBack, if set, returns the application's state as the scan's
	// read-back operations answer it; a change across a replay is its
	// effect. Nil when no read-back answered the same twice.
	ReadBack func(ctx context.Context) (string, error)
	// SameSite is the session cookie's SameSite mode (see
	// checks.SessionSameSite).
	SameSite string
}

type scanner struct {
	opts   Options
	target *url.URL
	client *client
	s1, s2 *session
	// preLogin is the first session's token before it signed in.
	preLogin token
	// observers are the read-back GET operations (see getEffects).
	observers []*Operation
	// formToks maps a form's action path to the token that the form, on
	// a page the scan fetched after login, carries (see tokenFor).
	formToks map[string]token

	mu       sync.Mutex
	pass     *checks.Pass
	findings []report.Finding
}

// Run scans opts.Target and returns the report. It returns an error when
// the scan itself fails (the target cannot be reached, login fails); an
// operation whose baseline fails is a note in the report, not an error.
func Run(ctx context.Context, opts Options) (*report.Report, error) {
	start := time.Now()
	if opts.Target == nil || opts.Target.Host == "" {
		return nil, errors.New("no target")
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 4
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 15 * time.Second
	}
	target := *opts.Target
	target.RawQuery, target.Fragment = "", ""
	sc := &scanner{opts: opts, target: &target, formToks: map[string]token{}}
	transport := opts.Transport
	if transport == nil && (opts.RootCAs != nil || opts.Insecure) {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = opts.Concurrency + 2
		t.TLSClientConfig = &tls.Config{RootCAs: opts.RootCAs, InsecureSkipVerify: opts.Insecure}
		transport = t
	}
	sc.client = newClient(sc.target, opts.Rate, opts.Concurrency, opts.Timeout, transport)
	sc.pass = &checks.Pass{Target: sc.target, Declared: opts.Declared}
	sc.pass.Report = func(f report.Finding) { sc.findings = append(sc.findings, f) }

	if err := sc.sessions(ctx); err != nil {
		return nil, err
	}
	if h := opts.HAR; h != nil {
		sc.pass.Pages = append(sc.pass.Pages, h.Pages...)
		sc.pass.URLs = append(sc.pass.URLs, h.URLs...)
		sc.pass.SetCookies = append(sc.pass.SetCookies, h.SetCookies...)
	}
	if err := sc.cors(ctx); err != nil {
		return nil, err
	}
	if err := sc.getEffects(ctx); err != nil {
		return nil, err
	}
	if err := sc.probeAll(ctx); err != nil {
		return nil, err
	}
	for _, c := range checks.All {
		c.Run(c, sc.pass)
	}
	// What browsers do with the session cookie decides how far a forged
	// request gets; each finding says so, and its severity follows.
	sameSite := checks.SessionSameSite(sc.pass)
	for i := range sc.findings {
		checks.ApplySameSite(&sc.findings[i], sameSite)
	}
	rep := &report.Report{Target: origin(sc.target), Source: opts.Source}
	if opts.Insecure {
		rep.Warnings = append(rep.Warnings, "TLS certificate verification was turned off (--insecure): the scan cannot tell the target from an impostor; use --ca-cert FILE with the CA that signed the target's certificate")
	}
	for _, c := range checks.All {
		rep.Rules = append(rep.Rules, c.Rule())
	}
	// Evidence shows cookie names only (see checks.DumpRequest) and no
	// token value; the proofs of concept keep the tokens they need.
	var redact []string
	for _, t := range sc.pass.Tokens {
		redact = append(redact, t, "[token]", url.QueryEscape(t), "[token]")
	}
	redactor := strings.NewReplacer(redact...)
	seen := map[string]bool{}
	for _, f := range sc.findings {
		f.Evidence.Request = redactor.Replace(f.Evidence.Request)
		k := f.Check + " " + f.Method + " " + f.Path
		if !seen[k] {
			seen[k] = true
			rep.Findings = append(rep.Findings, f)
		}
	}
	if opts.Confirm != nil && len(rep.Findings) > 0 {
		var fs []*report.Finding
		for i := range rep.Findings {
			// Only forged requests are confirmed; the pages of passive
			// findings (a CORS read, a frame) are for people to open.
			if rep.Findings[i].PoC != "" && slices.Contains(checks.AttackProbes, rep.Findings[i].Evidence.Probe) {
				fs = append(fs, &rep.Findings[i])
			}
		}
		var cookies []*http.Cookie
		for _, n := range sc.s1.order {
			v, ok := sc.s1.cookies[n]
			if !ok {
				continue
			}
			c := &http.Cookie{Name: n, Value: v}
			// The attributes the target gave it, from the last
			// Set-Cookie seen for that name.
			for _, set := range sc.pass.SetCookies {
				if set.Cookie.Name == n {
					a := *set.Cookie
					c = &a
					c.Value, c.Domain = v, ""
					c.MaxAge, c.Expires = 0, time.Time{}
				}
			}
			cookies = append(cookies, c)
		}
		conf := &Confirmation{Target: sc.target, Cookies: cookies, Findings: fs, SameSite: sameSite}
		if len(sc.observers) > 0 {
			conf.ReadBack = func(ctx context.Context) (string, error) {
				snap, err := sc.snapshot(ctx, sc.observers)
				if err != nil {
					return "", err
				}
				var b strings.Builder
				for _, ex := range snap {
					fmt.Fprintf(&b, "%d %s\n", ex.Status, normalize(ex.Body))
				}
				return b.String(), nil
			}
		}
		if err := opts.Confirm.Confirm(ctx, conf); err != nil {
			return nil, fmt.Errorf("confirm: %w", err)
		}
	}
	for _, op := range sc.pass.Ops {
		ro := report.Operation{Method: op.Method, Path: op.Path, Note: op.Note}
		if op.Baseline != nil {
			ro.BaselineStatus = op.Baseline.Status
		}
		ids := make([]string, 0, len(op.Probes))
		for id := range op.Probes {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, id := range ids {
			ex := op.Probes[id]
			ro.Probes = append(ro.Probes, report.ProbeResult{Probe: id, Status: ex.Status, Similarity: roundSim(ex.Similarity), Accepted: ex.Accepted, Reason: ex.Reason})
		}
		rep.Operations = append(rep.Operations, ro)
	}
	rep.Hints = sc.hints(rep)
	rep.Finish(int(sc.client.sent.Load()), time.Since(start))
	return rep, nil
}

func roundSim(f float64) float64 { return float64(int(f*100+0.5)) / 100 }

func origin(u *url.URL) string { return u.Scheme + "://" + u.Host }

func (sc *scanner) hints(rep *report.Report) []string {
	var h []string
	unsafe := 0
	noBaseline := 0
	for _, op := range sc.pass.Ops {
		unsafe++
		if strings.HasPrefix(op.Note, "no baseline") {
			noBaseline++
		}
	}
	if unsafe == 0 {
		h = append(h, "no state-changing operation was probed: give --openapi, --har or --endpoint \"POST /path\"")
	}
	if noBaseline > 0 {
		h = append(h, fmt.Sprintf("%d operations had no baseline: check the authentication (--cookie, --header, --login) and the example bodies", noBaseline))
	}
	if sc.s2 == nil && sc.s1.tok.Value != "" {
		h = append(h, "token-not-session-bound was not probed: give --login to hold two independent sessions")
	}
	if sc.opts.Confirm == nil && len(rep.Findings) > 0 {
		h = append(h, "run with --confirm to prove the findings in headless Chromium")
	}
	return h
}

// sessions signs in twice (with --login) or builds the one session given
// by --cookie, and discovers each session's token.
func (sc *scanner) sessions(ctx context.Context) error {
	if sc.opts.Login == nil {
		s := newSession()
		for _, c := range sc.opts.Cookies {
			s.set(c.Name, c.Value)
		}
		sc.s1 = s
		if err := sc.discover(ctx, s, true); err != nil {
			return err
		}
		if s.tok.Value != "" {
			sc.pass.Tokens = append(sc.pass.Tokens, s.tok.Value)
		}
		return nil
	}
	for i := range 2 {
		s := newSession()
		for _, c := range sc.opts.Cookies {
			s.set(c.Name, c.Value)
		}
		if err := sc.discover(ctx, s, i == 0); err != nil {
			return err
		}
		pre := s.tok
		if err := sc.login(ctx, s, i == 0); err != nil {
			return err
		}
		if err := sc.discover(ctx, s, false); err != nil {
			return err
		}
		if i == 0 {
			sc.s1 = s
			sc.preLogin = pre
			sc.pass.PreLogin, sc.pass.PostLogin = pre.Value, s.tok.Value
		} else {
			sc.s2 = s
		}
	}
	for _, v := range []string{sc.s1.tok.Value, sc.s2.tok.Value, sc.preLogin.Value} {
		if v != "" {
			sc.pass.Tokens = append(sc.pass.Tokens, v)
		}
	}
	return nil
}

func (sc *scanner) login(ctx context.Context, s *session, record bool) error {
	l := sc.opts.Login
	method := l.Method
	if method == "" {
		method = "POST"
	}
	h := sc.legitHeader(s)
	body := l.Body
	if l.ContentType != "" {
		h.Set("Content-Type", l.ContentType)
	}
	if s.tok.Value != "" && l.ContentType == "application/x-www-form-urlencoded" && s.tok.Field != "" {
		v, _ := url.ParseQuery(string(body))
		v.Set(s.tok.Field, s.tok.Value)
		body = []byte(v.Encode())
	}
	ex, err := sc.client.do(ctx, "login", &checks.Request{Method: method, URL: l.URL, Header: h, Body: body})
	if err != nil {
		return fmt.Errorf("login: %w", err)
	}
	if ex.Status >= 400 {
		return fmt.Errorf("login: %s %s answered %d", method, l.URL.Path, ex.Status)
	}
	set := s.update(ex.Header)
	if len(set) == 0 {
		return fmt.Errorf("login: %s %s answered %d but set no cookie", method, l.URL.Path, ex.Status)
	}
	if record {
		sc.pass.LoginPath = l.URL.Path
		for _, c := range set {
			sc.pass.SetCookies = append(sc.pass.SetCookies, checks.SetCookie{Cookie: c, Login: true, Path: l.URL.Path})
		}
	}
	return nil
}

// userHeader returns a copy of the --header headers.
func (sc *scanner) userHeader() http.Header {
	h := http.Header{}
	for k, vs := range sc.opts.Header {
		h[k] = append([]string(nil), vs...)
	}
	return h
}

// legitHeader is what the application's own pages send.
func (sc *scanner) legitHeader(s *session) http.Header {
	h := sc.userHeader()
	h.Set("Origin", origin(sc.target))
	h.Set("Referer", origin(sc.target)+"/")
	h.Set("Sec-Fetch-Site", "same-origin")
	h.Set("Sec-Fetch-Mode", "cors")
	if s.tok.Value != "" {
		for _, name := range s.tok.headers() {
			h.Set(name, s.tok.Value)
		}
	}
	if c := s.header(); c != "" {
		h.Set("Cookie", c)
	}
	return h
}

// cors sends cross-origin preflights to every path.
func (sc *scanner) cors(ctx context.Context) error {
	paths := map[string]bool{sc.pathOf("/"): true}
	for _, op := range sc.opts.Operations {
		paths[sc.pathOf(op.URLPath)] = true
	}
	list := make([]string, 0, len(paths))
	for p := range paths {
		list = append(list, p)
	}
	sort.Strings(list)
	for _, p := range list {
		for _, o := range []struct{ probe, origin string }{{"cors-attacker", AttackerOrigin}, {"cors-null", "null"}} {
			h := http.Header{}
			h.Set("Origin", o.origin)
			h.Set("Access-Control-Request-Method", "POST")
			h.Set("Access-Control-Request-Headers", "content-type")
			ex, err := sc.client.do(ctx, o.probe, &checks.Request{Method: "OPTIONS", URL: sc.urlOf(p, nil), Header: h})
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				continue // a dropped preflight grants nothing
			}
			sc.pass.CORS = append(sc.pass.CORS, ex)
		}
	}
	return nil
}

// pathOf joins the target's base path and p.
func (sc *scanner) pathOf(p string) string {
	base := strings.TrimSuffix(sc.target.Path, "/")
	if base != "" && strings.HasPrefix(p, base+"/") {
		return p
	}
	return base + p
}

func (sc *scanner) urlOf(path string, q url.Values) *url.URL {
	u := &url.URL{Scheme: sc.target.Scheme, Host: sc.target.Host, Path: path}
	if len(q) > 0 {
		u.RawQuery = q.Encode()
	}
	return u
}

// probeAll probes the unsafe operations with bounded concurrency.
func (sc *scanner) probeAll(ctx context.Context) error {
	var ops []Operation
	for _, op := range sc.opts.Operations {
		if op.unsafe() || (op.Policy != nil && op.Policy.Unsafe) {
			ops = append(ops, op)
		}
	}
	sc.pass.Ops = make([]*checks.Op, len(ops))
	work := make(chan int)
	var wg sync.WaitGroup
	var firstErr error
	var errOnce sync.Once
	done := 0
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for range min(sc.opts.Concurrency, max(len(ops), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				res, err := sc.probe(ctx, &ops[i])
				if err != nil {
					errOnce.Do(func() { firstErr = err; cancel() })
					continue
				}
				compact(res)
				sc.mu.Lock()
				sc.pass.Ops[i] = res
				done++
				d := done
				sc.mu.Unlock()
				if sc.opts.Progress != nil {
					sc.opts.Progress(d, len(ops))
				}
			}
		}()
	}
feed:
	for i := range ops {
		select {
		case work <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}

func mediaType(ct string) string {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return strings.ToLower(strings.TrimSpace(ct))
	}
	return mt
}

func isJSONType(mt string) bool {
	return mt == "application/json" || strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json")
}

// probe sends the baseline and every probe of one operation.
func (sc *scanner) probe(ctx context.Context, op *Operation) (*checks.Op, error) {
	path := sc.pathOf(op.URLPath)
	tok := sc.tokenFor(path)
	res := &checks.Op{Method: op.Method, Path: op.Path, Token: tok.Value != "", Probes: map[string]*checks.Exchange{}, Policy: op.Policy}
	if op.Policy != nil && op.Policy.Bypass {
		res.Note = "declared x-forgeproof bypass: accepts cross-site requests by design, not probed"
		return res, nil
	}
	mt := mediaType(op.ContentType)

	// The fields of the body, without any token, for re-encoding.
	var fields url.Values
	var jsonObj map[string]any
	switch {
	case len(op.Body) == 0:
		fields = url.Values{}
	case mt == "application/x-www-form-urlencoded":
		fields, _ = url.ParseQuery(string(op.Body))
	case isJSONType(mt):
		var v any
		if json.Unmarshal(op.Body, &v) == nil {
			fields = flatten(v)
			jsonObj, _ = v.(map[string]any)
		}
	}
	for k := range fields {
		if isTokenName(k) {
			fields.Del(k)
		}
	}
	for k := range jsonObj {
		if isTokenName(k) {
			delete(jsonObj, k)
		}
	}

	// Baseline: the legitimate request.
	base := &checks.Request{Method: op.Method, URL: sc.urlOf(path, op.Query), Header: sc.legitHeader(sc.s1), Body: op.Body}
	declaredHeader(op, base.Header)
	if op.ContentType != "" {
		base.Header.Set("Content-Type", op.ContentType)
	}
	if mt == "application/x-www-form-urlencoded" && tok.Value != "" {
		f := cloneValues(fields)
		f.Set(tok.Field, tok.Value)
		base.Body = []byte(f.Encode())
	}
	bex, err := sc.client.do(ctx, checks.ProbeBaseline, base)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		res.Note = "no baseline: " + err.Error()
		return res, nil
	}
	bex.Accepted = bex.Status < 400 && bex.Reason == ""
	bex.Similarity = 1
	res.Baseline = bex
	if !bex.Accepted {
		res.Note = fmt.Sprintf("no baseline: the legitimate request got %d%s; nothing was probed", bex.Status, reasonSuffix(bex.Reason))
		if checks.Enforced(op.Policy) && op.Policy.ReauthMaxAge > 0 && bex.Status == http.StatusUnauthorized {
			// The scanner holds no re-authentication proof: a refusal
			// is the declared step-up at work.
			res.Note = fmt.Sprintf("declared step-up enforced: the legitimate request without a re-authentication proof got %d%s; nothing else was probed", bex.Status, reasonSuffix(bex.Reason))
		}
		return res, nil
	}
	if why := sc.badRedirect(bex); why != "" {
		bex.Accepted = false
		res.Note = fmt.Sprintf("no baseline: the legitimate request got %d, %s; nothing was probed", bex.Status, why)
		return res, nil
	}
	send := func(id string, r *checks.Request, ct string) (*checks.Exchange, error) {
		ex, err := sc.client.do(ctx, id, r)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			// A probe that fails in transit (a connection reset by a
			// firewall, a timeout) was not accepted; the scan goes on.
			res.Note = strings.TrimPrefix(res.Note+"; ", "; ") + fmt.Sprintf("probe %s failed: %v", id, err)
			ex = &checks.Exchange{Probe: id, Request: r, Header: http.Header{}}
			res.Probes[id] = ex
			return ex, nil
		}
		ex.ContentType = ct
		checks.Judge(bex, ex)
		res.Probes[id] = ex
		return ex, nil
	}

	if checks.Enforced(op.Policy) {
		if err := sc.policyProbes(op, path, base, jsonObj, fields, send); err != nil {
			return nil, err
		}
	}
	if !op.unsafe() {
		// A GET declared unsafe: its policy probes are all it gets.
		return res, nil
	}

	// How a cross-site form can send this body: as is, or re-encoded.
	attackCT, encode := "", func(extra url.Values) []byte { return nil }
	downgraded := ""
	switch {
	case len(op.Body) == 0 || mt == "application/x-www-form-urlencoded":
		attackCT = "application/x-www-form-urlencoded"
		encode = func(extra url.Values) []byte { return []byte(merge(fields, extra).Encode()) }
	case mt == "text/plain":
		attackCT = "text/plain"
		encode = func(url.Values) []byte { return op.Body }
	case jsonObj != nil:
		tp, _ := checks.TextPlainJSON(mustJSON(jsonObj))
		r := sc.legitRequest(op, path, tp, "text/plain")
		ex, err := send(checks.ProbeContentType, r, "text/plain")
		if err != nil {
			return nil, err
		}
		if ex.Accepted {
			attackCT, downgraded = "text/plain", "text/plain"
			encode = func(extra url.Values) []byte {
				obj := map[string]any{}
				for k, v := range jsonObj {
					obj[k] = v
				}
				for k := range extra {
					obj[k] = extra.Get(k)
				}
				b, _ := checks.TextPlainJSON(mustJSON(obj))
				return b
			}
			break
		}
		form := sc.legitRequest(op, path, []byte(fields.Encode()), "application/x-www-form-urlencoded")
		ex, err = send(checks.ProbeContentType, form, "application/x-www-form-urlencoded")
		if err != nil {
			return nil, err
		}
		if ex.Accepted {
			attackCT, downgraded = "application/x-www-form-urlencoded", "application/x-www-form-urlencoded"
			encode = func(extra url.Values) []byte { return []byte(merge(fields, extra).Encode()) }
		}
	}

	if pre := sc.preLogin; pre.Value != "" && tok.Value != "" && pre.Value != tok.Value {
		// The legitimate request with the token from before login.
		r := base.Clone()
		for _, name := range tok.headers() {
			r.Header.Set(name, pre.Value)
		}
		if mt == "application/x-www-form-urlencoded" {
			f := cloneValues(fields)
			f.Set(tok.Field, pre.Value)
			r.Body = []byte(f.Encode())
		}
		if _, err := send(checks.ProbeTokenPreLogin, r, ""); err != nil {
			return nil, err
		}
	}
	if tok.Value != "" && mt == "application/x-www-form-urlencoded" && tok.Header != "" {
		// The token in the field only.
		r := base.Clone()
		for _, name := range tok.headers() {
			r.Header.Del(name)
		}
		if _, err := send(checks.ProbeTokenMoved, r, ""); err != nil {
			return nil, err
		}
	}

	if tok.Value != "" {
		// The legitimate request with a made-up token of the same shape:
		// refused when the operation verifies tokens at all.
		bogus := forge(tok.Value)
		r := base.Clone()
		for _, name := range tok.headers() {
			if r.Header.Get(name) != "" {
				r.Header.Set(name, bogus)
			}
		}
		if mt == "application/x-www-form-urlencoded" {
			f := cloneValues(fields)
			f.Set(tok.Field, bogus)
			r.Body = []byte(f.Encode())
		}
		if _, err := send(checks.ProbeTokenBogus, r, ""); err != nil {
			return nil, err
		}
	}

	switch {
	case op.Method != "POST":
		res.Note = "a cross-site page can send only GET and POST: probed through method override and GET"
	case attackCT == "" && isJSONType(mt):
		res.Note = "JSON only: a cross-site form cannot send this body without a CORS preflight, so only GET was probed"
	case attackCT == "":
		res.Note = fmt.Sprintf("body type %s is not probed cross-site", mt)
	default:
		field := tok.Field
		if field == "" {
			field = "_csrf"
		}
		type variant struct {
			id     string
			origin string
			ref    string
			sfs    string
			extra  url.Values
			// cookies replace the session's cookies of the same name.
			cookies map[string]string
		}
		vs := []variant{
			{checks.ProbeCrossSite, AttackerOrigin, AttackerOrigin + "/", "cross-site", nil, nil},
			{checks.ProbeOriginNull, "null", "", "", nil, nil},
			{checks.ProbeNoReferer, AttackerOrigin, "", "cross-site", nil, nil},
			{checks.ProbeFetchMetadata, "", "", "cross-site", nil, nil},
			{checks.ProbeNoOrigin, "", "", "", nil, nil},
			// http and https of one host are different sites to browsers
			// (schemeful same-site).
			{checks.ProbeOtherScheme, otherScheme(sc.target), otherScheme(sc.target) + "/", "cross-site", nil, nil},
			{checks.ProbeSameSitePort, otherPort(sc.target), otherPort(sc.target) + "/", "same-site", nil, nil},
		}
		sib := sibling(sc.target)
		if sib != "" {
			vs = append(vs, variant{checks.ProbeSameSite, sib, sib + "/", "same-site", nil, nil})
		} else {
			// Cookies ignore ports: another port of the host can toss them.
			sib = otherPort(sc.target)
		}
		if tok.Value != "" {
			vs = append(vs, variant{checks.ProbeTokenEmpty, AttackerOrigin, AttackerOrigin + "/", "cross-site", url.Values{field: {""}}, nil})
			if sc.s2 != nil && sc.s2.tok.Value != "" {
				vs = append(vs, variant{checks.ProbeTokenOtherSession, AttackerOrigin, AttackerOrigin + "/", "cross-site", url.Values{field: {sc.s2.tok.Value}}, nil})
			}
			if names := sc.tokenCookies(); len(names) > 0 {
				// A sibling subdomain sets the token cookie to a value it
				// chose and submits the same value in the form.
				v := forge(tok.Value)
				tossed := map[string]string{}
				for _, n := range names {
					tossed[n] = v
				}
				vs = append(vs, variant{checks.ProbeDoubleSubmit, sib, sib + "/", "same-site", url.Values{field: {v}}, tossed})
			}
		}
		for _, v := range vs {
			h := sc.attackHeader(v.origin, v.ref, v.sfs, "navigate")
			var tossed map[string]string
			if v.cookies != nil {
				h.Set("Cookie", sc.s1.headerWith(v.cookies))
				tossed = v.cookies
			}
			h.Set("Content-Type", attackCT)
			r := &checks.Request{Method: "POST", URL: sc.urlOf(path, op.Query), Header: h, Body: encode(v.extra), Tossed: tossed}
			if _, err := send(v.id, r, downgraded); err != nil {
				return nil, err
			}
		}
	}

	// The action by GET, with a control GET without the fields.
	q := merge(op.Query, fields)
	if _, err := send(checks.ProbeGet, &checks.Request{Method: "GET", URL: sc.urlOf(path, q), Header: sc.attackHeader("", AttackerOrigin+"/", "cross-site", "navigate")}, ""); err != nil {
		return nil, err
	}
	if _, err := send(checks.ProbeGetControl, &checks.Request{Method: "GET", URL: sc.urlOf(path, op.Query), Header: sc.attackHeader("", AttackerOrigin+"/", "cross-site", "navigate")}, ""); err != nil {
		return nil, err
	}
	if op.Method != "POST" {
		over := url.Values{"_method": {op.Method}}
		h := sc.attackHeader(AttackerOrigin, AttackerOrigin+"/", "cross-site", "navigate")
		h.Set("Content-Type", "application/x-www-form-urlencoded")
		r := &checks.Request{Method: "POST", URL: sc.urlOf(path, merge(op.Query, over)), Header: h, Body: []byte(merge(fields, over).Encode())}
		if _, err := send(checks.ProbeOverridePost, r, ""); err != nil {
			return nil, err
		}
		r = &checks.Request{Method: "GET", URL: sc.urlOf(path, merge(q, over)), Header: sc.attackHeader("", AttackerOrigin+"/", "cross-site", "navigate")}
		if _, err := send(checks.ProbeOverrideGet, r, ""); err != nil {
			return nil, err
		}
		h = sc.attackHeader("", AttackerOrigin+"/", "cross-site", "navigate")
		h.Set("X-HTTP-Method-Override", op.Method)
		r = &checks.Request{Method: "GET", URL: sc.urlOf(path, q), Header: h}
		if _, err := send(checks.ProbeOverrideHeader, r, ""); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// keptBody bounds the part of each response body kept after an
// operation was judged, so that memory stays bounded on large scans.
const keptBody = 4 << 10

// compact trims the response bodies of op's exchanges once they were
// judged against the baseline.
func compact(op *checks.Op) {
	trim := func(ex *checks.Exchange) {
		if ex != nil {
			ex.Body = bytes.Clone(ex.Body[:min(len(ex.Body), keptBody)])
		}
	}
	trim(op.Baseline)
	for _, ex := range op.Probes {
		trim(ex)
	}
}

// badRedirect says why a redirect cannot count as a successful baseline:
// it leads to another host, or to a sign-in page (the session is not
// valid), or "".
func (sc *scanner) badRedirect(ex *checks.Exchange) string {
	if ex.Status/100 != 3 {
		return ""
	}
	loc, err := ex.Request.URL.Parse(ex.Header.Get("Location"))
	switch {
	case err != nil || ex.Header.Get("Location") == "":
		return "a redirect without a valid Location"
	case !strings.EqualFold(loc.Host, sc.target.Host):
		return "a redirect to another host (" + loc.Host + ")"
	case isLoginPath(loc.Path):
		return "a redirect to the sign-in page " + loc.Path + " (check the authentication)"
	}
	return ""
}

func reasonSuffix(r string) string {
	if r == "" {
		return ""
	}
	return " (reason " + r + ")"
}

// legitRequest is the baseline with another body and content type.
func (sc *scanner) legitRequest(op *Operation, path string, body []byte, ct string) *checks.Request {
	h := sc.legitHeader(sc.s1)
	declaredHeader(op, h)
	h.Set("Content-Type", ct)
	return &checks.Request{Method: op.Method, URL: sc.urlOf(path, op.Query), Header: h, Body: body}
}

// declaredHeader adds the header and cookie parameters that the input
// declares for op to a legitimate request's header h.
func declaredHeader(op *Operation, h http.Header) {
	for k, vs := range op.Header {
		h[k] = append([]string(nil), vs...)
	}
	for _, c := range op.Cookies {
		v := c.Name + "=" + c.Value
		if old := h.Get("Cookie"); old != "" {
			v = old + "; " + v
		}
		h.Set("Cookie", v)
	}
}

// attackHeader is what a browser sends for a request that a page of
// another site makes: the session's cookies and the given Origin,
// Referer and Sec-Fetch-Site (each omitted when ""); never the --header
// headers or the token header.
func (sc *scanner) attackHeader(originValue, referer, sfs, mode string) http.Header {
	h := http.Header{}
	if originValue != "" {
		h.Set("Origin", originValue)
	}
	if referer != "" {
		h.Set("Referer", referer)
	}
	if sfs != "" {
		h.Set("Sec-Fetch-Site", sfs)
		h.Set("Sec-Fetch-Mode", mode)
	}
	if c := sc.s1.header(); c != "" {
		h.Set("Cookie", c)
	}
	return h
}

// otherScheme returns the target's host on the other scheme (http for
// https, https for http).
func otherScheme(u *url.URL) string {
	if u.Scheme == "https" {
		return "http://" + u.Host
	}
	return "https://" + u.Host
}

// otherPort returns an origin on the target's host name and scheme with
// another port: the same site, another origin.
func otherPort(u *url.URL) string {
	p := 8443
	if n, err := strconv.Atoi(u.Port()); err == nil {
		p = n + 1
		if p > 65535 {
			p = n - 1
		}
	}
	return u.Scheme + "://" + net.JoinHostPort(u.Hostname(), strconv.Itoa(p))
}

// tokenCookies returns the names of the first session's cookies that
// carry its anti-CSRF token: those whose value is the token, and those
// that a framework names as token cookies.
func (sc *scanner) tokenCookies() []string {
	var names []string
	for _, n := range sc.s1.order {
		v, ok := sc.s1.cookies[n]
		if ok && (isTokenCookieName(n) || v == sc.s1.tok.Value || cookieValue(v) == sc.s1.tok.Value) {
			names = append(names, n)
		}
	}
	return names
}

// forge returns a made-up value of v's shape: each letter and digit
// replaced by a random one of its class, punctuation kept, so that format
// checks pass and only a real verification refuses it.
func forge(v string) string {
	const (
		lower  = "abcdefghijklmnopqrstuvwxyz"
		upper  = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		digits = "0123456789"
	)
	isHex := strings.Trim(v, "0123456789abcdef") == ""
	b := []byte(v)
	for i, c := range b {
		var set string
		switch {
		case isHex:
			set = "0123456789abcdef"
		case c >= 'a' && c <= 'z':
			set = lower
		case c >= 'A' && c <= 'Z':
			set = upper
		case c >= '0' && c <= '9':
			set = digits
		default:
			continue
		}
		b[i] = set[randIndex(len(set))]
	}
	if string(b) == v && len(b) > 0 {
		return forge(v) // astronomically unlikely for a real token
	}
	return string(b)
}

// randIndex returns a random index below n (n at most 256).
func randIndex(n int) int {
	var b [1]byte
	rand.Read(b[:])
	return int(b[0]) % n
}

// sibling returns an origin on another subdomain of the target's site, or
// "" for an IP address.
func sibling(u *url.URL) string {
	host := u.Hostname()
	if net.ParseIP(host) != nil || host == "" {
		return ""
	}
	labels := strings.Split(host, ".")
	site := host
	if len(labels) > 2 {
		site = strings.Join(labels[len(labels)-2:], ".")
	}
	h := "forgeproof-sibling." + site
	if p := u.Port(); p != "" {
		h = net.JoinHostPort(h, p)
	}
	return u.Scheme + "://" + h
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

func merge(a, b url.Values) url.Values {
	out := cloneValues(a)
	for k, vs := range b {
		out[k] = append([]string(nil), vs...)
	}
	return out
}
