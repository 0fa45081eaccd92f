package scan_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/browser"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/report"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/scan"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/zoo"
	"github.com/forgeproof/forgeproof/internal/testenv"
)

// TestConfirm proves findings in a real headless Chromium: the zoo bank is
// served over HTTPS as zoo.test (a throwaway CA), the proofs of concept
// from another site, and the browser's own requests decide.
func TestConfirm(t *testing.T) {
	chromium := testenv.Chromium(t)
	ca, err := browser.NewCA("zoo.test", "*.zoo.test")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		app       *zoo.App
		check     string
		confirmed bool
		browser   string // in Evidence.Browser
	}{
		{"no defense, SameSite=None session", &zoo.App{WeakCookie: true}, "no-csrf-defense", true, "got 200"},
		{"no defense, SameSite=Lax session", &zoo.App{}, "no-csrf-defense", false, "got 401"},
		{"Origin null allowed", &zoo.App{WeakCookie: true, Origin: zoo.AllowNullOrigin}, "origin-null-accepted", true, "got 200"},
		{"state change on GET, Lax session", &zoo.App{Origin: zoo.StrictOrigin, GetAction: true}, "get-changes-state", true, "got 200"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewUnstartedServer(tt.app)
			srv.TLS = ca.ServerConfig()
			srv.StartTLS()
			defer srv.Close()
			addr := srv.Listener.Addr().String()
			_, port, _ := net.SplitHostPort(addr)
			target, _ := url.Parse("https://zoo.test:" + port)
			login := &scan.Login{URL: target.JoinPath("/login"), Body: []byte("user=alice"), ContentType: "application/x-www-form-urlencoded"}
			transport := &http.Transport{
				TLSClientConfig: ca.ClientConfig(),
				DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
					return (&net.Dialer{}).DialContext(ctx, network, addr)
				},
			}
			op, _ := scan.ParseEndpoint("POST /transfer to=bob&amount=5")
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			before := tt.app.Transfers()
			rep, err := scan.Run(ctx, scan.Options{
				Target: target, Operations: []scan.Operation{op}, Login: login, Transport: transport,
				Confirm: scan.NewBrowserConfirmer(scan.BrowserOptions{
					ExecPath: chromium, Login: login, Hosts: map[string]string{"zoo.test": addr}, TrustSPKI: []string{ca.SPKI()},
				}),
			})
			if err != nil {
				t.Fatal(err)
			}
			var f *report.Finding
			for i := range rep.Findings {
				if rep.Findings[i].Check == tt.check {
					f = &rep.Findings[i]
				}
			}
			if f == nil {
				t.Fatalf("no %s finding in %+v", tt.check, rep.Findings)
			}
			t.Logf("%s: %s", f.Check, f.Evidence.Browser)
			if f.Confirmed != tt.confirmed || !strings.Contains(f.Evidence.Browser, tt.browser) {
				t.Errorf("confirmed = %v (%s), want %v with %q", f.Confirmed, f.Evidence.Browser, tt.confirmed, tt.browser)
			}
			if tt.confirmed && tt.app.Transfers() == before {
				t.Errorf("confirmed, but the bank recorded no transfer")
			}
			if rep.Summary.Confirmed != boolInt(tt.confirmed) && tt.check != "get-changes-state" {
				t.Errorf("summary counts %d confirmed", rep.Summary.Confirmed)
			}
		})
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestCommandConfirm runs --confirm through the command line against a
// plain-HTTP target on localhost: a state change on GET is proved through
// a SameSite=Lax session, since browsers send Lax cookies on top-level
// navigations.
func TestCommandConfirm(t *testing.T) {
	testenv.Chromium(t)
	app := &zoo.App{Origin: zoo.StrictOrigin, GetAction: true}
	srv := httptest.NewServer(app)
	defer srv.Close()
	target := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	code := scan.Command(ctx, []string{"--target", target, "--login", "/login", "--login-body", "user=alice",
		"--endpoint", "POST /transfer to=bob&amount=5", "--confirm", "--format", "json", "--rate", "0"}, &stdout, &stderr)
	if code != scan.ExitFindings {
		t.Fatalf("exit %d\n%s", code, stderr.String())
	}
	var rep report.Report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Findings) != 1 || rep.Findings[0].Check != "get-changes-state" || !rep.Findings[0].Confirmed {
		t.Fatalf("findings %+v\nstderr: %s", rep.Findings, stderr.String())
	}
	if !strings.Contains(stderr.String(), "forgeproof: confirm get-changes-state") {
		t.Errorf("no confirmation progress on stderr: %q", stderr.String())
	}
}
