package server_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/http/httptrace"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/config"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/server"
	"github.com/forgeproof/forgeproof/internal/testenv"
)

// syncBuffer is a log sink that tests read while the server writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// lines returns the JSON log lines whose msg is msg.
func (b *syncBuffer) lines(t *testing.T, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", l)
		}
		if m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

// gateway is a running server.Run.
type gateway struct {
	url, adminURL string
	file          string // the configuration file
	log           *syncBuffer
	reload        chan struct{}
	reloaded      chan error
	stop          context.CancelFunc
	done          chan error
}

// start writes yaml to a file and runs the server on it until the test
// ends.
func start(t *testing.T, yaml string) *gateway {
	t.Helper()
	g := &gateway{
		file:     filepath.Join(t.TempDir(), "forgeproof.yaml"),
		log:      &syncBuffer{},
		reload:   make(chan struct{}),
		reloaded: make(chan error, 1),
		done:     make(chan error, 1),
	}
	g.write(t, yaml)
	ctx, cancel := context.WithCancel(context.Background())
	g.stop = cancel
	started := make(chan struct{})
	go func() {
		g.done <- server.Run(ctx, server.Options{
			Load:     func() (*config.Config, error) { return config.Load(g.file) },
			Reload:   g.reload,
			Log:      g.log,
			Started:  func(url, adminURL string) { g.url, g.adminURL = url, adminURL; close(started) },
			Reloaded: func(err error) { g.reloaded <- err },
		})
	}()
	select {
	case <-started:
	case err := <-g.done:
		t.Fatalf("Run: %v\nlog:\n%s", err, g.log)
	case <-time.After(10 * time.Second):
		t.Fatal("the server did not start")
	}
	t.Cleanup(func() {
		cancel()
		select {
		case <-g.done:
		case <-time.After(40 * time.Second):
			t.Error("the server did not stop")
		}
	})
	return g
}

func (g *gateway) write(t *testing.T, yaml string) {
	t.Helper()
	if err := os.WriteFile(g.file, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
}

// doReload rewrites the file, triggers a reload and returns its outcome.
func (g *gateway) doReload(t *testing.T, yaml string) error {
	t.Helper()
	g.write(t, yaml)
	g.reload <- struct{}{}
	select {
	case err := <-g.reloaded:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("no reload outcome")
		return nil
	}
}

// backend is a real HTTP backend that records the requests it serves.
type backend struct {
	*httptest.Server
	mu   sync.Mutex
	seen []string
}

func newBackend(t *testing.T, h http.HandlerFunc) *backend {
	b := &backend{}
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		b.seen = append(b.seen, r.Method+" "+r.URL.Path)
		b.mu.Unlock()
		if h != nil {
			h(w, r)
			return
		}
		io.WriteString(w, "backend: "+r.Method+" "+r.URL.Path)
	}))
	t.Cleanup(b.Close)
	return b
}

func (b *backend) requests() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.seen...)
}

func baseConfig(upstream string, extra string) string {
	return fmt.Sprintf("addr: 127.0.0.1:0\nadmin: {addr: 127.0.0.1:0}\nupstreams: [{url: %s}]\n%s", upstream, extra)
}

func post(t *testing.T, c *http.Client, url string, header map[string]string, body string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	return do(t, c, req)
}

