package authz_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"text/template"
	"time"

	"github.com/forgeproof/forgeproof"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/authz"
	"github.com/forgeproof/forgeproof/internal/testenv"
)

// protection is the library configuration of the end-to-end tests.
func protection() forgeproof.Config {
	return forgeproof.Config{
		TrustedOrigins: []string{"https://trusted.example"},
		Routes: []forgeproof.Route{
			{Pattern: "/hooks/", InsecureBypass: true},
			{Pattern: "/api/json", JSONOnly: true},
		},
	}
}

// startNginx runs a real nginx, configured with testdata/nginx.conf, in
// front of a backend that answers "backend: METHOD PATH", asking a
// forgeproof authz service on every request. It returns nginx's URL.
func startNginx(t *testing.T) string {
	nginx := testenv.Require(t, "nginx", "install it with: apt-get install -y nginx-light")
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "backend: %s %s\n", r.Method, r.URL.Path)
	}))
	t.Cleanup(backend.Close)
	svc, err := authz.New(authz.Options{Protection: protection()})
	if err != nil {
		t.Fatal(err)
	}
	az := httptest.NewServer(svc)
	t.Cleanup(az.Close)

	dir := t.TempDir()
	port := testenv.FreePort(t)
	tmpl := template.Must(template.ParseFiles("testdata/nginx.conf"))
	f, err := os.Create(filepath.Join(dir, "nginx.conf"))
	if err != nil {
		t.Fatal(err)
	}
	err = tmpl.Execute(f, map[string]any{
		"Dir":     dir,
		"Port":    port,
		"Authz":   az.Listener.Addr().(*net.TCPAddr).Port,
		"Backend": backend.Listener.Addr().(*net.TCPAddr).Port,
	})
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	// nginx's master process stops its workers on SIGTERM; killing it
	// would leave them holding the log pipe.
	cmd := exec.Command(nginx, "-e", "stderr", "-p", dir, "-c", filepath.Join(dir, "nginx.conf"), "-g", "daemon off;")
	cmd.Stdout, cmd.Stderr = testWriter{t}, testWriter{t}
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatalf("start nginx: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	})
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	if err := testenv.WaitTCP(addr, 10*time.Second); err != nil {
		t.Fatalf("nginx did not start: %v", err)
	}
	return "http://" + addr
}

// testWriter writes nginx's log to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Logf("nginx: %s", strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// TestNginx sends legitimate and forged requests through a real nginx with
// auth_request: the legitimate ones reach the backend, the forged ones are
// refused with the reason.
func TestNginx(t *testing.T) {
	base := startNginx(t)
	self := base // the browser's origin: nginx's scheme, host and port

	// A page of the application fetches its token through the proxy.
	resp, err := http.Get(base + "/.forgeproof/token")
	if err != nil {
		t.Fatal(err)
	}
	var tok struct{ Token, Header, Field string }
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /.forgeproof/token: %d, %v", resp.StatusCode, err)
	}
	resp.Body.Close()
	var cookie string
	for _, c := range resp.Cookies() {
		if c.Name == "forgeproof" {
			cookie = c.Name + "=" + c.Value
		}
	}
	if tok.Token == "" || cookie == "" || tok.Header != "X-Forgeproof-Token" {
		t.Fatalf("token endpoint gave token %q, header %q, cookie %q", tok.Token, tok.Header, cookie)
	}
	withToken := []string{"Cookie", cookie, "X-Forgeproof-Token", tok.Token}

	tests := []struct {
		name    string
		method  string
		path    string
		headers []string
		body    string
		want    int
		reason  string // the reason of a refusal
	}{
		// Allowed.
		{"page load", "GET", "/page", nil, "", 200, ""},
		{"same-origin POST with token", "POST", "/api/transfer", append([]string{"Origin", self}, withToken...), "", 200, ""},
		{"Fetch Metadata same-origin with token", "POST", "/api/transfer", append([]string{"Sec-Fetch-Site", "same-origin", "Origin", self}, withToken...), "", 200, ""},
		{"API client without browser headers, with token", "DELETE", "/api/item/7", withToken, "", 200, ""},
		{"trusted origin with token", "PUT", "/api/transfer", append([]string{"Origin", "https://trusted.example"}, withToken...), "", 200, ""},
		{"JSON to a JSON-only route", "POST", "/api/json", append([]string{"Origin", self, "Content-Type", "application/json"}, withToken...), `{"a":1}`, 200, ""},
		{"cross-origin webhook on a bypass route", "POST", "/hooks/payment", []string{"Origin", "https://psp.example"}, "", 200, ""},
		// Refused.
		{"cross-origin POST", "POST", "/api/transfer", append([]string{"Origin", "https://evil.example"}, withToken...), "", 403, "origin-mismatch"},
		{"cross-site Fetch Metadata", "POST", "/api/transfer", append([]string{"Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"}, withToken...), "", 403, "sec-fetch-site-cross-site"},
		{"null Origin", "POST", "/api/transfer", append([]string{"Origin", "null"}, withToken...), "", 403, "origin-null"},
		{"cross-origin Referer", "POST", "/api/transfer", append([]string{"Referer", "https://evil.example/page"}, withToken...), "", 403, "referer-mismatch"},
		{"same origin without token", "POST", "/api/transfer", []string{"Origin", self, "Cookie", cookie}, "", 403, "token-missing"},
		{"forged token", "POST", "/api/transfer", []string{"Origin", self, "Cookie", cookie, "X-Forgeproof-Token", "Zm9yZ2VkLXRva2Vu"}, "", 403, "token-invalid"},
		{"token without its cookie", "POST", "/api/transfer", []string{"Origin", self, "X-Forgeproof-Token", tok.Token}, "", 403, "cookie-missing"},
		{"token in the form body (not visible to forward-auth)", "POST", "/api/transfer", []string{"Origin", self, "Cookie", cookie, "Content-Type", "application/x-www-form-urlencoded"}, "forgeproof_token=" + tok.Token, 403, "token-missing"},
		{"form to a JSON-only route", "POST", "/api/json", append([]string{"Origin", self, "Content-Type", "text/plain"}, withToken...), "{}", 403, "content-type-not-allowed"},
		{"GET with a method override from another site", "GET", "/api/item/7?_method=DELETE", []string{"Origin", "https://evil.example"}, "", 403, "origin-mismatch"},
		{"client-set X-Original-Method is overwritten", "POST", "/api/transfer", []string{"Origin", "https://evil.example", "X-Original-Method", "GET", "X-Original-URI", "/hooks/x"}, "", 403, "origin-mismatch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, base+tt.path, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i+1 < len(tt.headers); i += 2 {
				req.Header.Set(tt.headers[i], tt.headers[i+1])
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Fatalf("%s %s: %d %s; want %d", tt.method, tt.path, resp.StatusCode, body, tt.want)
			}
			if tt.want == 200 {
				path, _, _ := strings.Cut(tt.path, "?")
				if want := fmt.Sprintf("backend: %s %s\n", tt.method, path); string(body) != want {
					t.Errorf("body %q; want the backend's %q", body, want)
				}
				return
			}
			var p struct{ Reason string }
			if err := json.Unmarshal(body, &p); err != nil || p.Reason != tt.reason ||
				resp.Header.Get("Content-Type") != "application/problem+json" {
				t.Errorf("refusal %s (%s, %v); want problem+json with reason %q", body, resp.Header.Get("Content-Type"), err, tt.reason)
			}
		})
	}
}
