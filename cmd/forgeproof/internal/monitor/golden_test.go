package monitor_test

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/forgeproof/forgeproof"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/monitor"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestAlertGolden pins the JSON of alerts, as webhooks receive them.
func TestAlertGolden(t *testing.T) {
	m, c, rec, _ := newMonitor(t, monitor.Options{OriginThreshold: 5, ReasonThreshold: 8, BurstThreshold: 1000})
	for range 8 {
		m.Observe(deny(forgeproof.ReasonOriginMismatch, "https://evil.example"))
	}
	c.Advance(2 * time.Minute)
	m.Tick()
	rec.mu.Lock()
	alerts := rec.alerts
	rec.mu.Unlock()
	got, err := json.MarshalIndent(alerts, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", "alerts.json")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("alerts differ from %s (run with -update if the change is intended):\n%s", path, got)
	}
}
