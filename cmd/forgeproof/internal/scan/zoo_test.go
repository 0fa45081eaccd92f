package scan_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/report"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/scan"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/scan/checks"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/zoo"
)

// zooScan starts v on a loopback server and scans it through the command
// line, returning the JSON report.
func zooScan(t *testing.T, v *zoo.Variant) *report.Report {
	t.Helper()
	h, err := v.Handler()
	if err != nil {
		t.Fatalf("%s: %v", v.Name, err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	target := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	dir := t.TempDir()
	args := []string{"--target", target, "--login", "/login", "--login-body", "user=alice",
		"--format", "json", "--rate", "0", "--concurrency", "4"}
	switch v.Input {
	case "endpoints":
		args = append(args, "--endpoint", "POST /transfer to=bob&amount=5",
			"--endpoint", `POST /api/transfer {"to":"bob","amount":5}`,
			"--endpoint", "DELETE /api/payees/7")
	case "har":
		file := filepath.Join(dir, "session.har")
		if err := os.WriteFile(file, harFor(target), 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, "--har", file)
	default:
		file := filepath.Join(dir, "openapi.json")
		if err := os.WriteFile(file, v.App.OpenAPI(), 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, "--openapi", file)
	}
	args = append(args, v.Args...)
	var stdout, stderr bytes.Buffer
	code := scan.Command(context.Background(), args, &stdout, &stderr)
	if code != scan.ExitOK && code != scan.ExitFindings {
		t.Fatalf("%s: exit %d\n%s", v.Name, code, stderr.String())
	}
	var rep report.Report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("%s: %v\n%s", v.Name, err, stdout.String())
	}
	if want := code == scan.ExitFindings; want != (len(rep.Findings) > 0) {
		t.Errorf("%s: exit %d with %d findings", v.Name, code, len(rep.Findings))
	}
	return &rep
}

// harFor is a HAR file as a browser saves it after using the zoo bank.
func harFor(target string) []byte {
	type kv struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	}
	entry := func(method, path, mime, body string, status int, respMime, respText string) map[string]any {
		req := map[string]any{"method": method, "url": target + path, "headers": []kv{}}
		if body != "" {
			req["postData"] = map[string]any{"mimeType": mime, "text": body}
		}
		return map[string]any{
			"request":  req,
			"response": map[string]any{"status": status, "headers": []kv{{"Content-Type", respMime}}, "content": map[string]any{"mimeType": respMime, "text": respText}},
		}
	}
	h := map[string]any{"log": map[string]any{"version": "1.2", "entries": []any{
		entry("GET", "/", "", "", 200, "text/html", "<!doctype html><title>Zoo bank</title>"),
		entry("POST", "/transfer", "application/x-www-form-urlencoded", "_csrf=stale&to=bob&amount=5", 200, "text/html", "<p>Transfer 1</p>"),
		entry("POST", "/api/transfer", "application/json", `{"to":"bob","amount":5}`, 200, "application/json", `{"ok":true}`),
		entry("GET", "https://cdn.zoo-thirdparty.example/widget.js", "", "", 200, "text/javascript", ""),
	}}}
	b, _ := json.Marshal(h)
	return b
}

// TestZoo scans every application of the zoo and measures recall (every
// planted weakness found) and precision (nothing else reported, nothing at
// all on the protected applications). Both must be 100%.
func TestZoo(t *testing.T) {
	vs := zoo.Variants()
	var all []string
	for _, c := range checks.All {
		all = append(all, c.ID)
	}
	sort.Strings(all)
	if got := zoo.Checks(vs); !slices.Equal(got, all) {
		t.Errorf("the zoo plants %v\nbut the checks are %v", got, all)
	}
	vulnerable, protected := 0, 0
	for _, v := range vs {
		if v.Protected() {
			protected++
		} else {
			vulnerable++
		}
	}
	if vulnerable < 12 || protected < 5 {
		t.Errorf("zoo has %d vulnerable and %d protected applications, want at least 12 and 5", vulnerable, protected)
	}

	var table strings.Builder
	fmt.Fprintf(&table, "%-27s %-9s %-4s %-4s %-4s  %s\n", "application", "kind", "TP", "FN", "FP", "checks reported")
	var tp, fn, fp int
	for _, v := range vs {
		rep := zooScan(t, v)
		want := map[string]bool{}
		for _, e := range v.Expect {
			want[e] = true
		}
		found := map[string]bool{}
		ids := map[string]bool{}
		vfp := 0
		for _, f := range rep.Findings {
			method := f.Method
			if method == "" {
				method = "-"
			}
			if f.Severity < report.Medium && f.Check == "get-changes-state" {
				continue // a name-only hint, not a finding
			}
			if f.Evidence.Probe == checks.ProbeTokenOtherSession && !strings.Contains(f.Evidence.Request, "_csrf=[token]") {
				t.Errorf("%s: the token in the evidence is not redacted:\n%s", v.Name, f.Evidence.Request)
			}
			key := f.Check + " " + method + " " + f.Path
			found[key] = true
			ids[f.Check] = true
			if !want[key] {
				vfp++
				t.Errorf("%s: false positive %s: %s", v.Name, key, f.Evidence.Detail)
			}
		}
		vtp, vfn := 0, 0
		for _, e := range v.Expect {
			if found[e] {
				vtp++
			} else {
				vfn++
				t.Errorf("%s: missed %s", v.Name, e)
			}
		}
		tp, fn, fp = tp+vtp, fn+vfn, fp+vfp
		kind := "vuln"
		if v.Protected() {
			kind = "protected"
		}
		list := make([]string, 0, len(ids))
		for id := range ids {
			list = append(list, id)
		}
		sort.Strings(list)
		fmt.Fprintf(&table, "%-27s %-9s %-4d %-4d %-4d  %s\n", v.Name, kind, vtp, vfn, vfp, strings.Join(list, ", "))
		for _, op := range rep.Operations {
			if strings.HasPrefix(op.Note, "no baseline") {
				t.Errorf("%s: %s %s: %s", v.Name, op.Method, op.Path, op.Note)
			}
		}
	}
	recall := 100 * float64(tp) / float64(tp+fn)
	precision := 100.0
	if tp+fp > 0 {
		precision = 100 * float64(tp) / float64(tp+fp)
	}
	fmt.Fprintf(&table, "recall %.1f%% (%d of %d planted findings), precision %.1f%% (%d false positives)\n", recall, tp, tp+fn, precision, fp)
	t.Logf("zoo results\n%s", table.String())
	if tp+fn == 0 || fn > 0 || fp > 0 {
		t.Errorf("recall %.1f%%, precision %.1f%%: both must be 100%%", recall, precision)
	}
}
