package reliability

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/forgeproof/forgeproof/internal/testenv"
	"github.com/gorilla/websocket"
)

// buildGateway builds the real forgeproof binary from cmd/forgeproof.
func buildGateway(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "forgeproof")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/forgeproof")
	cmd.Dir = filepath.Join("..", "..")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/forgeproof: %v\n%s", err, out)
	}
	return bin
}

// redisProc is a redis-server with append-only persistence (fsync on every
// write), so that a kill and restart loses no token: the fault under test
// is the outage, not the data loss (see docs/RELIABILITY.md).
type redisProc struct {
	t    *testing.T
	path string
	dir  string
	Addr string
	args []string // more redis-server arguments

	mu  sync.Mutex
	cmd *exec.Cmd
}

func startRedis(t *testing.T) *redisProc {
	t.Helper()
	path := testenv.Require(t, "redis-server", "install it with: apt-get install -y redis-server")
	r := &redisProc{t: t, path: path, dir: t.TempDir(), Addr: "127.0.0.1:" + strconv.Itoa(testenv.FreePort(t))}
	r.Start()
	t.Cleanup(r.Kill)
	return r
}

func (r *redisProc) Start() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd != nil {
		return
	}
	_, port, _ := net.SplitHostPort(r.Addr)
	cmd := exec.Command(r.path, "--port", port, "--bind", "127.0.0.1", "--save", "",
		"--appendonly", "yes", "--appendfsync", "always", "--dir", r.dir, "--protected-mode", "yes")
	cmd.Args = append(cmd.Args, r.args...)
	if err := cmd.Start(); err != nil {
		r.t.Errorf("start redis-server: %v", err)
		return
	}
	r.cmd = cmd
	if err := testenv.WaitTCP(r.Addr, 10*time.Second); err != nil {
		r.t.Error(err)
	}
	// Listening is not serving: while it loads its append-only file Redis
	// answers -LOADING. It is back when PING answers PONG.
	deadline := time.Now().Add(30 * time.Second)
	for !r.pong() {
		if time.Now().After(deadline) {
			r.t.Error("redis-server did not answer PONG within 30s")
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (r *redisProc) pong() bool {
	c, err := net.DialTimeout("tcp", r.Addr, time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && strings.HasPrefix(line, "+PONG")
}

// Kill kills the server with SIGKILL, as a crash would.
func (r *redisProc) Kill() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == nil {
		return
	}
	r.cmd.Process.Kill()
	r.cmd.Wait()
	r.cmd = nil
}

// backend is a Go application behind the gateway. It can be stopped,
// restarted on the same address, and slowed down. It trusts every request
// it receives (no CSRF defense of its own): whatever reaches it was let
// through by the gateway.
type backend struct {
	Addr string

	delay        atomic.Int64 // nanoseconds added to every response
	forgedServed atomic.Int64 // requests marked forged=1 that arrived
	mu           sync.Mutex
	srv          *http.Server
}

var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

func (b *backend) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /session", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "sid", Value: randomString(), Path: "/"})
		io.WriteString(w, `{"ok":true}`)
	})
	mux.HandleFunc("GET /ws", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("forged") != "" {
			b.forgedServed.Add(1)
		}
		c, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		for {
			mt, msg, err := c.ReadMessage()
			if err != nil {
				return
			}
			if err := c.WriteMessage(mt, msg); err != nil {
				return
			}
		}
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("forged") != "" {
			b.forgedServed.Add(1)
		}
		io.Copy(io.Discard, r.Body)
		if d := time.Duration(b.delay.Load()); d > 0 {
			time.Sleep(d)
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"ok":true}`)
	})
	return mux
}

func (b *backend) Start(t *testing.T) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.srv != nil {
		return
	}
	var l net.Listener
	var err error
	for i := 0; i < 50; i++ { // the port may linger briefly after Stop
		if l, err = net.Listen("tcp", b.Addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Errorf("backend listen %s: %v", b.Addr, err)
		return
	}
	b.srv = &http.Server{Handler: b.handler(), ReadHeaderTimeout: 10 * time.Second}
	go b.srv.Serve(l)
}

// Stop closes the backend abruptly: listener and every connection.
func (b *backend) Stop() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.srv == nil {
		return
	}
	b.srv.Close()
	b.srv = nil
}

// alertLog receives the gateway's alert webhooks.
type alertLog struct {
	mu     sync.Mutex
	alerts []alert
}

type alert struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	Rule   string `json:"rule"`
	Origin string `json:"origin"`
	Reason string `json:"reason"`
	Count  int    `json:"count"`
	at     time.Time
}

// gateway is the running forgeproof serve process.
type gateway struct {
	t        *testing.T
	bin      string
	cfgPath  string
	Origin   string // http://127.0.0.1:port
	Addr     string
	Admin    string
	cmd      *exec.Cmd
	stderr   *lockedBuffer
	exited   chan struct{}
	exitErr  error
	keyFiles []string
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type gatewayConfig struct {
	GatewayPort, AdminPort int
	RedisAddr, Backend     string
	Store                  string // overrides redis://RedisAddr/0
	SessionCookie          string // default sid
	Routes                 string // YAML list items; default: the Go backend's routes
	Webhook                string
	KeyFiles               []string // first signs
}

func (c gatewayConfig) yaml() string {
	var keys strings.Builder
	for _, k := range c.KeyFiles {
		fmt.Fprintf(&keys, "    - {file: %q}\n", k)
	}
	return fmt.Sprintf(`# written by bench/reliability
addr: 127.0.0.1:%[1]d
admin:
  addr: 127.0.0.1:%[2]d
log:
  level: info
limits:
  max_body_bytes: 1048576
  max_header_bytes: 32768
  read_header_timeout: 3s
  read_timeout: 4s
  idle_timeout: 30s
  shutdown_timeout: 5s
store: %[3]q
protection:
  public_origins: [http://127.0.0.1:%[1]d]
  session_cookie: %[7]s
  tokens: signed
  keys:
%[6]s  cookie_name: fp-csrf
  header_name: X-FP-Token
  field_name: fp_csrf
token_response_header: X-FP-Rotated
upstreams:
  - name: go
    url: http://%[4]s
    dial_timeout: 1s
    response_header_timeout: 5s
routes:
%[8]smonitor:
  webhook_url: %[5]s
  window: 10s
`, c.GatewayPort, c.AdminPort, c.store(), c.Backend, c.Webhook, keys.String(), c.sessionCookie(), c.routes())
}

func (c gatewayConfig) sessionCookie() string {
	if c.SessionCookie != "" {
		return c.SessionCookie
	}
	return "sid"
}

func (c gatewayConfig) routes() string {
	if c.Routes != "" {
		return c.Routes
	}
	return "  - pattern: /api/sync/\n    tokens: synchronizer\n  - pattern: /api/open/\n    tokens: \"off\"\n"
}

func (c gatewayConfig) store() string {
	if c.Store != "" {
		return c.Store
	}
	return "redis://" + c.RedisAddr + "/0"
}

func newKeyFile(t *testing.T) string {
	b := make([]byte, 32)
	rand.Read(b)
	p := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(p, []byte(base64.StdEncoding.EncodeToString(b)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func startGateway(t *testing.T, bin string, cfg gatewayConfig) *gateway {
	t.Helper()
	dir := t.TempDir()
	g := &gateway{
		t: t, bin: bin, cfgPath: filepath.Join(dir, "forgeproof.yaml"),
		Addr:   fmt.Sprintf("127.0.0.1:%d", cfg.GatewayPort),
		Origin: fmt.Sprintf("http://127.0.0.1:%d", cfg.GatewayPort),
		Admin:  fmt.Sprintf("127.0.0.1:%d", cfg.AdminPort),
		stderr: &lockedBuffer{}, exited: make(chan struct{}),
	}
	if err := os.WriteFile(g.cfgPath, []byte(cfg.yaml()), 0o600); err != nil {
		t.Fatal(err)
	}
	g.cmd = exec.Command(bin, "serve", "--config", g.cfgPath)
	g.cmd.Stderr = g.stderr
	g.cmd.Stdout = g.stderr
	if err := g.cmd.Start(); err != nil {
		t.Fatalf("start gateway: %v", err)
	}
	go func() { g.exitErr = g.cmd.Wait(); close(g.exited) }()
	t.Cleanup(func() {
		select {
		case <-g.exited:
		default:
			g.cmd.Process.Kill()
			<-g.exited
		}
		if t.Failed() || os.Getenv("FORGEPROOF_RELIABILITY_LOG") != "" {
			p := filepath.Join(os.TempDir(), "forgeproof-reliability-gateway.log")
			os.WriteFile(p, []byte(g.stderr.String()), 0o644)
			t.Logf("gateway log written to %s", p)
		}
	})
	if err := testenv.WaitTCP(g.Addr, 20*time.Second); err != nil {
		t.Fatalf("gateway did not start: %v\n%s", err, g.stderr.String())
	}
	if err := testenv.WaitTCP(g.Admin, 5*time.Second); err != nil {
		t.Fatalf("admin listener did not start: %v", err)
	}
	return g
}

// reload rewrites the configuration file and sends SIGHUP, then waits for
// the gateway's "configuration reloaded" log line.
func (g *gateway) reload(cfg gatewayConfig) error {
	before := strings.Count(g.stderr.String(), "configuration reloaded")
	if err := os.WriteFile(g.cfgPath, []byte(cfg.yaml()), 0o600); err != nil {
		return err
	}
	if err := g.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		return err
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if strings.Count(g.stderr.String(), "configuration reloaded") > before {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return errors.New("no \"configuration reloaded\" log line within 10s")
}

// rss reads the gateway's resident set size from /proc.
func (g *gateway) rss() (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", g.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb * 1024, err
		}
	}
	return 0, errors.New("no VmRSS in /proc status")
}

var adminClient = &http.Client{Timeout: 3 * time.Second}

// metrics returns the admin listener's Prometheus exposition.
func (g *gateway) metrics() (string, error) {
	resp, err := adminClient.Get("http://" + g.Admin + "/metrics")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// metricValue sums the samples of a metric whose line starts with prefix
// (name and, optionally, the start of the label set).
func metricValue(expo, prefix string) float64 {
	var sum float64
	for _, line := range strings.Split(expo, "\n") {
		if !strings.HasPrefix(line, prefix) {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err == nil {
			sum += v
		}
	}
	return sum
}

// shutdown sends SIGTERM and waits for the process to exit.
func (g *gateway) shutdown(timeout time.Duration) error {
	g.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-g.exited:
		return g.exitErr
	case <-time.After(timeout):
		return fmt.Errorf("gateway still running %v after SIGTERM", timeout)
	}
}

func randomString() string {
	b := make([]byte, 16)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
