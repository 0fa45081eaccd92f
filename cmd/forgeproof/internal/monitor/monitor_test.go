package monitor_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/forgeproof/forgeproof"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/monitor"
)

// clock is a manual clock for a Monitor.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock {
	return &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// recorder collects the alerts a Monitor raises and clears.
type recorder struct {
	mu     sync.Mutex
	alerts []monitor.Alert
}

func (r *recorder) OnAlert(a monitor.Alert) {
	r.mu.Lock()
	r.alerts = append(r.alerts, a)
	r.mu.Unlock()
}

// take returns the alerts recorded since the last call, as "status rule key"
// strings.
func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, a := range r.alerts {
		out = append(out, strings.TrimSpace(a.Status+" "+a.Rule+" "+a.Origin+a.Reason))
	}
	r.alerts = nil
	return out
}

func newMonitor(t *testing.T, o monitor.Options) (*monitor.Monitor, *clock, *recorder, *bytes.Buffer) {
	t.Helper()
	c, rec := newClock(), &recorder{}
	var logs bytes.Buffer
	o.Now = c.Now
	o.OnAlert = rec.OnAlert
	o.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
	m, err := monitor.New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return m, c, rec, &logs
}

func deny(reason forgeproof.Reason, origin string) forgeproof.Event {
	return forgeproof.Event{Decision: forgeproof.Denied, Reason: reason, Origin: origin, Method: "POST", Path: "/api/transfer"}
}

// A step feeds events to the monitor and checks the alerts that follow.
type step struct {
	advance time.Duration // moved before the events, then Tick
	n       int           // how many events
	event   forgeproof.Event
	want    []string // alerts raised or cleared by this step
}