func do(t *testing.T, c *http.Client, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestEndToEnd runs the gateway on loopback in front of a real backend: a
// forged request is refused with problem+json and logged once, a legitimate
// one with a token passes.
func TestEndToEnd(t *testing.T) {
	b := newBackend(t, nil)
	g := start(t, baseConfig(b.URL, "protection: {session_cookie: sid}\n"))

	// Forged: a cross-site POST.
	resp, body := post(t, http.DefaultClient, g.url+"/api/transfer",
		map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}, `{"to":"mallory"}`)
	if resp.StatusCode != 403 || resp.Header.Get("Content-Type") != "application/problem+json" ||
		!strings.Contains(body, `"reason":"sec-fetch-site-cross-site"`) {
		t.Fatalf("forged POST = %d %s %s, want 403 problem+json", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}

	// Legitimate: fetch a token same-origin, then POST with it.
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	req, _ := http.NewRequest("GET", g.url+"/.forgeproof/token", nil)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, body = do(t, client, req)
	var tok struct{ Token, Header string }
	if err := json.Unmarshal([]byte(body), &tok); err != nil || resp.StatusCode != 200 || tok.Token == "" {
		t.Fatalf("token endpoint = %d %s", resp.StatusCode, body)
	}
	resp, body = post(t, client, g.url+"/api/transfer",
		map[string]string{"Origin": g.url, "Sec-Fetch-Site": "same-origin", tok.Header: tok.Token}, `{"to":"bob"}`)
	if resp.StatusCode != 200 || body != "backend: POST /api/transfer" {
		t.Fatalf("legitimate POST = %d %s, want the backend's 200", resp.StatusCode, body)
	}
	// A missing token is refused too.
	resp, _ = post(t, client, g.url+"/api/transfer", map[string]string{"Origin": g.url, "Sec-Fetch-Site": "same-origin"}, `{}`)
	if resp.StatusCode != 403 {
		t.Errorf("POST without token = %d, want 403", resp.StatusCode)
	}
	if got := b.requests(); len(got) != 1 || got[0] != "POST /api/transfer" {
		t.Errorf("backend saw %q, want exactly the legitimate POST", got)
	}

	// One log line per refusal, with the documented keys and no secret.
	refused := g.log.lines(t, "request refused")
	if len(refused) != 2 {
		t.Fatalf("%d refusal lines, want 2:\n%s", len(refused), g.log)
	}
	first := refused[0]
	for k, want := range map[string]any{
		"reason": "sec-fetch-site-cross-site", "method": "POST", "path": "/api/transfer",
		"origin": "https://evil.example", "sec_fetch_site": "cross-site", "report_only": false,
	} {
		if first[k] != want {
			t.Errorf("log %s = %v, want %v", k, first[k], want)
		}
	}
	if a, _ := first["client_addr"].(string); !strings.HasPrefix(a, "127.0.0.1:") {
		t.Errorf("log client_addr = %v", first["client_addr"])
	}
	if refused[1]["reason"] != "token-missing" {
		t.Errorf("second refusal reason = %v, want token-missing", refused[1]["reason"])
	}
	logs := g.log.String()
	u, _ := http.NewRequest("GET", g.url, nil)
	for _, c := range jar.Cookies(u.URL) {
		if strings.Contains(logs, c.Value) {
			t.Errorf("the log holds the value of cookie %s", c.Name)
		}
	}
	if strings.Contains(logs, tok.Token) {
		t.Error("the log holds the token")
	}

	// The admin listener counts the verdicts.
	resp, body = do(t, http.DefaultClient, mustRequest("GET", g.adminURL+"/metrics"))
	if !strings.Contains(body, `forgeproof_requests_total{decision="deny",reason="sec-fetch-site-cross-site"} 1`) {
		t.Errorf("/metrics lacks the refusal:\n%s", grep(body, "forgeproof_requests_total"))
	}
	if !strings.Contains(body, `forgeproof_tokens_issued_total{kind="endpoint"} 1`) {
		t.Errorf("/metrics does not count the token from the endpoint:\n%s", grep(body, "forgeproof_tokens_issued_total"))
	}
	for _, path := range []string{"/livez", "/readyz"} {
		if resp, body := do(t, http.DefaultClient, mustRequest("GET", g.adminURL+path)); resp.StatusCode != 200 {
			t.Errorf("%s = %d %s", path, resp.StatusCode, body)
		}
	}
}

func TestReload(t *testing.T) {
	b := newBackend(t, nil)
	bypass := "routes: [{pattern: /hooks/, insecure_bypass: true}]\n"
	g := start(t, baseConfig(b.URL, bypass))
	forged := map[string]string{"Origin": "https://evil.example"}

	if resp, body := post(t, http.DefaultClient, g.url+"/hooks/x", forged, "{}"); resp.StatusCode != 200 {
		t.Fatalf("bypassed route = %d %s", resp.StatusCode, body)
	}

	// An invalid file is refused, every problem logged with its line, and
	// the running configuration keeps serving.
	bad := baseConfig(b.URL, bypass+"log: {level: loud}\nprotection: {tokns: signed}\n")
	err := g.doReload(t, bad)
	var list config.ErrorList
	if !errors.As(err, &list) || len(list) != 2 {
		t.Fatalf("invalid reload: %v, want 2 problems", err)
	}
	problems := g.log.lines(t, "configuration problem")
	if len(problems) != 2 {
		t.Fatalf("%d problem lines, want 2:\n%s", len(problems), g.log)
	}
	for i, want := range []string{`forgeproof.yaml:5:7: log.level: "loud" is not one of`, `forgeproof.yaml:6:14: protection: unknown key "tokns"`} {
		if p, _ := problems[i]["problem"].(string); !strings.Contains(p, want) {
			t.Errorf("problem %d = %q, want it to contain %q", i, p, want)
		}
	}
	if len(g.log.lines(t, "reload refused: the previous configuration keeps serving")) != 1 {
		t.Error("no refusal line")
	}
	if resp, _ := post(t, http.DefaultClient, g.url+"/hooks/x", forged, "{}"); resp.StatusCode != 200 {
		t.Errorf("after a refused reload, the old rules should apply: %d", resp.StatusCode)
	}

	// A valid file without the bypass applies at once.
	if err := g.doReload(t, baseConfig(b.URL, "")); err != nil {
		t.Fatalf("valid reload: %v", err)
	}
	if resp, body := post(t, http.DefaultClient, g.url+"/hooks/x", forged, "{}"); resp.StatusCode != 403 {
		t.Errorf("after reload the bypass should be gone: %d %s", resp.StatusCode, body)
	}
	if len(g.log.lines(t, "configuration reloaded")) != 1 {
		t.Error("no reload line")
	}

	// A change that needs a restart is named.
	if err := g.doReload(t, strings.Replace(baseConfig(b.URL, ""), "addr: 127.0.0.1:0", "addr: 127.0.0.1:1", 1)); err != nil {
		t.Fatal(err)
	}
	warn := g.log.lines(t, "some changed settings apply only after a restart")
	if len(warn) != 1 || fmt.Sprint(warn[0]["keys"]) != "[addr]" {
		t.Errorf("restart warning = %v", warn)
	}
}

// TestReloadKeepsConnections reloads while a request is in flight on a
// keep-alive connection, which then serves the next request.
func TestReloadKeepsConnections(t *testing.T) {
	release := make(chan struct{})
	b := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			<-release
		}
		io.WriteString(w, "ok")
	})
	g := start(t, baseConfig(b.URL, ""))
	var conns sync.Map
	tr := &http.Transport{}
	client := &http.Client{Transport: tr}
	defer tr.CloseIdleConnections()
	trace := func(r *http.Request) *http.Request {
		return r.WithContext(httptraceContext(r.Context(), &conns))
	}
	slow := make(chan int, 1)
	go func() {
		resp, err := client.Do(trace(mustRequest("GET", g.url+"/slow")))
		if err != nil {
			slow <- 0
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		slow <- resp.StatusCode
	}()
	waitFor(t, func() bool { return len(b.requests()) == 1 })
	if err := g.doReload(t, baseConfig(b.URL, "routes: [{pattern: /x, json_only: true}]\n")); err != nil {
		t.Fatal(err)
	}
	close(release)
	if code := <-slow; code != 200 {
		t.Fatalf("request in flight across the reload = %d", code)
	}
	resp, _ := do(t, client, trace(mustRequest("GET", g.url+"/after")))
	if resp.StatusCode != 200 {
		t.Fatalf("request after the reload = %d", resp.StatusCode)
	}
	if n := countConns(&conns); n != 1 {
		t.Errorf("%d connections used, want the same one across the reload", n)
	}
}

