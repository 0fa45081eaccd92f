package testenv

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// Python returns a python3 interpreter that can import every module in
// modules, or skips (fails under CI). Debian's /usr/bin/python3 is tried
// first, since the Debian packages (python3-django, python3-flask…)
// install there, then python3 on PATH.
func Python(t testing.TB, hint string, modules ...string) string {
	t.Helper()
	var candidates []string
	if _, err := os.Stat("/usr/bin/python3"); err == nil {
		candidates = append(candidates, "/usr/bin/python3")
	}
	if p, err := exec.LookPath("python3"); err == nil {
		candidates = append(candidates, p)
	}
	script := ""
	for _, m := range modules {
		script += "import " + m + "\n"
	}
	for _, p := range candidates {
		if exec.Command(p, "-c", script).Run() == nil {
			return p
		}
	}
	return Require(t, "python3-with-"+filepath.Base(modules[0]), hint)
}

// StartApp starts a web application that takes its port as its last
// argument (name args… PORT) in dir, waits until it accepts connections on
// 127.0.0.1, and returns its origin, http://localhost:PORT. The
// application is stopped when the test ends.
func StartApp(t testing.TB, dir, name string, args ...string) string {
	t.Helper()
	port := strconv.Itoa(FreePort(t))
	Command(t, dir, name, append(args, port)...)
	if err := WaitTCP("127.0.0.1:"+port, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	return "http://localhost:" + port
}

// NpmCI installs the packages of the package-lock.json in dir with npm ci,
// unless node_modules is already newer than the lock file.
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

// Rackup returns the rackup of Debian's ruby-rails, once Ruby can load
// Rails's Action Controller and WEBrick, or skips (fails under CI).
func Rackup(t testing.TB) string {
	t.Helper()
	const hint = "install it with: apt-get install -y ruby-rails ruby-webrick"
	rackup := Require(t, "rackup", hint)
	ruby := Require(t, "ruby", hint)
	if exec.Command(ruby, "-e", `require "action_controller/railtie"; require "webrick"`).Run() != nil {
		return Require(t, "ruby-with-rails", hint)
	}
	return rackup
}

// StartNode installs the packages of the Node.js application in dir with
// [NpmCI] and starts it as [StartApp] does: node args… PORT. It returns
// the application's origin, http://localhost:PORT.
func StartNode(t testing.TB, dir string, args ...string) string {
	t.Helper()
	node := Require(t, "node", "install it with: apt-get install -y nodejs")
	NpmCI(t, dir)
	return StartApp(t, dir, node, args...)
}