func TestHysteresis(t *testing.T) {
	evil := deny(forgeproof.ReasonOriginMismatch, "https://evil.example")
	hdr := deny(forgeproof.ReasonHeaderMissing, "https://bank.example")
	tests := []struct {
		name  string
		opts  monitor.Options
		steps []step
	}{
		{
			name: "origin alert raised once and cleared once",
			opts: monitor.Options{OriginThreshold: 10, ReasonThreshold: 1000, BurstThreshold: 1000},
			steps: []step{
				{n: 9, event: evil},
				{n: 1, event: evil, want: []string{"firing origin-rejections https://evil.example"}},
				{n: 50, event: evil},
				{advance: 10 * time.Second, n: 50, event: evil},
				{advance: 50 * time.Second},
				{advance: 10 * time.Second, want: []string{"resolved origin-rejections https://evil.example"}},
				{advance: time.Hour},
			},
		},
		{
			name: "no clear between the two levels, no second raise",
			opts: monitor.Options{OriginThreshold: 10, ReasonThreshold: 1000, BurstThreshold: 1000},
			steps: []step{
				{n: 12, event: evil, want: []string{"firing origin-rejections https://evil.example"}},
				{advance: 10 * time.Second, n: 6, event: evil},
				// The first bucket leaves the window: 6 left, above the
				// clear level of 5.
				{advance: 50 * time.Second},
				{n: 3, event: evil}, // 9, still below the threshold: no new alert
				// The second leaves too: 3 left.
				{advance: 10 * time.Second, want: []string{"resolved origin-rejections https://evil.example"}},
				{n: 6, event: evil},
				{n: 1, event: evil, want: []string{"firing origin-rejections https://evil.example"}},
			},
		},
		{
			name: "origins are counted apart",
			opts: monitor.Options{OriginThreshold: 10, ReasonThreshold: 1000, BurstThreshold: 1000},
			steps: []step{
				{n: 9, event: evil},
				{n: 9, event: deny(forgeproof.ReasonOriginMismatch, "https://other.example")},
				{n: 9, event: forgeproof.Event{Decision: forgeproof.Denied, Reason: forgeproof.ReasonRefererMismatch, RefererOrigin: "https://third.example"}},
				{n: 1, event: forgeproof.Event{Decision: forgeproof.Denied, Reason: forgeproof.ReasonRefererMismatch, RefererOrigin: "https://third.example"},
					want: []string{"firing origin-rejections https://third.example"}},
			},
		},
		{
			name: "allowed and report-only traffic",
			opts: monitor.Options{OriginThreshold: 5, ReasonThreshold: 1000, BurstThreshold: 1000},
			steps: []step{
				{n: 100, event: forgeproof.Event{Decision: forgeproof.Allowed, Origin: "https://bank.example"}},
				{n: 5, event: forgeproof.Event{Decision: forgeproof.Denied, ReportOnly: true, Reason: forgeproof.ReasonTokenMissing, Origin: "https://evil.example"},
					want: []string{"firing origin-rejections https://evil.example"}},
			},
		},
		{
			name: "reason spike over the absolute threshold",
			opts: monitor.Options{OriginThreshold: 1000, ReasonThreshold: 20, BurstThreshold: 1000},
			steps: []step{
				{n: 19, event: hdr},
				{n: 1, event: hdr, want: []string{"firing reason-spike header-missing"}},
				{advance: 10 * time.Second, n: 100, event: hdr},
				{advance: time.Minute, want: []string{"resolved reason-spike header-missing"}},
			},
		},
		{
			name: "burst spread over many origins",
			opts: monitor.Options{OriginThreshold: 1000, ReasonThreshold: 1000, BurstThreshold: 50},
			steps: func() []step {
				var s []step
				for i := range 49 {
					s = append(s, step{n: 1, event: deny(forgeproof.ReasonOriginMismatch, fmt.Sprintf("https://bot%d.example", i))})
				}
				return append(s,
					step{n: 1, event: deny(forgeproof.ReasonTokenInvalid, "https://bot-last.example"), want: []string{"firing rejection-burst"}},
					step{advance: time.Minute, want: []string{"resolved rejection-burst"}},
				)
			}(),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, c, rec, _ := newMonitor(t, tt.opts)
			for i, s := range tt.steps {
				if s.advance > 0 {
					c.Advance(s.advance)
					m.Tick()
				}
				for range s.n {
					m.Observe(s.event)
				}
				if got := rec.take(); !slices.Equal(got, s.want) {
					t.Fatalf("step %d: alerts %q, want %q", i, got, s.want)
				}
			}
		})
	}
}

func TestBaselineRaisesTheThreshold(t *testing.T) {
	m, c, rec, _ := newMonitor(t, monitor.Options{OriginThreshold: 1e6, ReasonThreshold: 30, BurstThreshold: 1e6})
	inv := deny(forgeproof.ReasonTokenInvalid, "https://bank.example")
	// Four token-invalid rejections every ten seconds for an hour: 24 per
	// window, under the absolute threshold, learned as the baseline.
	for range 360 {
		for range 4 {
			m.Observe(inv)
		}
		c.Advance(10 * time.Second)
		m.Tick()
	}
	if got := rec.take(); got != nil {
		t.Fatalf("steady traffic raised %q", got)
	}
	// 80 in the window would trip the absolute threshold of 30 alone, but
	// not four times the baseline of about 24.
	for range 20 + 40 {
		m.Observe(inv)
	}
	if got := rec.take(); got != nil {
		t.Fatalf("80 rejections against a baseline of 24 raised %q", got)
	}
	for range 40 {
		m.Observe(inv)
	}
	got := rec.take()
	if !slices.Equal(got, []string{"firing reason-spike token-invalid"}) {
		t.Fatalf("alerts %q, want a token-invalid spike", got)
	}
	snap := m.Snapshot(5)
	if len(snap.Active) != 1 || snap.Active[0].Threshold < 90 || snap.Active[0].Baseline < 20 {
		t.Errorf("active alerts %+v, want one with a threshold near 96 and a baseline near 24", snap.Active)
	}
}

