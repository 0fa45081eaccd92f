package server

import (
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/forgeproof/forgeproof"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/metrics"
)

func newDecisionServer(tb testing.TB, w io.Writer) *server {
	m, err := metrics.New(prometheus.NewRegistry())
	if err != nil {
		tb.Fatal(err)
	}
	level := new(slog.LevelVar)
	return &server{log: newLogger(w, "json", level), level: level, metrics: m}
}

var (
	allowed = forgeproof.Event{Decision: forgeproof.Allowed, Method: "POST", Path: "/api/transfer", RemoteAddr: "127.0.0.1:5000"}
	denied  = forgeproof.Event{Decision: forgeproof.Denied, Reason: forgeproof.ReasonOriginMismatch, Method: "POST",
		Path: "/api/transfer", Route: "/api/", Origin: "https://evil.example", SecFetchSite: "cross-site", RemoteAddr: "127.0.0.1:5000"}
)

// TestOnDecisionLogsRefusalsOnly checks the rejection log line, key by key.
func TestOnDecisionLogsRefusalsOnly(t *testing.T) {
	var b strings.Builder
	s := newDecisionServer(t, &b)
	s.onDecision(allowed)
	if b.Len() != 0 {
		t.Fatalf("an allowed request was logged: %s", b.String())
	}
	s.onDecision(denied)
	line := b.String()
	for _, want := range []string{`"level":"INFO"`, `"msg":"request refused"`, `"reason":"origin-mismatch"`, `"method":"POST"`,
		`"path":"/api/transfer"`, `"route":"/api/"`, `"origin":"https://evil.example"`, `"referer_origin":""`,
		`"sec_fetch_site":"cross-site"`, `"client_addr":"127.0.0.1:5000"`, `"report_only":false`} {
		if !strings.Contains(line, want) {
			t.Errorf("log line lacks %s: %s", want, line)
		}
	}
	if strings.Count(line, "\n") != 1 {
		t.Errorf("want one line per refusal: %q", line)
	}
}

// BenchmarkOnDecision measures the per-request cost of the decision hook:
// an allowed request must not allocate.
func BenchmarkOnDecision(b *testing.B) {
	for _, bc := range []struct {
		name string
		e    forgeproof.Event
	}{{"allowed", allowed}, {"denied", denied}} {
		b.Run(bc.name, func(b *testing.B) {
			s := newDecisionServer(b, io.Discard)
			b.ReportAllocs()
			for b.Loop() {
				s.onDecision(bc.e)
			}
		})
	}
}

func TestOnDecisionAllowedDoesNotAllocate(t *testing.T) {
	s := newDecisionServer(t, io.Discard)
	if n := testing.AllocsPerRun(100, func() { s.onDecision(allowed) }); n != 0 {
		t.Errorf("onDecision(allowed) allocates %v times, want 0", n)
	}
}
