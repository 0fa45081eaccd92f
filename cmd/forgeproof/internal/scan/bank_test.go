package scan_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"testing"

	"github.com/forgeproof/forgeproof"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/bank"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/gateway"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/report"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/scan"
)

// TestBank scans the demo bank, alone and behind the gateway, through the
// command line with a login, and checks the findings against what the bank
// records.
func TestBank(t *testing.T) {
	tests := []struct {
		name string
		wrap func(t *testing.T, h http.Handler) http.Handler
		want []string
	}{
		{"unprotected", func(t *testing.T, h http.Handler) http.Handler { return h },
			// The bank sets its session cookie without SameSite, which Firefox
			// and Safari send on cross-site requests.
			[]string{"content-type-downgrade", "get-changes-state", "no-csrf-defense", "security-headers", "session-cookie-attributes"}},
		{"behind the gateway", behindGateway(true), nil},
		// Without CheckSafeMethods, the legacy GET transfer passes the
		// gateway as a safe request: the scanner must say so.
		{"behind the gateway, GET not checked", behindGateway(false), []string{"get-changes-state"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := bank.New(bank.Options{})
			srv := httptest.NewServer(tt.wrap(t, b))
			defer srv.Close()
			var stdout, stderr bytes.Buffer
			code := scan.Command(context.Background(), []string{
				"--target", srv.URL, "--login", "/login", "--login-body", "username=alice&password=wonderland",
				"--endpoint", "POST /transfer to=bob&amount=1",
				"--endpoint", `POST /api/transfer {"to":"bob","amount":"1"}`,
				"--format", "json", "--rate", "0",
			}, &stdout, &stderr)
			var rep report.Report
			if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
				t.Fatalf("exit %d: %v\n%s", code, err, stderr.String())
			}
			var got []string
			for _, f := range rep.Findings {
				if !slices.Contains(got, f.Check) {
					got = append(got, f.Check)
				}
				t.Logf("%s %s %s: %s", f.Check, f.Method, f.Path, f.Evidence.Detail)
			}
			sort.Strings(got)
			if !slices.Equal(got, tt.want) {
				t.Errorf("findings %v, want %v", got, tt.want)
			}
			for _, op := range rep.Operations {
				if op.BaselineStatus >= 400 || op.BaselineStatus == 0 {
					t.Errorf("%s %s: no baseline (%d): %s", op.Method, op.Path, op.BaselineStatus, op.Note)
				}
			}
			// The bank's own record says which probes moved money: the
			// legitimate ones always; forged ones only when unprotected.
			forged := 0
			for _, tr := range b.Transfers() {
				if tr.Via == bank.ViaLegacyGET {
					forged++
				}
			}
			if (forged > 0) != slices.Contains(tt.want, "get-changes-state") {
				t.Errorf("%d transfers by GET recorded by the bank", forged)
			}
		})
	}
}

func behindGateway(checkGET bool) func(t *testing.T, h http.Handler) http.Handler {
	return func(t *testing.T, h http.Handler) http.Handler {
		backend := httptest.NewServer(h)
		t.Cleanup(backend.Close)
		u, _ := url.Parse(backend.URL)
		opts := gateway.Options{
			Upstreams:  []gateway.Upstream{{URL: u}},
			Protection: forgeproof.Config{SessionCookie: "session", ErrorLog: log.New(io.Discard, "", 0)},
		}
		if checkGET {
			// The legacy GET transfer changes state: check it like a POST.
			opts.Routes = []gateway.Route{{Pattern: "GET /transfer", Protect: forgeproof.Route{CheckSafeMethods: true}}}
		}
		g, err := gateway.New(opts)
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
}