func TestAlertLogLine(t *testing.T) {
	m, _, _, logs := newMonitor(t, monitor.Options{OriginThreshold: 3, ReasonThreshold: 1000, BurstThreshold: 1000})
	for range 3 {
		m.Observe(deny(forgeproof.ReasonOriginMismatch, "https://evil.example"))
	}
	var line map[string]any
	if err := json.Unmarshal(bytes.TrimSpace(logs.Bytes()), &line); err != nil {
		t.Fatalf("log %q: %v", logs, err)
	}
	for k, want := range map[string]any{"level": "WARN", "rule": "origin-rejections", "origin": "https://evil.example", "count": 3.0, "threshold": 3.0, "window_seconds": 60.0} {
		if line[k] != want {
			t.Errorf("log %s = %v, want %v (line %s)", k, line[k], want, logs)
		}
	}
}

func TestSnapshot(t *testing.T) {
	m, c, _, _ := newMonitor(t, monitor.Options{OriginThreshold: 5, ReasonThreshold: 1000, BurstThreshold: 1000})
	for range 7 {
		m.Observe(forgeproof.Event{Decision: forgeproof.Allowed})
	}
	for range 6 {
		m.Observe(deny(forgeproof.ReasonOriginMismatch, "https://evil.example"))
	}
	c.Advance(90 * time.Second)
	for range 2 {
		m.Observe(deny(forgeproof.ReasonTokenMissing, "https://bank.example"))
	}
	m.Observe(forgeproof.Event{Decision: forgeproof.Denied, ReportOnly: true, Reason: forgeproof.ReasonTokenMissing})

	s := m.Snapshot(10)
	if s.Step != 10 || len(s.Allowed) != 360 {
		t.Fatalf("step %d, %d points; want 10 and 360", s.Step, len(s.Allowed))
	}
	sum := func(xs []uint32) (n int) {
		for _, x := range xs {
			n += int(x)
		}
		return n
	}
	if sum(s.Allowed) != 7 || sum(s.Rejected) != 9 || sum(s.ReportOnly) != 1 {
		t.Errorf("allowed %d rejected %d report-only %d, want 7 9 1", sum(s.Allowed), sum(s.Rejected), sum(s.ReportOnly))
	}
	if sum(s.ByReason["origin-mismatch"]) != 6 || sum(s.ByReason["token-missing"]) != 3 || len(s.ByReason) != 2 {
		t.Errorf("by reason %v", s.ByReason)
	}
	if last := len(s.Allowed) - 1; s.Rejected[last] != 3 || s.Rejected[last-9] != 6 {
		t.Errorf("rejections not in their buckets: last %d, 90s before %d", s.Rejected[last], s.Rejected[last-9])
	}
	want := []monitor.OriginCount{{"https://evil.example", 6}, {"https://bank.example", 2}, {monitor.NoOrigin, 1}}
	if !slices.Equal(s.TopOrigins, want) {
		t.Errorf("top origins %v, want %v", s.TopOrigins, want)
	}
	if got := m.Snapshot(-1).TopOrigins; len(got) != 0 {
		t.Errorf("Snapshot(-1) lists %v", got)
	}
	if len(s.Alerts) != 2 || s.Alerts[0].Status != monitor.StatusResolved || s.Alerts[1].Status != monitor.StatusFiring {
		t.Errorf("alerts %+v, want the origin alert resolved, newest first", s.Alerts)
	}
	if len(s.Active) != 0 {
		t.Errorf("active %+v, want none", s.Active)
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	for _, o := range []monitor.Options{
		{Bucket: time.Millisecond},
		{Window: -1},
		{ClearRatio: 1},
		{SpikeFactor: 0.5},
		{WebhookURL: "ftp://x"},
		{MaxOrigins: -3},
	} {
		if m, err := monitor.New(o); err == nil {
			m.Close()
			t.Errorf("New(%+v) succeeded", o)
		}
	}
}
