package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/monitor"
)

// TestDashboardAndDetector checks the monitoring wiring: refused requests
// reach the detector, whose dashboard and data are served on the admin
// listener, and whose alerts are logged, counted in the metrics and posted
// to the configured webhook.
func TestDashboardAndDetector(t *testing.T) {
	b := newBackend(t, nil)
	alerts := make(chan monitor.Alert, 10)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var a monitor.Alert
		if err := json.NewDecoder(r.Body).Decode(&a); err != nil || r.Method != http.MethodPost {
			t.Errorf("webhook received %s: %v", r.Method, err)
		}
		alerts <- a
	}))
	defer hook.Close()
	g := start(t, baseConfig(b.URL, "monitor: {webhook_url: "+hook.URL+"/alerts}\n"))

	// 50 forged requests from one origin trip the origin-rejections rule.
	for range 50 {
		resp, _ := post(t, http.DefaultClient, g.url+"/api/transfer",
			map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}, `{}`)
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("forged request: status %d, want 403", resp.StatusCode)
		}
	}

	resp, body := do(t, http.DefaultClient, mustRequest("GET", g.adminURL+"/dashboard/"))
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "chart-requests") || resp.Header.Get("Content-Security-Policy") == "" {
		t.Fatalf("dashboard: status %d, CSP %q", resp.StatusCode, resp.Header.Get("Content-Security-Policy"))
	}
	resp, body = do(t, http.DefaultClient, mustRequest("GET", g.adminURL+"/dashboard/data.json"))
	var s monitor.Snapshot
	if err := json.Unmarshal([]byte(body), &s); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("data: status %d: %v", resp.StatusCode, err)
	}
	if len(s.TopOrigins) == 0 || s.TopOrigins[0] != (monitor.OriginCount{Origin: "https://evil.example", Count: 50}) {
		t.Errorf("top origins %v, want https://evil.example with 50", s.TopOrigins)
	}
	if len(s.Active) == 0 {
		t.Errorf("no active alert after 50 forged requests from one origin")
	}

	_, metrics := do(t, http.DefaultClient, mustRequest("GET", g.adminURL+"/metrics"))
	if !strings.Contains(metrics, `forgeproof_alerts_total{rule="origin-rejections"} 1`) {
		t.Errorf("metrics do not count the alert:\n%s", grep(metrics, "forgeproof_alerts_total"))
	}
	if !strings.Contains(g.log.String(), `"rule":"origin-rejections"`) {
		t.Errorf("no alert log line")
	}

	// The reason-spike alert (30 sec-fetch-site-cross-site rejections)
	// comes first, then the origin's.
	for _, want := range []string{monitor.RuleReasonSpike, monitor.RuleOriginRejections} {
		select {
		case a := <-alerts:
			if a.Status != monitor.StatusFiring || a.Rule != want {
				t.Errorf("webhook received %+v, want a %s alert", a, want)
			}
			if a.Rule == monitor.RuleOriginRejections && (a.Origin != "https://evil.example" || a.Count != 50) {
				t.Errorf("webhook received %+v", a)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("the webhook received no %s alert", want)
		}
	}

	// The public listener does not serve the dashboard.
	_, body = do(t, http.DefaultClient, mustRequest("GET", g.url+"/dashboard/data.json"))
	if strings.Contains(body, "top_origins") {
		t.Errorf("the public listener serves the dashboard data")
	}
}

// TestMonitorThresholdsFromConfig checks that the monitor section's
// thresholds reach the detector, and that a reload that changes them says
// they need a restart.
func TestMonitorThresholdsFromConfig(t *testing.T) {
	b := newBackend(t, nil)
	section := "monitor: {window: 30s, origin_threshold: 5, reason_threshold: 1000, total_threshold: 1000}\n"
	g := start(t, baseConfig(b.URL, section))

	// Four forged requests from one origin stay under the threshold of 5;
	// the fifth raises the alert (the default would need 50).
	forge := func() {
		t.Helper()
		resp, _ := post(t, http.DefaultClient, g.url+"/api/transfer",
			map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}, `{}`)
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("forged request: status %d, want 403", resp.StatusCode)
		}
	}
	alerts := func() string {
		_, m := do(t, http.DefaultClient, mustRequest("GET", g.adminURL+"/metrics"))
		return grep(m, "forgeproof_alerts_total")
	}
	for range 4 {
		forge()
	}
	if a := alerts(); strings.Contains(a, `rule="origin-rejections"`) {
		t.Fatalf("alert raised below the threshold:\n%s", a)
	}
	forge()
	if a := alerts(); !strings.Contains(a, `forgeproof_alerts_total{rule="origin-rejections"} 1`) {
		t.Fatalf("no alert at the configured threshold of 5:\n%s", a)
	}
	// The alert's log line states the configured threshold and window.
	if l := g.log.String(); !strings.Contains(l, `"rule":"origin-rejections","count":5,"threshold":5,"window_seconds":30`) {
		t.Errorf("no alert line with threshold 5 and a 30 s window:\n%s", l)
	}

	if err := g.doReload(t, baseConfig(b.URL, strings.Replace(section, "origin_threshold: 5", "origin_threshold: 7", 1))); err != nil {
		t.Fatal(err)
	}
	warn := g.log.lines(t, "some changed settings apply only after a restart")
	if len(warn) != 1 || fmt.Sprint(warn[0]["keys"]) != "[monitor.origin_threshold]" {
		t.Errorf("restart warning = %v, want it to name monitor.origin_threshold", warn)
	}
}
