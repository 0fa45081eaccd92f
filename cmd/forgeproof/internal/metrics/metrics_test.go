package metrics_test

import (
	"context"
	"errors"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/forgeproof/forgeproof"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/metrics"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares the exposition of the named families in reg with
// testdata/name.txt, or rewrites the file with -update.
func golden(t *testing.T, reg *prometheus.Registry, name string, families ...string) {
	t.Helper()
	path := filepath.Join("testdata", name+".txt")
	if *update {
		var b strings.Builder
		if err := writeExposition(&b, reg, families); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	defer f.Close()
	if err := testutil.GatherAndCompare(reg, f, families...); err != nil {
		t.Errorf("exposition differs from %s (run with -update if the change is intended):\n%v", path, err)
	}
}

func newRegistry(t *testing.T) (*prometheus.Registry, *metrics.Metrics) {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	m, err := metrics.New(reg)
	if err != nil {
		t.Fatal(err)
	}
	return reg, m
}

func TestObserveExposition(t *testing.T) {
	reg, m := newRegistry(t)
	events := []forgeproof.Event{
		{Decision: forgeproof.Allowed},
		{Decision: forgeproof.Allowed, Safe: true},
		{Decision: forgeproof.Allowed, Exempt: true},
		{Decision: forgeproof.Denied, Reason: forgeproof.ReasonOriginMismatch, Origin: "https://evil.example", Path: "/api/transfer"},
		{Decision: forgeproof.Denied, Reason: forgeproof.ReasonOriginMismatch},
		{Decision: forgeproof.Denied, Reason: forgeproof.ReasonTokenMissing, ReportOnly: true},
		{Decision: forgeproof.Denied, Reason: forgeproof.ReasonStoreUnavailable},
		{Decision: forgeproof.Denied, Reason: forgeproof.ReasonReauthRequired},
	}
	for _, e := range events {
		m.Observe(e)
	}
	golden(t, reg, "requests", "forgeproof_requests_total")

	// No label value may carry a path or an origin.
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, mt := range mf.GetMetric() {
			for _, l := range mt.GetLabel() {
				if strings.ContainsAny(l.GetValue(), "/:") {
					t.Errorf("%s has label %s=%q", mf.GetName(), l.GetName(), l.GetValue())
				}
			}
		}
	}
}

func TestReasonLabelsAreLibraryNames(t *testing.T) {
	reg, m := newRegistry(t)
	for _, r := range forgeproof.Reasons() {
		m.Observe(forgeproof.Event{Decision: forgeproof.Denied, Reason: r})
		got := value(t, reg, "deny", r.String())
		if got != 1 {
			t.Errorf("reason %v: counter = %v, want 1", r, got)
		}
	}
}

// value returns forgeproof_requests_total{decision,reason} as gathered
// from reg, or -1 when reg does not export that child.
func value(t *testing.T, reg *prometheus.Registry, decision, reason string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "forgeproof_requests_total" {
			continue
		}
		for _, mt := range mf.GetMetric() {
			var d, r string
			for _, l := range mt.GetLabel() {
				switch l.GetName() {
				case "decision":
					d = l.GetValue()
				case "reason":
					r = l.GetValue()
				}
			}
			if d == decision && r == reason {
				return mt.GetCounter().GetValue()
			}
		}
	}
	return -1
}

func TestOtherFamiliesExposition(t *testing.T) {
	reg, m := newRegistry(t)
	m.TokenIssued(metrics.TokenEndpoint)
	m.TokenIssued(metrics.TokenEndpoint)
	m.TokenIssued(metrics.TokenOneTime)
	m.TokenIssued(metrics.TokenInjection)
	m.TokenIssued("forged-kind") // not a kind: not counted, no new label value
	m.AlertRaised("origin-rejections")
	m.AlertRaised("reason-spike")
	m.AlertRaised("reason-spike")
	m.AlertDelivery(metrics.DeliveryDelivered)
	m.AlertDelivery(metrics.DeliveryDropped)
	golden(t, reg, "other", "forgeproof_tokens_issued_total", "forgeproof_alerts_total", "forgeproof_alert_deliveries_total")
}

