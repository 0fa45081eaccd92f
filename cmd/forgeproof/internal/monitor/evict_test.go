package monitor_test

import (
	"fmt"
	"log/slog"
	"testing"

	"github.com/forgeproof/forgeproof"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/monitor"
)

// fullMonitor returns a monitor whose table of size origins is full, with
// the given share of them under an active alert.
func fullMonitor(tb testing.TB, size int, alerting float64) *monitor.Monitor {
	c := newClock()
	m, err := monitor.New(monitor.Options{
		MaxOrigins:      size,
		OriginThreshold: 2,
		BurstThreshold:  1e9,
		ReasonThreshold: 1e9,
		Now:             c.Now,
		Logger:          slog.New(slog.DiscardHandler),
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(m.Close)
	hot := int(float64(size) * alerting)
	for i := range size {
		e := forgeproof.Event{Decision: forgeproof.Denied, Reason: forgeproof.ReasonOriginMismatch, Origin: fmt.Sprintf("https://%d.fill.example", i)}
		m.Observe(e)
		if i < hot {
			m.Observe(e) // the second rejection raises the origin's alert
		}
	}
	if s := m.Snapshot(0); s.TrackedOrigins != size {
		tb.Fatalf("%d origins tracked, want %d", s.TrackedOrigins, size)
	}
	return m
}

// With the table full, a rejection from a new origin costs the same
// whatever the size of the table and however many of its origins are
// alerting: the cost per rejection stays flat as the table fills. Before
// the list of calm origins, a table whose origins all alerted was scanned
// whole, under the lock, for every new origin.
func BenchmarkRejectNewOrigin(b *testing.B) {
	for _, alerting := range []float64{1, 0.99, 0} {
		for _, size := range []int{1_000, 10_000, 100_000} {
			b.Run(fmt.Sprintf("alerting=%v/origins=%d", alerting, size), func(b *testing.B) {
				m := fullMonitor(b, size, alerting)
				origin := make([]byte, 0, 64)
				b.ReportAllocs()
				for i := 0; b.Loop(); i++ {
					// Every rejection from an origin never seen before.
					origin = fmt.Appendf(origin[:0], "https://%d.new.example", i)
					m.Observe(forgeproof.Event{Decision: forgeproof.Denied, Reason: forgeproof.ReasonOriginMismatch, Origin: string(origin)})
				}
			})
		}
	}
}

// When every tracked origin alerts, a new origin is not tracked, and the
// table keeps its alerting origins; when some are calm, new origins take
// their places, and the alerting ones stay.
func TestEvictionSparesAlertingOrigins(t *testing.T) {
	m := fullMonitor(t, 100, 1)
	m.Observe(forgeproof.Event{Decision: forgeproof.Denied, Reason: forgeproof.ReasonOriginMismatch, Origin: "https://new.example"})
	s := m.Snapshot(1000)
	if s.TrackedOrigins != 100 || len(s.Active) != 100 {
		t.Fatalf("all alerting: %d tracked, %d active, want 100 and 100", s.TrackedOrigins, len(s.Active))
	}

	m = fullMonitor(t, 100, 0.5)
	for i := range 1000 {
		m.Observe(forgeproof.Event{Decision: forgeproof.Denied, Reason: forgeproof.ReasonOriginMismatch, Origin: fmt.Sprintf("https://%d.new.example", i)})
	}
	s = m.Snapshot(1000)
	if s.TrackedOrigins != 100 || len(s.Active) != 50 {
		t.Fatalf("half alerting: %d tracked, %d active, want 100 and 50", s.TrackedOrigins, len(s.Active))
	}
	hot := 0
	for _, o := range s.TopOrigins {
		if o.Count == 2 {
			hot++
		}
	}
	if hot != 50 {
		t.Errorf("%d alerting origins still tracked, want 50", hot)
	}
}
