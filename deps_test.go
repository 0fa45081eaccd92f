package forgeproof_test

import (
	"os/exec"
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