func TestHandlerRecordsDuration(t *testing.T) {
	reg, m := newRegistry(t)
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(3 * time.Millisecond)
	}))
	for range 2 {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "forgeproof_request_duration_seconds" {
			h := mf.GetMetric()[0].GetHistogram()
			if h.GetSampleCount() != 2 || h.GetSampleSum() < 0.006 {
				t.Errorf("histogram count %d sum %v, want 2 and >= 0.006", h.GetSampleCount(), h.GetSampleSum())
			}
			return
		}
	}
	t.Fatal("forgeproof_request_duration_seconds not exported")
}

func TestNewRefusesDoubleRegistration(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := metrics.New(reg); err != nil {
		t.Fatal(err)
	}
	if _, err := metrics.New(reg); err == nil {
		t.Fatal("second New on one registry succeeded")
	}
}

// mapStore is a minimal Store for exercising the instrumentation; it fails
// every call while down is set.
type mapStore struct {
	mu   sync.Mutex
	m    map[string][]byte
	down bool
}

var errDown = errors.New("store down")

func (s *mapStore) Get(ctx context.Context, key string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		return nil, errDown
	}
	v, ok := s.m[key]
	if !ok {
		return nil, forgeproof.ErrNotFound
	}
	return v, nil
}

func (s *mapStore) Put(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		return errDown
	}
	s.m[key] = value
	return nil
}

func (s *mapStore) Take(ctx context.Context, key string) ([]byte, error) {
	v, err := s.Get(ctx, key)
	if err == nil {
		err = s.Delete(ctx, key)
	}
	return v, err
}

func (s *mapStore) Delete(ctx context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		return errDown
	}
	delete(s.m, key)
	return nil
}

func TestInstrumentStore(t *testing.T) {
	reg, m := newRegistry(t)
	inner := &mapStore{m: map[string][]byte{}}
	s := m.InstrumentStore(inner)
	ctx := context.Background()

	if err := s.Put(ctx, "k", []byte("v"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if v, err := s.Get(ctx, "k"); err != nil || string(v) != "v" {
		t.Fatalf("Get = %q, %v", v, err)
	}
	if _, err := s.Take(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Take(ctx, "k"); !errors.Is(err, forgeproof.ErrNotFound) {
		t.Fatalf("second Take: %v, want ErrNotFound", err)
	}
	inner.down = true
	if _, err := s.Get(ctx, "k"); !errors.Is(err, errDown) {
		t.Fatalf("Get while down: %v, want the store's error", err)
	}
	if err := s.Delete(ctx, "k"); !errors.Is(err, errDown) {
		t.Fatalf("Delete while down: %v", err)
	}
	golden(t, reg, "store", "forgeproof_store_operations_total")

	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var samples uint64
	for _, mf := range mfs {
		if mf.GetName() == "forgeproof_store_operation_duration_seconds" {
			for _, mt := range mf.GetMetric() {
				samples += mt.GetHistogram().GetSampleCount()
			}
		}
	}
	if samples != 6 {
		t.Errorf("latency samples = %d, want 6", samples)
	}
}

func TestObserveAllocations(t *testing.T) {
	_, m := newRegistry(t)
	events := []forgeproof.Event{
		{Decision: forgeproof.Allowed},
		{Decision: forgeproof.Denied, Reason: forgeproof.ReasonOriginMismatch},
		{Decision: forgeproof.Denied, Reason: forgeproof.ReasonTokenInvalid, ReportOnly: true},
	}
	allocs := testing.AllocsPerRun(1000, func() {
		for _, e := range events {
			m.Observe(e)
		}
	})
	if allocs != 0 {
		t.Errorf("Observe allocates %v times per call, want 0", allocs)
	}
}

func BenchmarkObserve(b *testing.B) {
	m, err := metrics.New(prometheus.NewRegistry())
	if err != nil {
		b.Fatal(err)
	}
	e := forgeproof.Event{Decision: forgeproof.Denied, Reason: forgeproof.ReasonOriginMismatch, Origin: "https://evil.example"}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.Observe(e)
		}
	})
}
