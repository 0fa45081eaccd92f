package scan_test

import (
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/zoo"
)

// TestTLSOptions scans an https target whose certificate the system does
// not trust: without options the scan fails and the hint names the
// certificate; --ca-cert with the certificate scans it; --insecure scans
// it and the report warns.
func TestTLSOptions(t *testing.T) {
	srv := httptest.NewTLSServer(&zoo.App{})
	defer srv.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	block := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(ca, block, 0o600); err != nil {
		t.Fatal(err)
	}
	base := []string{"--target", srv.URL, "--login", "/login", "--endpoint", "POST /transfer to=bob&amount=5", "--rate", "0", "--format", "json"}

	code, _, stderr := run(base...)
	if code != 1 || !strings.Contains(stderr, "--ca-cert") || strings.Contains(stderr, "up and reachable") {
		t.Errorf("untrusted certificate: exit %d, want 1 with a hint naming --ca-cert\n%s", code, stderr)
	}
	code, stdout, stderr := run(append(base, "--ca-cert", ca)...)
	if code != 3 || strings.Contains(stdout, "warnings") {
		t.Errorf("--ca-cert: exit %d, want 3 (findings) and no warning\n%s\n%s", code, stderr, stdout)
	}
	code, stdout, stderr = run(append(base, "--insecure")...)
	if code != 3 || !strings.Contains(stdout, `"warnings"`) || !strings.Contains(stdout, "--insecure") || !strings.Contains(stderr, "warning: --insecure") {
		t.Errorf("--insecure: exit %d, want 3 and a warning in the report and on stderr\n%s\n%s", code, stderr, stdout)
	}
	code, stdout, _ = run(append(base[:len(base)-2], "--insecure", "--format", "text")...)
	if code != 3 || !strings.Contains(stdout, "WARNING: TLS certificate verification was turned off") {
		t.Errorf("--insecure text report: exit %d, no warning\n%s", code, stdout)
	}
	if code, _, stderr := run("--target", srv.URL, "--ca-cert", filepath.Join(t.TempDir(), "none.pem")); code != 2 || !strings.Contains(stderr, "--ca-cert") {
		t.Errorf("missing --ca-cert file: exit %d\n%s", code, stderr)
	}
}

// TestFailureHints names the real cause of a failed login.
func TestFailureHints(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	for _, tt := range []struct {
		login, method, want string
	}{
		{"/nowhere", "POST", "the login URL does not exist"},
		{"/login", "POST", "--login-method"},
	} {
		code, _, stderr := run("--target", srv.URL, "--login", tt.login, "--login-method", tt.method, "--endpoint", "POST /x", "--rate", "0")
		if code != 1 || !strings.Contains(stderr, tt.want) {
			t.Errorf("--login %s: exit %d, want 1 and a hint with %q\n%s", tt.login, code, tt.want, stderr)
		}
	}
}
