package scan_test

import (
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/report"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/scan/checks"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/zoo"
)

// TestGetByEffect gives GET operations with --endpoint only: the GET that
// moves money is found because the balance read-back changed after it
// (not from its name), and the read-back and the home page stay quiet.
func TestGetByEffect(t *testing.T) {
	for _, tt := range []struct {
		name      string
		getAction bool
		want      int
	}{{"GET transfers", true, 1}, {"GET refused", false, 0}} {
		t.Run(tt.name, func(t *testing.T) {
			app := &zoo.App{Origin: zoo.StrictOrigin, GetAction: tt.getAction}
			srv := httptest.NewServer(app)
			defer srv.Close()
			code, stdout, stderr := run("--target", srv.URL, "--login", "/login", "--login-body", "user=alice", "--rate", "0", "--format", "json",
				"--endpoint", "GET /api/balance", "--endpoint", "GET /", "--endpoint", "GET /transfer?to=bob&amount=5")
			if code != 0 && code != 3 {
				t.Fatalf("exit %d\n%s", code, stderr)
			}
			var rep report.Report
			if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
				t.Fatal(err)
			}
			got := 0
			for _, f := range rep.Findings {
				if f.Check != "get-changes-state" {
					continue
				}
				if f.Path != "/transfer" || f.Severity != report.High || f.Evidence.Probe != checks.ProbeGetEffect {
					t.Errorf("unexpected %s %s %s (%s): %s", f.Check, f.Method, f.Path, f.Severity, f.Evidence.Detail)
					continue
				}
				got++
			}
			if got != tt.want {
				t.Errorf("%d get-changes-state findings by effect, want %d", got, tt.want)
			}
		})
	}
}
