package forgeproof_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestStdlibOnly guards the promise that the library imports the standard
// library alone: every dependency of the root package, other than
// internal/problem, must be part of the Go distribution.
func TestStdlibOnly(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not found")
	}
	out, err := exec.Command(goTool, "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	allowed := map[string]bool{
		"github.com/forgeproof/forgeproof":                  true,
		"github.com/forgeproof/forgeproof/internal/problem": true,
	}
	for _, pkg := range strings.Fields(string(out)) {
		if !allowed[pkg] {
			t.Errorf("the library depends on %s; it may import the standard library and internal/problem only", pkg)
		}
	}
}

// TestConsumerRequiresNothing builds a throwaway module that imports the
// root package, as an application would, and checks that `go mod tidy` adds
// nothing to its go.mod and go.sum but forgeproof itself. It runs with
// GOPROXY=off: a module that needed anything else would fail to tidy.
func TestConsumerRequiresNothing(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not found")
	}
	root, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	files := map[string]string{
		"go.mod": "module example.com/consumer\n\ngo 1.26.0\n\nrequire github.com/forgeproof/forgeproof v0.0.0\n\nreplace github.com/forgeproof/forgeproof => " + root + "\n",
		"main.go": `package main

import (
	"net/http"

	"github.com/forgeproof/forgeproof"
)

func main() {
	p, err := forgeproof.New(forgeproof.Config{})
	if err != nil {
		panic(err)
	}
	http.ListenAndServe("127.0.0.1:0", p.Handler(http.NotFoundHandler()))
}
`,
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{{"mod", "tidy"}, {"build", "-o", os.DevNull, "."}} {
		cmd := exec.Command(goTool, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOPROXY=off", "GOFLAGS=-mod=mod", "GOWORK=off")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	mod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(mod), "\n") {
		line = strings.TrimSpace(line)
		if strings.Contains(line, "/") && !strings.HasPrefix(line, "module ") && !strings.Contains(line, "github.com/forgeproof/forgeproof") {
			t.Errorf("the consumer's go.mod gained %q; the library's module must require nothing", line)
		}
	}
	sum, err := os.ReadFile(filepath.Join(dir, "go.sum"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(sum)), "\n") {
		if line != "" && !strings.HasPrefix(line, "github.com/forgeproof/forgeproof ") {
			t.Errorf("the consumer's go.sum gained %q", line)
		}
	}
}
