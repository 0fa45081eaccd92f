// Package testenv starts the real servers and programs that forgeproof's
// tests talk to: redis-server, Chromium, Node.js. Each starts on a free
// loopback port, is stopped when the test ends, and is looked up on PATH.
//
// When a program is missing, the test is skipped, unless the environment
// variable CI or FORGEPROOF_REQUIRE_ALL is set, in which case it fails: CI
// must never pass by skipping. The README's test command installs what is
// missing.
package testenv

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Require returns the path of the program name, or skips (fails under CI)
// when it is not installed. hint says how to install it.
func Require(t testing.TB, name, hint string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	for _, alt := range alternatives[name] {
		if path, err := exec.LookPath(alt); err == nil {
			return path
		}
	}
	msg := fmt.Sprintf("%s not found on PATH; %s", name, hint)
	if os.Getenv("CI") != "" || os.Getenv("FORGEPROOF_REQUIRE_ALL") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

var alternatives = map[string][]string{
	"chromium": {"chromium-browser", "google-chrome", "google-chrome-stable"},
	"nginx":    {"/usr/sbin/nginx"}, // outside PATH for users other than root
}

// Chromium returns the path of the system Chromium binary.
func Chromium(t testing.TB) string {
	t.Helper()
	return Require(t, "chromium", "install it with: apt-get install -y chromium")
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testenv: no free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// WaitTCP waits until addr accepts TCP connections or the timeout passes.
func WaitTCP(addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("testenv: %s did not accept connections within %v: %w", addr, timeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Redis is a real redis-server process on a loopback port.
type Redis struct {
	// Addr is the server's host:port; it stays the same across Stop and
	// Start, so clients can reconnect.
	Addr string

	t    testing.TB
	path string
	mu   sync.Mutex
	cmd  *exec.Cmd
}

// StartRedis starts redis-server on a free loopback port, without
// persistence, and stops it when the test ends.
func StartRedis(t testing.TB) *Redis {
	t.Helper()
	path := Require(t, "redis-server", "install it with: apt-get install -y redis-server")
	r := &Redis{Addr: "127.0.0.1:" + strconv.Itoa(FreePort(t)), t: t, path: path}
	r.Start()
	t.Cleanup(r.Stop)
	return r
}

// Start starts the server again after Stop. It is a no-op while running.
func (r *Redis) Start() {
	r.t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd != nil {
		return
	}
	_, port, _ := net.SplitHostPort(r.Addr)
	cmd := exec.Command(r.path, "--port", port, "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--protected-mode", "yes")
	cmd.Dir = r.t.TempDir()
	if err := cmd.Start(); err != nil {
		r.t.Fatalf("testenv: start redis-server: %v", err)
	}
	r.cmd = cmd
	if err := WaitTCP(r.Addr, 10*time.Second); err != nil {
		r.t.Fatal(err)
	}
	if err := r.ping(); err != nil {
		r.t.Fatalf("testenv: redis-server on %s: %v", r.Addr, err)
	}
}

// Stop kills the server, as an outage would. It is a no-op when stopped.
func (r *Redis) Stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == nil {
		return
	}
	r.cmd.Process.Kill()
	r.cmd.Wait()
	r.cmd = nil
}

// ping speaks just enough RESP to check that the server answers.
func (r *Redis) ping() error {
	c, err := net.DialTimeout("tcp", r.Addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return fmt.Errorf("unexpected reply %q", line)
	}
	return nil
}

// Command starts a long-running program (a test backend) whose output goes
// to the test log, and kills it when the test ends.
func Command(t testing.TB, dir, name string, args ...string) *exec.Cmd {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Stdout = logWriter{t}
	cmd.Stderr = logWriter{t}
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("testenv: start %s: %v", name, err)
	}
	t.Cleanup(func() {
		cancel()
		cmd.Wait()
	})
	return cmd
}

type logWriter struct{ t testing.TB }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Logf("%s", strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// Sentinel is a real redis-sentinel process on a loopback port.
type Sentinel struct {
	// Addr is the Sentinel's host:port.
	Addr string
}

// StartSentinel starts redis-sentinel on a free loopback port, monitoring
// the primary at primaryAddr under the name master with a quorum of one,
// a down-after of one second and a failover timeout of three, and stops it
// when the test ends.
func StartSentinel(t testing.TB, master, primaryAddr string) *Sentinel {
	t.Helper()
	path := Require(t, "redis-sentinel", "install it with: apt-get install -y redis-sentinel")
	host, port, err := net.SplitHostPort(primaryAddr)
	if err != nil {
		t.Fatalf("testenv: primary address %q: %v", primaryAddr, err)
	}
	s := &Sentinel{Addr: "127.0.0.1:" + strconv.Itoa(FreePort(t))}
	_, sport, _ := net.SplitHostPort(s.Addr)
	dir := t.TempDir()
	conf := fmt.Sprintf("port %s\nbind 127.0.0.1\ndir %s\n"+
		"sentinel monitor %s %s %s 1\n"+
		"sentinel down-after-milliseconds %[3]s 1000\n"+
		"sentinel failover-timeout %[3]s 3000\n", sport, dir, master, host, port)
	file := dir + "/sentinel.conf"
	if err := os.WriteFile(file, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(path, file)
	cmd.Dir = dir
	if err := cmd.Start(); err != nil {
		t.Fatalf("testenv: start redis-sentinel: %v", err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	if err := WaitTCP(s.Addr, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	return s
}
