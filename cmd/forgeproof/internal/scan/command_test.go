package scan_test

import (
	"bytes"
	"context"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/scan"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/zoo"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func run(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = scan.Command(context.Background(), args, &o, &e)
	return code, o.String(), e.String()
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no target", nil, "--target is required"},
		{"bad target", []string{"--target", "ftp://x"}, "not an http or https URL"},
		{"bad format", []string{"--target", "http://x", "--format", "xml"}, "--format"},
		{"bad fail-on", []string{"--target", "http://x", "--fail-on", "critical"}, "unknown severity"},
		{"bad cookie", []string{"--target", "http://x", "--cookie", "novalue"}, "want NAME=VALUE"},
		{"bad header", []string{"--target", "http://x", "--header", "Bad Name: v"}, "not a valid header name"},
		{"header sets cookie", []string{"--target", "http://x", "--header", "Cookie: a=b"}, "use --cookie"},
		{"bad endpoint", []string{"--target", "http://x", "--endpoint", "POST"}, "METHOD /path"},
		{"login elsewhere", []string{"--target", "http://x", "--login", "http://y/login"}, "not a URL on the target"},
		{"missing openapi", []string{"--target", "http://x", "--openapi", "testdata/nope.yaml"}, "openapi"},
		{"unknown flag", []string{"--target", "http://x", "--frobnicate"}, "-frobnicate"},
		{"stray argument", []string{"--target", "http://x", "extra"}, "unexpected argument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := run(tt.args...)
			if code != scan.ExitUsage {
				t.Errorf("exit %d, want %d", code, scan.ExitUsage)
			}
			if stdout != "" {
				t.Errorf("stdout = %q, want nothing", stdout)
			}
			if !strings.Contains(stderr, "forgeproof: error: ") || !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr = %q, want an error mentioning %q", stderr, tt.want)
			}
		})
	}
}

func TestScanFailed(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	code, _, stderr := run("--target", url, "--endpoint", "POST /x")
	if code != scan.ExitFailed || !strings.Contains(stderr, "scan failed") {
		t.Errorf("exit %d, stderr %q; want 1 and a scan failure", code, stderr)
	}
}

func TestExitCodes(t *testing.T) {
	v := &zoo.Variant{App: &zoo.App{}} // no defense, good cookies and headers
	srv := httptest.NewServer(v.App)
	defer srv.Close()
	base := []string{"--target", srv.URL, "--login", "/login", "--rate", "0", "--format", "json"}
	if code, _, stderr := run(append(base, "--endpoint", "POST /transfer to=bob&amount=5")...); code != scan.ExitFindings {
		t.Errorf("vulnerable endpoint: exit %d, want 3\n%s", code, stderr)
	}
	// The only finding is medium (high, lowered by the SameSite=Lax
	// session cookie): --fail-on medium still fails, --fail-on high
	// passes, and a scan of a safe endpoint passes.
	if code, _, _ := run(append(base, "--endpoint", "POST /transfer to=bob&amount=5", "--fail-on", "medium")...); code != scan.ExitFindings {
		t.Errorf("--fail-on medium: exit %d, want 3", code)
	}
	if code, _, _ := run(append(base, "--endpoint", "POST /transfer to=bob&amount=5", "--fail-on", "high")...); code != scan.ExitOK {
		t.Errorf("--fail-on high: exit %d, want 0", code)
	}
	if code, _, stderr := run(append(base, "--endpoint", `POST /api/transfer {"to":"bob","amount":5}`)...); code != scan.ExitOK {
		t.Errorf("strict JSON endpoint: exit %d, want 0\n%s", code, stderr)
	}
}

// TestDryRun checks that --dry-run sends nothing and lists the probes.
func TestDryRun(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	code, stdout, _ := run("--target", srv.URL, "--dry-run", "--login", "/login",
		"--endpoint", `POST /api/transfer {"to":"bob"}`, "--endpoint", "DELETE /api/payees/7", "--endpoint", "GET /api/balance")
	if code != scan.ExitOK {
		t.Fatalf("exit %d", code)
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("dry run sent %d requests", n)
	}
	for _, want := range []string{"(baseline)", "(cross-site)", "(origin-null)", "(content-type: text/plain", "(token-other-session", "(token-pre-login", "(no-origin)", "(override-post)", "(session 2: login)", "OPTIONS", "(other-scheme)", "(same-site-port)", "(double-submit", "(token-bogus", "get-effect"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("dry run does not list %q:\n%s", want, stdout)
		}
	}
}

// TestTextReportGolden scans a zoo application end to end and compares
// the terminal report, with the port normalised.
func TestTextReportGolden(t *testing.T) {
	for _, name := range []string{"form-no-defense", "referer-optional", "forgeproof-middleware"} {
		t.Run(name, func(t *testing.T) {
			var v *zoo.Variant
			for _, z := range zoo.Variants() {
				if z.Name == name {
					v = z
				}
			}
			h, err := v.Handler()
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(h)
			defer srv.Close()
			dir := t.TempDir()
			spec := filepath.Join(dir, "openapi.json")
			os.WriteFile(spec, v.App.OpenAPI(), 0o644)
			target := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
			_, stdout, stderr := run("--target", target, "--openapi", spec, "--login", "/login", "--login-body", "user=alice", "--rate", "0", "--concurrency", "1")
			norm := regexp.MustCompile(`localhost:\d+`).ReplaceAllString(stdout, "localhost:PORT")
			if strings.Contains(stderr, "error") {
				t.Fatal(stderr)
			}
			golden(t, filepath.Join("testdata", "golden", name+".txt"), []byte(norm))
		})
	}
}

func golden(t *testing.T, file string, got []byte) {
	t.Helper()
	if *update {
		os.MkdirAll(filepath.Dir(file), 0o755)
		if err := os.WriteFile(file, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run go test -update after checking the change)\ngot:\n%s", file, got)
	}
}

// TestOutputFiles writes every format to --output and the proofs of
// concept to --poc-dir.
func TestOutputFiles(t *testing.T) {
	srv := httptest.NewServer(&zoo.App{})
	defer srv.Close()
	dir := t.TempDir()
	for _, format := range []string{"text", "json", "sarif", "html"} {
		out := filepath.Join(dir, "report."+format)
		pocs := filepath.Join(dir, "poc-"+format)
		code, stdout, stderr := run("--target", srv.URL, "--login", "/login", "--rate", "0",
			"--endpoint", "POST /transfer to=bob&amount=5", "--format", format, "--output", out, "--poc-dir", pocs)
		if code != scan.ExitFindings || stdout != "" {
			t.Fatalf("%s: exit %d, stdout %q, stderr %q", format, code, stdout, stderr)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"text": "no-csrf-defense", "json": `"check": "no-csrf-defense"`, "sarif": `"version": "2.1.0"`, "html": "<!doctype html>"}[format]
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("%s report lacks %q", format, want)
		}
		files, _ := filepath.Glob(filepath.Join(pocs, "*.html"))
		if len(files) != 1 {
			t.Fatalf("%s: %d proof-of-concept files, want 1", format, len(files))
		}
		poc, _ := os.ReadFile(files[0])
		if !bytes.Contains(poc, []byte(`action="`+srv.URL+`/transfer"`)) || !bytes.Contains(poc, []byte(".submit()")) {
			t.Errorf("proof of concept:\n%s", poc)
		}
	}
}

func TestHelp(t *testing.T) {
	code, stdout, stderr := run("--help")
	if code != scan.ExitOK || stderr != "" || !strings.Contains(stdout, "Usage: forgeproof scan --target URL") || !strings.Contains(stdout, "Exit status") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}
