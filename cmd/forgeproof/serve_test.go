package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/forgeproof/forgeproof/internal/testenv"
)

// TestServeInProcess runs "forgeproof serve --config FILE" in-process in
// front of a real backend, reloads it with a real SIGHUP, and stops it as
// SIGINT would.
func TestServeInProcess(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "backend: %s %s", r.Method, r.URL.Path)
	}))
	defer backend.Close()
	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	admin := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	file := filepath.Join(t.TempDir(), "forgeproof.yaml")
	base := fmt.Sprintf("addr: %s\nadmin: {addr: %s}\nupstreams: [{url: %s}]\n", addr, admin, backend.URL)
	write := func(s string) {
		if err := os.WriteFile(file, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(base)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stdout, stderr := &syncBuffer{}, &syncBuffer{}
	code := make(chan int, 1)
	go func() { code <- run(ctx, []string{"serve", "--config", file}, stdout, stderr) }()
	if err := testenv.WaitTCP(admin, 10*time.Second); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	url := "http://" + addr

	send := func(c *http.Client, method, path, contentType string, header ...string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, url+path, strings.NewReader(`{"to":"bob"}`))
		req.Header.Set("Content-Type", contentType)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode >= 400 && resp.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s %s: %d with Content-Type %q, want problem+json", method, path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		return resp.StatusCode, string(b)
	}

	// Forged and legitimate requests.
	if code, body := send(http.DefaultClient, "POST", "/api/transfer", "application/json", "Origin", "https://evil.example"); code != 403 || !strings.Contains(body, `"reason":"origin-mismatch"`) {
		t.Fatalf("forged POST = %d %s", code, body)
	}
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	_, body := send(client, "GET", "/.forgeproof/token", "", "Sec-Fetch-Site", "same-origin")
	var tok struct{ Token string }
	if err := json.Unmarshal([]byte(body), &tok); err != nil || tok.Token == "" {
		t.Fatalf("token endpoint: %s", body)
	}
	legit := []string{"Origin", url, "X-Forgeproof-Token", tok.Token}
	if code, body := send(client, "POST", "/api/transfer", "text/plain", legit...); code != 200 || body != "backend: POST /api/transfer" {
		t.Fatalf("legitimate POST = %d %s", code, body)
	}

	// SIGHUP with a new rule: text/plain bodies are now refused on /api/.
	write(base + "routes: [{pattern: /api/, json_only: true}]\n")
	hup := func() {
		if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
	}
	hup()
	waitLog(t, stderr, `"msg":"configuration reloaded"`, 1)
	if code, body := send(client, "POST", "/api/transfer", "text/plain", legit...); code != 403 || !strings.Contains(body, "content-type-not-allowed") {
		t.Errorf("after reload, text/plain POST = %d %s, want content-type-not-allowed", code, body)
	}

	// SIGHUP with an invalid file: refused, the rule stays.
	write(base + "routes: [{pattern: /api/, json_only: yes}]\n")
	hup()
	waitLog(t, stderr, `"msg":"reload refused: the previous configuration keeps serving"`, 1)
	if !strings.Contains(stderr.String(), `forgeproof.yaml:4:38: routes[0].json_only: expected true or false, found \"yes\"`) {
		t.Errorf("the problem is not logged with its line:\n%s", stderr)
	}
	if code, _ := send(client, "POST", "/api/transfer", "text/plain", legit...); code != 403 {
		t.Errorf("after a refused reload, text/plain POST = %d, want the old rule's 403", code)
	}
	if code, body := send(client, "POST", "/api/transfer", "application/json", legit...); code != 200 {
		t.Errorf("after a refused reload, JSON POST = %d %s, want 200", code, body)
	}

	cancel()
	select {
	case c := <-code:
		if c != 0 {
			t.Fatalf("serve exited with %d\n%s", c, stderr)
		}
	case <-time.After(40 * time.Second):
		t.Fatal("serve did not stop")
	}
	if !strings.Contains(stdout.String(), "forgeproof: serving on "+url+", admin on http://"+admin) {
		t.Errorf("stdout = %q", stdout)
	}
}

// waitLog waits until s holds n lines containing substr.
func waitLog(t *testing.T, s *syncBuffer, substr string, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(s.String(), substr) < n {
		if time.Now().After(deadline) {
			t.Fatalf("log lacks %s:\n%s", substr, s)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestServeRailsCookieStore puts serve, with nothing but --upstream, in
// front of a backend that sets its Rails-named session cookie to a new
// value on every response, as Rails's cookie store does. Detection picks
// the rails preset, which binds tokens to no session: a token fetched
// before another page view is still accepted.
func TestServeRailsCookieStore(t *testing.T) {
	var n int64
	var mu sync.Mutex
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		v := strconv.FormatInt(n, 10)
		mu.Unlock()
		http.SetCookie(w, &http.Cookie{Name: "_shop_session", Value: "encrypted-" + v, Path: "/", HttpOnly: true})
		fmt.Fprintf(w, "backend: %s %s", r.Method, r.URL.Path)
	}))
	defer backend.Close()
	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	admin := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	ctx, cancel := context.WithCancel(context.Background())
	stdout, stderr := &syncBuffer{}, &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--upstream", backend.URL, "--addr", addr, "--admin-addr", admin}, stdout, stderr)
	}()
	defer func() {
		cancel()
		<-done
	}()
	if err := testenv.WaitTCP(admin, 10*time.Second); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if !strings.Contains(stdout.String(), "using --preset rails") || !strings.Contains(stdout.String(), "tokens are not bound to _shop_session") {
		t.Errorf("serve did not say what it chose for Rails:\n%s", stdout)
	}
	url := "http://" + addr
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	get := func(path string) string {
		t.Helper()
		req, _ := http.NewRequest("GET", url+path, nil)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	get("/")
	var tok struct{ Token string }
	if err := json.Unmarshal([]byte(get("/.forgeproof/token")), &tok); err != nil || tok.Token == "" {
		t.Fatalf("token endpoint: %v", err)
	}
	get("/other-tab") // the session cookie changes again
	req, _ := http.NewRequest("POST", url+"/notes", strings.NewReader("text=hi"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", url)
	req.Header.Set("X-Forgeproof-Token", tok.Token)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("POST with a token from before the cookie store's last write = %d %s\n%s", resp.StatusCode, b, stderr)
	}
}