func TestGracefulShutdown(t *testing.T) {
	inFlight := make(chan struct{})
	b := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		close(inFlight)
		time.Sleep(time.Second)
		io.WriteString(w, "finished")
	})
	g := start(t, baseConfig(b.URL, "limits: {shutdown_timeout: 10s}\n"))
	result := make(chan string, 1)
	go func() {
		resp, err := http.Get(g.url + "/slow")
		if err != nil {
			result <- err.Error()
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		result <- fmt.Sprint(resp.StatusCode, " ", string(body))
	}()
	<-inFlight
	g.stop()
	// While the request drains, /readyz says so.
	waitFor(t, func() bool {
		resp, err := http.Get(g.adminURL + "/readyz")
		if err != nil {
			return false
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode == 503 && strings.Contains(string(body), "draining")
	})
	if got := <-result; got != "200 finished" {
		t.Fatalf("request in flight at shutdown = %q, want it to finish", got)
	}
	select {
	case err := <-g.done:
		if err != nil {
			t.Fatalf("Run = %v", err)
		}
		g.done <- nil // for the cleanup
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
	}
	if _, err := http.Get(g.url + "/"); err == nil {
		t.Error("the gateway still accepts connections after shutdown")
	}
	if len(g.log.lines(t, "stopped")) != 1 {
		t.Errorf("no stop line:\n%s", g.log)
	}
}

func TestReportOnly(t *testing.T) {
	b := newBackend(t, nil)
	g := start(t, baseConfig(b.URL, "protection: {report_only: true}\n"))
	resp, body := post(t, http.DefaultClient, g.url+"/api/x", map[string]string{"Origin": "https://evil.example"}, "{}")
	if resp.StatusCode != 200 {
		t.Fatalf("report-only forged POST = %d %s, want it let through", resp.StatusCode, body)
	}
	if w := g.log.lines(t, "configuration warning"); len(w) != 1 || !strings.Contains(w[0]["warning"].(string), "forgeproof.yaml:4:14: protection.report_only: report-only mode") {
		t.Errorf("configuration warnings = %v", w)
	}
	lines := g.log.lines(t, "request would be refused (report-only)")
	if len(lines) != 1 || lines[0]["reason"] != "origin-mismatch" || lines[0]["report_only"] != true {
		t.Errorf("report-only log = %v\n%s", lines, g.log)
	}
	if n := len(g.log.lines(t, "request refused")); n != 0 {
		t.Errorf("%d 'request refused' lines in report-only mode", n)
	}
}

func TestShutdownTimeoutCutsSlowRequests(t *testing.T) {
	b := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(20 * time.Second):
		}
	})
	g := start(t, baseConfig(b.URL, "limits: {shutdown_timeout: 200ms}\n"))
	go http.Get(g.url + "/hang")
	waitFor(t, func() bool { return len(b.requests()) == 1 })
	began := time.Now()
	g.stop()
	select {
	case <-g.done:
		g.done <- nil
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after the shutdown timeout")
	}
	if d := time.Since(began); d > 5*time.Second {
		t.Errorf("shutdown took %v with a 200ms timeout", d)
	}
	if len(g.log.lines(t, "requests still in flight at the shutdown timeout were cut")) != 1 {
		t.Errorf("no line about cut requests:\n%s", g.log)
	}
}

