package server_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/forgeproof/forgeproof/internal/monitor"
)

// TestDashboardAndDetector checks the monitoring wiring: refused requests
// reach the detector, whose dashboard and data are served on the admin
// listener, and the detector's alerts are counted in the metrics.
func TestDashboardAndDetector(t *testing.T) {
	b := newBackend(t, nil)
	g := start(t, baseConfig(b.URL, ""))

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

	// The public listener does not serve the dashboard.
	_, body = do(t, http.DefaultClient, mustRequest("GET", g.url+"/dashboard/data.json"))
	if strings.Contains(body, "top_origins") {
		t.Errorf("the public listener serves the dashboard data")
	}
}
