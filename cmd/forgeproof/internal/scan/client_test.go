package scan

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/scan/checks"
)

func counter() (*httptest.Server, *atomic.Int64) {
	var n atomic.Int64
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { n.Add(1) })), &n
}

// TestOffTarget checks that the client refuses requests to any other
// origin than the target's, before sending them.
func TestOffTarget(t *testing.T) {
	other, hits := counter()
	defer other.Close()
	target, _ := url.Parse("http://127.0.0.1:1")
	c := newClient(target, 0, 1, time.Second, nil)
	u, _ := url.Parse(other.URL + "/x")
	for _, u := range []*url.URL{u, {Scheme: "https", Host: "127.0.0.1:1", Path: "/"}} {
		_, err := c.do(context.Background(), "test", &checks.Request{Method: "GET", URL: u, Header: http.Header{}})
		if !errors.Is(err, errOffTarget) {
			t.Errorf("%s: err = %v, want errOffTarget", u, err)
		}
	}
	if hits.Load() != 0 || c.sent.Load() != 0 {
		t.Errorf("%d requests reached the other server, %d counted as sent", hits.Load(), c.sent.Load())
	}
}

// TestNoRedirects checks that a scan never follows a redirect, even when
// every answer of the target points at another host.
func TestNoRedirects(t *testing.T) {
	other, hits := counter()
	defer other.Close()
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusFound)
	}))
	defer target.Close()
	var stdout, stderr bytes.Buffer
	code := Command(context.Background(), []string{"--target", target.URL, "--endpoint", "POST /transfer to=bob", "--rate", "0"}, &stdout, &stderr)
	if code == ExitFailed || code == ExitUsage {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the other host got %d requests", n)
	}
	if code != ExitOK || !strings.Contains(stdout.String(), "no baseline: the legitimate request got 302, a redirect to another host") {
		t.Errorf("exit %d, want 0 and no baseline:\n%s", code, stdout.String())
	}
}

// TestLoginRedirectIsNoBaseline checks that an application that sends
// every request to its sign-in page yields no finding.
func TestLoginRedirectIsNoBaseline(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/users/sign_in", http.StatusFound)
	}))
	defer srv.Close()
	var stdout, stderr bytes.Buffer
	code := Command(context.Background(), []string{"--target", srv.URL, "--endpoint", "POST /transfer to=bob", "--rate", "0"}, &stdout, &stderr)
	if code != ExitOK || !strings.Contains(stdout.String(), "redirect to the sign-in page /users/sign_in") {
		t.Errorf("exit %d, want 0 and no baseline:\n%s", code, stdout.String())
	}
}