// TestReadyzFollowsRedis stops and starts a real redis-server under a
// gateway whose store is on it.
func TestReadyzFollowsRedis(t *testing.T) {
	redis := testenv.StartRedis(t)
	b := newBackend(t, nil)
	g := start(t, baseConfig(b.URL, "store: redis://"+redis.Addr+"/0\n"))
	readyz := func() (int, string) {
		resp, body := do(t, http.DefaultClient, mustRequest("GET", g.adminURL+"/readyz"))
		return resp.StatusCode, body
	}
	if code, body := readyz(); code != 200 || !strings.Contains(body, "store: ok") {
		t.Fatalf("/readyz with redis up = %d %s", code, body)
	}
	redis.Stop()
	if code, body := readyz(); code != 503 || !strings.Contains(body, "store: ") {
		t.Fatalf("/readyz with redis down = %d %s", code, body)
	}
	if resp, _ := do(t, http.DefaultClient, mustRequest("GET", g.adminURL+"/livez")); resp.StatusCode != 200 {
		t.Errorf("/livez with redis down = %d, want 200", resp.StatusCode)
	}
	redis.Start()
	waitFor(t, func() bool { code, _ := readyz(); return code == 200 })
}

func TestSelfSignedTLS(t *testing.T) {
	b := newBackend(t, nil)
	g := start(t, baseConfig(b.URL, "tls: {self_signed: true}\n"))
	if !strings.HasPrefix(g.url, "https://") {
		t.Fatalf("url = %s, want https", g.url)
	}
	warn := g.log.lines(t, "serving HTTPS with a throwaway self-signed certificate: for development only")
	if len(warn) != 1 {
		t.Fatalf("no certificate line:\n%s", g.log)
	}
	fingerprint, _ := warn[0]["sha256_fingerprint"].(string)

	var served *x509.Certificate
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{
		InsecureSkipVerify: true, // checked below, against the logged fingerprint
		VerifyConnection: func(cs tls.ConnectionState) error {
			served = cs.PeerCertificates[0]
			return nil
		},
	}}}
	resp, body := do(t, client, mustRequest("GET", g.url+"/"))
	if resp.StatusCode != 200 || body != "backend: GET /" {
		t.Fatalf("GET over TLS = %d %s", resp.StatusCode, body)
	}
	if got := server.Fingerprint(served); got != fingerprint {
		t.Errorf("served certificate %s, logged %s", got, fingerprint)
	}
	if err := served.VerifyHostname("localhost"); err != nil {
		t.Error(err)
	}
	if err := served.VerifyHostname("127.0.0.1"); err != nil {
		t.Error(err)
	}
	// Over HTTPS the token cookie is the __Host- one, Secure.
	req := mustRequest("GET", g.url+"/.forgeproof/token")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, _ = do(t, client, req)
	if c := resp.Cookies(); len(c) == 0 || c[0].Name != "__Host-forgeproof" || !c[0].Secure {
		t.Errorf("token cookie over HTTPS = %v", c)
	}
}

