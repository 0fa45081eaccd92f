package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/bank"
	"github.com/forgeproof/forgeproof/internal/testenv"
)

// syncBuffer is an io.Writer safe for the demo's goroutines and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type demoRun struct {
	bank           *bank.Bank
	url, adminURL  string
	stdout, stderr *syncBuffer
	code           chan int
}

// startDemo runs "forgeproof demo" in-process on free ports and stops it
// when the test ends, checking that it exits with 0.
func startDemo(t *testing.T) *demoRun {
	t.Helper()
	d := &demoRun{stdout: &syncBuffer{}, stderr: &syncBuffer{}, code: make(chan int, 1)}
	started := make(chan struct{})
	demoStarted = func(b *bank.Bank, url, adminURL string) {
		d.bank, d.url, d.adminURL = b, url, adminURL
		close(started)
	}
	t.Cleanup(func() { demoStarted = nil })
	addr := "127.0.0.1:" + strconv.Itoa(testenv.FreePort(t))
	adminAddr := "127.0.0.1:" + strconv.Itoa(testenv.FreePort(t))
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		d.code <- runDemo(ctx, []string{"--addr", addr, "--admin-addr", adminAddr}, d.stdout, d.stderr)
	}()
	select {
	case <-started:
	case code := <-d.code:
		cancel()
		t.Fatalf("demo exited with %d before serving:\n%s", code, d.stderr)
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatalf("demo did not start within 10s:\n%s", d.stderr)
	}
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-d.code:
			if code != 0 {
				t.Errorf("demo exited with %d:\n%s", code, d.stderr)
			}
		case <-time.After(35 * time.Second):
			t.Error("demo did not stop within 35s of its context ending")
		}
	})
	return d
}

// client is an HTTP client that keeps cookies, does not follow redirects,
// and sends the headers a browser sends on a same-origin request.
type client struct {
	t      *testing.T
	origin string
	http   *http.Client
}

func newClient(t *testing.T, origin string) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, origin: origin, http: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

