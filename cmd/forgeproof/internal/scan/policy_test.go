package scan_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/forgeproof/forgeproof"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/gateway"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/identity"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/report"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/scan"
)

// lenient is a backend that enforces nothing: it performs every action
// on its method, whatever the body's type, and counts them.
type lenient struct {
	mu sync.Mutex
	n  int
}

func (b *lenient) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == "GET" && r.URL.Path == "/" {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, "<!doctype html><html><head><title>app</title></head><body><p>app</p></body></html>")
		return
	}
	want := "POST"
	if strings.HasPrefix(r.URL.Path, "/api/legacy-") {
		want = "GET"
	}
	if r.Method != want {
		// Routed by method, as every framework does.
		w.Header().Set("Allow", want)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	body, _ := io.ReadAll(r.Body)
	to := r.URL.Query().Get("to")
	var v struct{ To string }
	if json.Unmarshal(body, &v) == nil && v.To != "" {
		to = v.To
	} else if f, err := url.ParseQuery(string(body)); err == nil && f.Get("to") != "" {
		to = f.Get("to")
	}
	b.mu.Lock()
	b.n++
	n := b.n
	b.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"ok":true,"action":%q,"to":%q,"id":%d}`, r.URL.Path, to, n)
}

// TestDeclaredPolicies scans a backend described by an OpenAPI file whose
// x-forgeproof extensions declare more than the gateway in front of it
// enforces: every operation whose declared policy is not enforced is a
// finding (recall), and no other is (precision).
func TestDeclaredPolicies(t *testing.T) {
	backend := httptest.NewServer(&lenient{})
	defer backend.Close()
	u, _ := url.Parse(backend.URL)
	g, err := gateway.New(gateway.Options{
		Upstreams: []gateway.Upstream{{URL: u}},
		// Roles come from an authenticating proxy's header; the scanner,
		// on loopback, stands for the proxy.
		Protection: forgeproof.Config{ErrorLog: log.New(io.Discard, "", 0), TrustedProxies: []string{"127.0.0.0/8"}},
		Identity:   &identity.Options{Header: &identity.Header{Name: "X-Auth-Roles"}},
		Routes: []gateway.Route{
			{Pattern: "POST /api/admin-enforced", Roles: []string{"admin"}},
			{Pattern: "POST /api/json-enforced", Protect: forgeproof.Route{JSONOnly: true}},
			{Pattern: "POST /api/header-enforced", Protect: forgeproof.Route{RequireHeader: "X-Requested-With"}},
			{Pattern: "GET /api/legacy-enforced", Protect: forgeproof.Route{CheckSafeMethods: true}},
			{Pattern: "POST /api/step-up-enforced", Protect: forgeproof.Route{ReauthMaxAge: 5 * time.Minute}},
			{Pattern: "POST /hooks/", Protect: forgeproof.Route{InsecureBypass: true}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g)
	defer srv.Close()

	var stdout, stderr bytes.Buffer
	code := scan.Command(context.Background(), []string{
		"--target", srv.URL, "--openapi", filepath.Join("testdata", "policy", "openapi.yaml"),
		"--header", "X-Auth-Roles: admin",
		"--format", "json", "--rate", "0",
	}, &stdout, &stderr)
	var rep report.Report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("exit %d: %v\n%s", code, err, stderr.String())
	}
	var got []string
	for _, f := range rep.Findings {
		t.Logf("%s %s %s: %s", f.Check, f.Method, f.Path, f.Evidence.Detail)
		if f.Check == "policy-not-enforced" {
			got = append(got, f.Method+" "+f.Path)
		} else {
			t.Errorf("unexpected finding %s on %s %s: %s", f.Check, f.Method, f.Path, f.Evidence.Detail)
		}
		if f.Path == "/api/combo-declared" && (!strings.Contains(f.Evidence.Detail, "json_only") || !strings.Contains(f.Evidence.Detail, "require_header")) {
			t.Errorf("the combined finding names only some gaps: %s", f.Evidence.Detail)
		}
	}
	sort.Strings(got)
	want := []string{
		"GET /api/legacy-declared",
		"POST /api/admin-declared",
		"POST /api/combo-declared",
		"POST /api/header-declared",
		"POST /api/json-declared",
		"POST /api/once-declared",
		"POST /api/step-up-declared",
	}
	if !slices.Equal(got, want) {
		t.Errorf("policy-not-enforced on\n%v\nwant\n%v", got, want)
	}
	for _, op := range rep.Operations {
		t.Logf("%s %s: %d %s", op.Method, op.Path, op.BaselineStatus, op.Note)
		switch op.Path {
		case "/hooks/payment":
			if !strings.Contains(op.Note, "bypass") || len(op.Probes) != 0 {
				t.Errorf("the declared bypass was probed: %+v", op)
			}
		case "/api/step-up-enforced":
			if !strings.Contains(op.Note, "declared step-up enforced") {
				t.Errorf("step-up: %+v", op)
			}
		default:
			if op.BaselineStatus != 200 {
				t.Errorf("%s %s: no baseline: %s", op.Method, op.Path, op.Note)
			}
		}
	}
}

// TestPolicyExtensionErrors checks that an unknown key or a value of the
// wrong type in x-forgeproof stops the scan with an error that names it.
func TestPolicyExtensionErrors(t *testing.T) {
	tests := []struct{ ext, want string }{
		{`{json_onyl: true}`, `unknown key "json_onyl"`},
		{`{json_only: "yes"}`, `json_only: expected true or false, found "yes"`},
		{`{tokens: double}`, `tokens: expected one of signed, synchronizer, off, found "double"`},
		{`{reauth_max_age: soon}`, `invalid duration "soon"`},
		{`{require_header: "X Bad"}`, `require_header: expected a header name`},
		{`{bypass: true, json_only: true}`, "bypass turns every check off"},
		{`true`, "expected a mapping of keys to values"},
	}
	for _, tt := range tests {
		t.Run(tt.ext, func(t *testing.T) {
			doc := "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /x:\n    post:\n      x-forgeproof: " + tt.ext + "\n      responses: {'200': {description: ok}}\n"
			file := filepath.Join(t.TempDir(), "api.yaml")
			if err := os.WriteFile(file, []byte(doc), 0o644); err != nil {
				t.Fatal(err)
			}
			_, _, err := scan.LoadOpenAPI(context.Background(), file)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "post /x") && !strings.Contains(err.Error(), "POST /x") {
				t.Errorf("LoadOpenAPI: %v, want an error naming the operation and %q", err, tt.want)
			}
		})
	}
}

// TestPlanListsPolicyProbes checks that --dry-run lists the probes of the
// declared policies, and the declared bypass as not probed.
func TestPlanListsPolicyProbes(t *testing.T) {
	ops, _, err := scan.LoadOpenAPI(context.Background(), filepath.Join("testdata", "policy", "openapi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	target, _ := url.Parse("http://app.test")
	plan := strings.Join(scan.Plan(scan.Options{Target: target, Operations: ops}), "\n")
	for _, want := range []string{
		"POST http://app.test/api/json-declared  (policy-text-plain)",
		"POST http://app.test/api/json-declared  (policy-form)",
		"POST http://app.test/api/header-declared  (policy-no-header: without X-Requested-With)",
		"POST http://app.test/api/once-declared  (policy-replay: the baseline again)",
		"POST http://app.test/api/admin-declared  (policy-anonymous: without the session's credentials)",
		"GET http://app.test/api/legacy-declared?to=bob  (policy-cross-site-get)",
		"POST http://app.test/hooks/payment  (declared x-forgeproof bypass: not probed)",
	} {
		if !strings.Contains(plan, want) {
			t.Errorf("the plan lacks %q:\n%s", want, plan)
		}
	}
	if strings.Contains(plan, "soft  (policy-") {
		t.Errorf("the report-only operation's rules are probed:\n%s", plan)
	}
}