func TestTLSFromFiles(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writePair := func() *x509.Certificate {
		cert, err := server.SelfSigned(time.Now())
		if err != nil {
			t.Fatal(err)
		}
		keyDER, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}), 0o644)
		os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600)
		return cert.Leaf
	}
	first := writePair()

	b := newBackend(t, nil)
	conf := baseConfig(b.URL, fmt.Sprintf("tls: {cert: %s, key: %s}\n", certFile, keyFile))
	g := start(t, conf)
	get := func(trusted *x509.Certificate, h2 bool) (*http.Response, string, error) {
		pool := x509.NewCertPool()
		pool.AddCert(trusted)
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: h2}
		defer tr.CloseIdleConnections()
		resp, err := (&http.Client{Transport: tr}).Get(g.url + "/")
		if err != nil {
			return nil, "", err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, string(body), nil
	}
	for _, h2 := range []bool{false, true} {
		resp, body, err := get(first, h2)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 || body != "backend: GET /" {
			t.Fatalf("GET over TLS = %d %s", resp.StatusCode, body)
		}
		if want := map[bool]int{false: 1, true: 2}[h2]; resp.ProtoMajor != want {
			t.Errorf("served HTTP/%d, want HTTP/%d", resp.ProtoMajor, want)
		}
	}

	// A reload reads the files again.
	second := writePair()
	if err := g.doReload(t, conf); err != nil {
		t.Fatal(err)
	}
	if _, _, err := get(second, false); err != nil {
		t.Errorf("after reload, the new certificate is not served: %v", err)
	}
	if _, _, err := get(first, false); err == nil {
		t.Error("after reload, the old certificate is still served")
	}
}