func (b *client) do(method, path, ctype, body string, header ...string) (*http.Response, string) {
	b.t.Helper()
	req, err := http.NewRequest(method, b.origin+path, strings.NewReader(body))
	if err != nil {
		b.t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if method != "GET" {
		req.Header.Set("Origin", b.origin)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	for i := 0; i+1 < len(header); i += 2 {
		if header[i+1] == "" {
			req.Header.Del(header[i]) // as a browser that does not send it
			continue
		}
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := b.http.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(data)
}

// token asks the gateway's token endpoint for a token, as csrf.js does.
func (b *client) token() string {
	b.t.Helper()
	resp, body := b.do("GET", "/.forgeproof/token", "", "")
	var tok struct{ Token, Header, Field string }
	if err := json.Unmarshal([]byte(body), &tok); err != nil || resp.StatusCode != 200 || tok.Token == "" {
		b.t.Fatalf("token endpoint: %d %s", resp.StatusCode, body)
	}
	if tok.Header != "X-Forgeproof-Token" || tok.Field != "forgeproof_token" {
		b.t.Errorf("token endpoint names header %q and field %q", tok.Header, tok.Field)
	}
	return tok.Token
}

func reasonOf(body string) string {
	var p struct{ Reason string }
	json.Unmarshal([]byte(body), &p)
	return p.Reason
}

const formType = "application/x-www-form-urlencoded"

func TestDemo(t *testing.T) {
	d := startDemo(t)
	out := d.stdout.String()
	for _, want := range []string{d.url + "/", d.adminURL + "/metrics", d.adminURL + "/dashboard/", "alice / wonderland", "curl -i -X POST -H 'Origin: https://evil.example'"} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}

	// A legitimate session through the gateway, as the page's scripts
	// make it: token from the token endpoint, then sign-in, then transfers.
	alice := newClient(t, d.url)
	resp, _ := alice.do("GET", "/", "", "")
	if resp.StatusCode != 200 {
		t.Fatalf("page: %d", resp.StatusCode)
	}
	resp, body := alice.do("POST", "/login", formType, url.Values{"username": {"alice"}, "password": {"wonderland"}, "forgeproof_token": {alice.token()}}.Encode())
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in: %d %s", resp.StatusCode, body)
	}
	rotated := resp.Header.Get("X-Forgeproof-Token")
	if rotated == "" {
		t.Fatalf("sign-in response carries no rotated token; headers %v", resp.Header)
	}
	resp, body = alice.do("POST", "/api/transfer", "application/json", `{"to":"bob","amount":"25"}`, "X-Forgeproof-Token", rotated)
	if resp.StatusCode != 200 {
		t.Fatalf("fetch transfer with the rotated token: %d %s", resp.StatusCode, body)
	}
	resp, body = alice.do("POST", "/transfer", formType, url.Values{"to": {"bob"}, "amount": {"5.50"}, "forgeproof_token": {alice.token()}}.Encode())
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("form transfer: %d %s", resp.StatusCode, body)
	}

	// A large transfer needs a confirmation: the gateway asks the bank to
	// check the password, then mints a single-use proof.
	large := `{"to":"bob","amount":"600"}`
	resp, body = alice.do("POST", "/api/transfer/large", "application/json", large, "X-Forgeproof-Token", alice.token())
	var need struct {
		Reason    string
		ReauthURL string `json:"reauth_url"`
	}
	json.Unmarshal([]byte(body), &need)
	if resp.StatusCode != 401 || need.Reason != "reauth-required" || need.ReauthURL != "/.forgeproof/reauth" {
		t.Fatalf("large transfer without a proof: %d %s", resp.StatusCode, body)
	}
	confirm := func(password string) (int, string) {
		resp, body := alice.do("POST", need.ReauthURL, "application/json",
			`{"password":"`+password+`","method":"POST","path":"/api/transfer/large"}`)
		var got struct{ Proof, Header string }
		json.Unmarshal([]byte(body), &got)
		if resp.StatusCode == 200 && got.Header != "X-Reauth-Proof" {
			t.Errorf("confirmation names header %q", got.Header)
		}
		return resp.StatusCode, got.Proof
	}
	if status, proof := confirm("builder"); status != 401 || proof != "" {
		t.Fatalf("confirmation with a wrong password: %d, proof %v", status, proof != "")
	}
	status, proof := confirm("wonderland")
	if status != 200 || proof == "" {
		t.Fatalf("confirmation: %d", status)
	}
	resp, body = alice.do("POST", "/api/transfer/large", "application/json", large, "X-Forgeproof-Token", alice.token(), "X-Reauth-Proof", proof)
	if resp.StatusCode != 200 {
		t.Fatalf("large transfer with the proof: %d %s", resp.StatusCode, body)
	}
	resp, body = alice.do("POST", "/api/transfer/large", "application/json", large, "X-Forgeproof-Token", alice.token(), "X-Reauth-Proof", proof)
	if resp.StatusCode != 401 || reasonOf(body) != "reauth-reused" {
		t.Fatalf("replayed proof: %d %s", resp.StatusCode, body)
	}
	resp, body = alice.do("POST", "/api/transfer", "application/json", large, "X-Forgeproof-Token", alice.token())
	if resp.StatusCode != 422 || !strings.Contains(body, `"step_up":"/api/transfer/large"`) {
		t.Fatalf("large transfer on the ordinary route: %d %s", resp.StatusCode, body)
	}

	// Forgeries, with alice's cookies attached as a client would attach
	// them on a cross-site request.
	forged := []struct {
		name        string
		method      string
		path        string
		ctype, body string
		header      []string
		wantReason  string
	}{
		{"cross-site fetch", "POST", "/api/transfer", "application/json", `{"to":"mallory","amount":"100"}`,
			[]string{"Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"}, "sec-fetch-site-cross-site"},
		{"old client, foreign Origin", "POST", "/api/transfer", "application/json", `{"to":"mallory","amount":"100"}`,
			[]string{"Origin", "https://evil.example", "Sec-Fetch-Site", ""}, "origin-mismatch"},
		{"text/plain JSON", "POST", "/api/transfer", "text/plain", `{"to":"mallory","amount":"100"}`,
			[]string{"X-Forgeproof-Token", rotated}, "content-type-not-allowed"},
		{"form without token", "POST", "/transfer", formType, "to=mallory&amount=100", nil, "token-missing"},
		{"legacy GET from an img", "GET", "/transfer?to=mallory&amount=100", "", "",
			[]string{"Sec-Fetch-Site", "cross-site", "Referer", "https://evil.example/"}, "sec-fetch-site-cross-site"},
		{"method override", "POST", "/api/payees/bob?_method=DELETE", formType, "",
			[]string{"Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"}, "sec-fetch-site-cross-site"},
	}
	for _, f := range forged {
		resp, body := alice.do(f.method, f.path, f.ctype, f.body, f.header...)
		if resp.StatusCode != 403 || reasonOf(body) != f.wantReason {
			t.Errorf("%s: %d %q, want 403 %s", f.name, resp.StatusCode, reasonOf(body), f.wantReason)
		}
	}

	// The printed one-line curl, run as printed.
	if curl, err := exec.LookPath("curl"); err == nil {
		line := regexp.MustCompile(`(?m)^\s*(curl .*)$`).FindStringSubmatch(out)
		if line == nil {
			t.Fatalf("no curl line in:\n%s", out)
		}
		cmd := exec.Command("sh", "-c", strings.Replace(line[1], "curl", curl, 1))
		got, err := cmd.Output()
		if err != nil {
			t.Fatalf("printed curl: %v", err)
		}
		if !strings.Contains(string(got), "HTTP/1.1 403") || !strings.Contains(string(got), `"reason":"origin-mismatch"`) {
			t.Errorf("printed curl answered:\n%s", got)
		}
	} else {
		testenv.Require(t, "curl", "install it with: apt-get install -y curl")
	}

	// The effects, as the bank recorded them: the two legitimate transfers
	// and nothing else.
	var got []string
	for _, tr := range d.bank.Transfers() {
		got = append(got, tr.From+"→"+tr.To+" "+bank.FormatAmount(tr.Amount)+" "+tr.Via)
	}
	want := []string{"alice→bob 25.00 json", "alice→bob 5.50 form", "alice→bob 600.00 json"}
	if strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Errorf("bank transfers: %v, want %v", got, want)
	}
	if p := d.bank.Payees("alice"); len(p) != 2 {
		t.Errorf("alice's payees: %v, want both kept", p)
	}

	// Every refusal is logged once, with its reason.
	logs := d.stderr.String()
	// The forgeries, the printed curl, and the two large transfers without
	// a valid proof.
	if n := strings.Count(logs, `msg="request refused"`); n != len(forged)+3 {
		t.Errorf("%d refusals logged, want %d:\n%s", n, len(forged)+3, logs)
	}
	if strings.Contains(logs, rotated) {
		t.Error("a token value appears in the logs")
	}

	// The admin listener.
	for path, want := range map[string]string{"/readyz": "", "/livez": "", "/metrics": "forgeproof_requests_total", "/dashboard/": "<html"} {
		resp, err := http.Get(d.adminURL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), want) {
			t.Errorf("admin %s: %d, body lacks %q", path, resp.StatusCode, want)
		}
	}
}

func TestDemoFlags(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
		wantOut  string
	}{
		{"help", []string{"--help"}, 0, "", "Usage: forgeproof demo"},
		{"unknown flag", []string{"--port", "1"}, 2, "forgeproof: error: provided but not defined: -port", ""},
		{"extra argument", []string{"now"}, 2, `forgeproof: error: unexpected argument "now"`, ""},
		{"bad address", []string{"--addr", "nowhere"}, 1, "forgeproof: hint: check --addr and --admin-addr", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := runDemo(context.Background(), tt.args, &stdout, &stderr)
			if code != tt.wantCode || !strings.Contains(stderr.String(), tt.wantErr) || !strings.Contains(stdout.String(), tt.wantOut) {
				t.Errorf("exit %d, stdout:\n%s\nstderr:\n%s\nwant exit %d, %q on stdout and %q on stderr", code, stdout.String(), stderr.String(), tt.wantCode, tt.wantOut, tt.wantErr)
			}
		})
	}
}
