package testenv

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// NpmCI installs the npm packages of the application in dir with npm ci,
// from its committed package-lock.json, unless its node_modules is already
// at least as new as the lock file.
func NpmCI(t testing.TB, dir string) {
	t.Helper()
	npm := Require(t, "npm", "install it with: apt-get install -y npm")
	lock, err := os.Stat(filepath.Join(dir, "package-lock.json"))
	if err != nil {
		t.Fatal(err)
	}
	installed, err := os.Stat(filepath.Join(dir, "node_modules", ".package-lock.json"))
	if err == nil && !installed.ModTime().Before(lock.ModTime()) {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund", "--prefer-offline")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("testenv: npm ci in %s: %v\n%s", dir, err, out)
	}
}

// Python returns the path of a python3 interpreter that can import every
// one of modules, or skips (fails under CI) when there is none. Debian's
// packages (python3-django, python3-flask) install into /usr/bin/python3,
// which is tried when the python3 on PATH lacks them. hint says how to
// install the modules.
func Python(t testing.TB, hint string, modules ...string) string {
	t.Helper()
	var tried []string
	for _, name := range []string{"python3", "/usr/bin/python3"} {
		path, err := exec.LookPath(name)
		if err != nil {
			continue
		}
		tried = append(tried, path)
		ok := true
		for _, m := range modules {
			if exec.Command(path, "-c", "import "+m).Run() != nil {
				ok = false
				break
			}
		}
		if ok {
			return path
		}
	}
	msg := fmt.Sprintf("no python3 that can import %v (tried %v); %s", modules, tried, hint)
	if os.Getenv("CI") != "" || os.Getenv("FORGEPROOF_REQUIRE_ALL") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// StartApp starts program with args followed by a free loopback port in
// dir, waits until the port accepts connections, and returns the
// application's address (host:port). The program is stopped when the test
// ends.
func StartApp(t testing.TB, dir, program string, args ...string) string {
	t.Helper()
	port := FreePort(t)
	Command(t, dir, program, append(args, strconv.Itoa(port))...)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	if err := WaitTCP(addr, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	return addr
}