func TestStartErrors(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"invalid", "upstreams: [{url: nope}]\naddr: 127.0.0.1:0\nadmin: {addr: 127.0.0.1:0}\n", `upstreams[0].url: "nope" is not`},
		{"address in use", "", "listen on"},
	}
	busy := httptest.NewServer(http.NotFoundHandler())
	defer busy.Close()
	tests[1].yaml = fmt.Sprintf("addr: %s\nadmin: {addr: 127.0.0.1:0}\nupstreams: [{url: http://127.0.0.1:1}]\n", strings.TrimPrefix(busy.URL, "http://"))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "f.yaml")
			os.WriteFile(file, []byte(tt.yaml), 0o644)
			err := server.Run(context.Background(), server.Options{Load: func() (*config.Config, error) { return config.Load(file) }})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Run = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func mustRequest(method, url string) *http.Request {
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		panic(err)
	}
	return req
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func grep(s, substr string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// httptraceContext records in conns the local address of every connection
// a request uses.
func httptraceContext(ctx context.Context, conns *sync.Map) context.Context {
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GotConn: func(info httptrace.GotConnInfo) { conns.Store(info.Conn.LocalAddr().String(), true) },
	})
}

func countConns(conns *sync.Map) int {
	n := 0
	conns.Range(func(any, any) bool { n++; return true })
	return n
}

// TestTokensSurviveReload checks that a token issued before a reload is
// accepted after it, with or without configured keys.
func TestTokensSurviveReload(t *testing.T) {
	tests := []struct{ name, extra string }{
		{"random process key", ""},
		{"configured key", "protection: {keys: [c2VjcmV0LWtleS1mb3ItdGVzdHMtb25seS0wMTIzNDU2Nzg5YWJjZGVm]}\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBackend(t, nil)
			g := start(t, baseConfig(b.URL, tt.extra))
			jar, _ := cookiejar.New(nil)
			client := &http.Client{Jar: jar}
			req := mustRequest("GET", g.url+"/.forgeproof/token")
			req.Header.Set("Sec-Fetch-Site", "same-origin")
			_, body := do(t, client, req)
			var tok struct{ Token string }
			json.Unmarshal([]byte(body), &tok)
			if err := g.doReload(t, baseConfig(b.URL, tt.extra+"routes: [{pattern: /other/, json_only: true}]\n")); err != nil {
				t.Fatal(err)
			}
			resp, body := post(t, client, g.url+"/api/x", map[string]string{"Origin": g.url, "X-Forgeproof-Token": tok.Token}, "{}")
			if resp.StatusCode != 200 {
				t.Errorf("token from before the reload = %d %s", resp.StatusCode, body)
			}
			warned := len(g.log.lines(t, "no protection.keys configured: tokens are signed with a random key that does not survive a restart and is not shared with other instances"))
			if want := map[bool]int{true: 1, false: 0}[tt.extra == ""]; warned != want {
				t.Errorf("%d warnings about the random key, want %d", warned, want)
			}
		})
	}
}