// TestRateLimit checks the lower bound the rate limit puts on a burst:
// n requests at r per second take at least (n-1)/r seconds.
func TestRateLimit(t *testing.T) {
	srv, hits := counter()
	defer srv.Close()
	target, _ := url.Parse(srv.URL)
	c := newClient(target, 50, 4, time.Second, nil)
	start := time.Now()
	for range 11 {
		if _, err := c.do(context.Background(), "test", &checks.Request{Method: "GET", URL: target, Header: http.Header{}}); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d < 190*time.Millisecond {
		t.Errorf("11 requests at 50/s took %v, want at least 200ms", d)
	}
	if hits.Load() != 11 {
		t.Errorf("%d requests arrived, want 11", hits.Load())
	}
}

func TestProgressBar(t *testing.T) {
	var b bytes.Buffer
	p := progressBar(&b)
	p(1, 5) // short scans draw nothing
	if b.Len() != 0 {
		t.Errorf("drew %q for a short scan", b.String())
	}
	p(10, 20)
	if !strings.Contains(b.String(), "10/20 operations") || !strings.Contains(b.String(), "###############...............") {
		t.Errorf("bar = %q", b.String())
	}
}

func TestSibling(t *testing.T) {
	for in, want := range map[string]string{
		"https://app.example.com":      "https://forgeproof-sibling.example.com",
		"https://example.com":          "https://forgeproof-sibling.example.com",
		"http://localhost:8080":        "http://forgeproof-sibling.localhost:8080",
		"http://127.0.0.1:8080":        "",
		"http://[::1]:8080":            "",
		"https://a.b.bank.example:443": "https://forgeproof-sibling.bank.example:443",
	} {
		u, _ := url.Parse(in)
		if got := sibling(u); got != want {
			t.Errorf("sibling(%s) = %q, want %q", in, got, want)
		}
	}
}

func TestTokenInHTML(t *testing.T) {
	tests := []struct {
		name, html           string
		value, header, field string
	}{
		{"meta", `<meta name="csrf-token" content="abc">`, "abc", "X-CSRF-Token", "_csrf"},
		{"meta with spring header", `<meta name="_csrf" content="abc"><meta name="_csrf_header" content="X-XSRF-TOKEN">`, "abc", "X-XSRF-TOKEN", "_csrf"},
		{"django input", `<form><input type="hidden" name="csrfmiddlewaretoken" value="d&amp;j"></form>`, "d&j", "X-CSRFToken", "csrfmiddlewaretoken"},
		{"rails meta with csrf-param", `<meta name="csrf-param" content="authenticity_token"><meta name="csrf-token" content="r">`, "r", "X-CSRF-Token", "authenticity_token"},
		{"laravel input", `<input type="hidden" name="_token" value="l">`, "l", "X-CSRF-TOKEN", "_token"},
		{"asp.net input", `<input name="__RequestVerificationToken" type="hidden" value="a">`, "a", "RequestVerificationToken", "__RequestVerificationToken"},
		{"forgeproof meta", `<meta name="forgeproof-token" content="f">`, "f", "X-Forgeproof-Token", "_csrf"},
		{"gorilla input", `<input type="hidden" name="gorilla.csrf.Token" value="g">`, "g", "X-CSRF-Token", "gorilla.csrf.Token"},
		{"nosurf or flask-wtf input", `<input type="hidden" name="csrf_token" value="n">`, "n", "X-CSRF-Token", "csrf_token"},
		{"spring input", `<input type="hidden" name="_csrf" value="s">`, "s", "X-CSRF-TOKEN", "_csrf"},
		{"rails meta and input", `<meta name="csrf-token" content="m"><input type='hidden' name='authenticity_token' value='i'>`, "m", "X-CSRF-Token", "authenticity_token"},
		{"visible input ignored", `<input type="text" name="csrf" value="x">`, "", "", ""},
		{"nothing", `<p>hello</p>`, "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, ok := tokenInHTML([]byte(tt.html))
			if ok != (tt.value != "") || tok.Value != tt.value || tok.Header != tt.header || tok.Field != tt.field {
				t.Errorf("got %+v, %v", tok, ok)
			}
		})
	}
}

func TestProblemReason(t *testing.T) {
	h := http.Header{"Content-Type": {"application/problem+json"}}
	if r := problemReason(h, []byte(`{"reason":"origin-mismatch"}`)); r != "origin-mismatch" {
		t.Errorf("reason %q", r)
	}
	if r := problemReason(h, []byte(`{"reason":"made-up"}`)); r != "" {
		t.Errorf("an unknown reason was believed: %q", r)
	}
	if r := problemReason(http.Header{"Content-Type": {"application/json"}}, []byte(`{"reason":"origin-null"}`)); r != "" {
		t.Errorf("a plain JSON body was read as a rejection: %q", r)
	}
}

func FuzzTokenInHTML(f *testing.F) {
	for _, s := range []string{
		`<meta name="csrf-token" content="abc">`,
		`<meta name="_csrf" content="abc"><meta name="_csrf_header" content="X-XSRF-TOKEN">`,
		`<input type="hidden" name="csrfmiddlewaretoken" value="d&amp;j">`,
		`<input type='hidden' name='authenticity_token' value=unquoted>`,
		`<meta name=csrf-token content=>`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		tok, ok := tokenInHTML(b)
		if ok && (tok.Value == "" || tok.Header == "" && tok.Field == "") {
			t.Errorf("tokenInHTML(%q) = %+v", b, tok)
		}
	})
}