// TestReloadRetiresStore switches the store from a real redis-server to
// memory: the Redis connections are closed after the grace period and
// /readyz no longer depends on Redis.
func TestReloadRetiresStore(t *testing.T) {
	srv := testenv.StartRedis(t)
	observer := goredis.NewClient(&goredis.Options{Addr: srv.Addr})
	defer observer.Close()
	clients := func() int {
		list, err := observer.ClientList(context.Background()).Result()
		if err != nil {
			t.Fatal(err)
		}
		return strings.Count(list, "\n")
	}
	b := newBackend(t, nil)
	extra := "limits: {shutdown_timeout: 100ms}\n"
	g := start(t, baseConfig(b.URL, extra+"store: redis://"+srv.Addr+"/0\n"))
	if resp, body := do(t, http.DefaultClient, mustRequest("GET", g.adminURL+"/readyz")); resp.StatusCode != 200 || !strings.Contains(body, "store: ok") {
		t.Fatalf("/readyz = %d %s", resp.StatusCode, body)
	}
	if n := clients(); n < 2 {
		t.Fatalf("%d Redis clients, want the gateway's and the observer's", n)
	}
	if err := g.doReload(t, baseConfig(b.URL, extra)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return clients() == 1 })
	srv.Stop()
	if resp, body := do(t, http.DefaultClient, mustRequest("GET", g.adminURL+"/readyz")); resp.StatusCode != 200 || strings.Contains(body, "store") {
		t.Errorf("/readyz on memory with Redis gone = %d %s", resp.StatusCode, body)
	}
}

// TestTwoInstancesShareRedis runs two gateways from one configuration with
// a shared key and a real redis-server: a synchronizer token issued by one
// is accepted by the other, and with Redis gone the store route fails
// closed with 503.
func TestTwoInstancesShareRedis(t *testing.T) {
	redis := testenv.StartRedis(t)
	b := newBackend(t, nil)
	conf := baseConfig(b.URL, "store: redis://"+redis.Addr+"/0\n"+
		"protection: {tokens: synchronizer, session_cookie: sid, keys: [c2VjcmV0LWtleS1mb3ItdGVzdHMtb25seS0wMTIzNDU2Nzg5YWJjZGVm]}\n")
	one, two := start(t, conf), start(t, conf)

	// The session cookie is the backend's; the browser sends it to both.
	client := &http.Client{}
	req := mustRequest("GET", one.url+"/.forgeproof/token")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("Cookie", "sid=session-1")
	resp, body := do(t, client, req)
	var tok struct{ Token string }
	if err := json.Unmarshal([]byte(body), &tok); err != nil || tok.Token == "" {
		t.Fatalf("token from the first instance: %d %s", resp.StatusCode, body)
	}
	// A synchronizer token is bound to the token cookie as well as to the
	// session, so the browser sends both.
	cookies := "sid=session-1"
	for _, c := range resp.Cookies() {
		cookies += "; " + c.Name + "=" + c.Value
	}
	send := func(g *gateway) (int, string) {
		req, _ := http.NewRequest("POST", g.url+"/api/transfer", strings.NewReader("{}"))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Origin", g.url)
		req.Header.Set("X-Forgeproof-Token", tok.Token)
		req.Header.Set("Cookie", cookies)
		resp, body := do(t, client, req)
		return resp.StatusCode, body
	}
	if code, body := send(two); code != 200 {
		t.Fatalf("the second instance refused the first's token: %d %s", code, body)
	}
	redis.Stop()
	if code, body := send(two); code != 503 || !strings.Contains(body, `"reason":"store-unavailable"`) {
		t.Errorf("with Redis down: %d %s, want 503 store-unavailable", code, body)
	}
	redis.Start()
	// When Redis is back (empty: it keeps nothing on disk here), the store
	// answers again and the lost token is refused as such, not as 503.
	var last string
	waitFor(t, func() bool {
		code, body := send(one)
		last = fmt.Sprint(code, " ", body)
		return code != 503
	})
	t.Logf("after Redis returned: %s", last)
	if !strings.HasPrefix(last, "403 ") || !strings.Contains(last, `"reason":"token-invalid"`) {
		t.Errorf("after Redis returned: %s, want 403 token-invalid", last)
	}
}