// TestProbeFailureIsNotFatal checks that a probe the server drops (as a
// firewall might for Origin: null) is noted and the scan goes on.
func TestProbeFailureIsNotFatal(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Origin") == "null" {
			panic(http.ErrAbortHandler) // drop the connection
		}
		if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
			http.Error(w, "cross-site", http.StatusForbidden)
			return
		}
		w.Write([]byte("ok"))
	}))
	defer srv.Close()
	var stdout, stderr bytes.Buffer
	code := Command(context.Background(), []string{"--target", srv.URL, "--endpoint", "POST /transfer to=bob", "--rate", "0", "--format", "json"}, &stdout, &stderr)
	if code == ExitFailed || code == ExitUsage {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "probe origin-null failed") {
		t.Errorf("the failed probe is not noted:\n%s", stdout.String())
	}
}

// TestCookieSessionTokens checks that, with --cookie instead of --login,
// the discovered token is still known to the checks (token in a URL) and
// redacted from the evidence.
func TestCookieSessionTokens(t *testing.T) {
	const tok = "T0k3nT0k3nT0k3n"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" {
			w.Header().Set("Content-Type", "text/html")
			w.Header().Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'")
			w.Header().Set("Referrer-Policy", "same-origin")
			w.Write([]byte(`<meta name="csrf-token" content="` + tok + `"><a href="/export?t=` + tok + `">export</a>`))
			return
		}
		if v := r.FormValue("_csrf"); r.Method == http.MethodPost && (v == "" || v == tok) {
			w.Write([]byte("done")) // token-optional: checked only when present
			return
		}
		http.Error(w, "no", http.StatusForbidden)
	}))
	defer srv.Close()
	var stdout, stderr bytes.Buffer
	Command(context.Background(), []string{"--target", srv.URL, "--cookie", "sid=1", "--endpoint", "POST /transfer to=bob", "--rate", "0", "--format", "json"}, &stdout, &stderr)
	out := stdout.String()
	for _, want := range []string{`"check": "token-in-url"`, `"check": "token-optional"`} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %s:\n%s", want, out)
		}
	}
	var rep struct {
		Findings []struct{ Evidence struct{ Request string } }
	}
	json.Unmarshal(stdout.Bytes(), &rep)
	for _, f := range rep.Findings {
		if strings.Contains(f.Evidence.Request, tok) {
			t.Errorf("evidence holds the token: %s", f.Evidence.Request)
		}
	}
}

// TestTokenConventions maps token fields and cookies to the headers their
// frameworks read.
func TestTokenConventions(t *testing.T) {
	for field, want := range map[string][]string{
		"csrfmiddlewaretoken": {"X-CSRFToken"},
		"csrf_token":          {"X-CSRF-Token", "X-CSRFToken"},
		"gorilla.csrf.Token":  {"X-CSRF-Token"},
		"_token":              {"X-CSRF-TOKEN", "X-XSRF-TOKEN"},
	} {
		got := token{Field: field, Header: headerFor(field)}.headers()
		if !slices.Equal(got, want) {
			t.Errorf("%s: headers %v, want %v", field, got, want)
		}
	}
	for _, name := range []string{"csrftoken", "XSRF-TOKEN", "x-csrf-token", "__Host-psifi.x-csrf-token", "_xsrf"} {
		if !isTokenCookieName(name) {
			t.Errorf("%s is not known as a token cookie", name)
		}
	}
	if isTokenCookieName("sessionid") {
		t.Error("sessionid taken for a token cookie")
	}
	if got := cookieValue("abc%3D%3D"); got != "abc==" {
		t.Errorf("cookieValue = %q", got)
	}
}
