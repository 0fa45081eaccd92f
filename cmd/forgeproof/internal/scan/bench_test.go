package scan_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/report"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/scan"
)

// BenchmarkScan500 scans 500 operations (form POSTs, JSON POSTs and
// DELETEs) with every probe against a local server that defends nothing,
// so that every probe is sent and most are findings: once with no rate
// limit, once at the command's default --rate 300.
func BenchmarkScan500(b *testing.B) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, err := r.Cookie("session"); err != nil || c.Value != "ok" {
			http.Error(w, "sign in", http.StatusUnauthorized)
			return
		}
		if r.Method == http.MethodGet && r.URL.Path != "/" {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"ok":true,"n":%d}`, n.Add(1))
	}))
	defer srv.Close()
	target, _ := url.Parse(srv.URL)
	var ops []scan.Operation
	for i := range 500 {
		var spec string
		switch i % 3 {
		case 0:
			spec = fmt.Sprintf("POST /form/%d to=bob&amount=%d", i, i)
		case 1:
			spec = fmt.Sprintf(`POST /api/%d {"to":"bob","amount":%d}`, i, i)
		default:
			spec = fmt.Sprintf("DELETE /api/items/%d", i)
		}
		op, err := scan.ParseEndpoint(spec)
		if err != nil {
			b.Fatal(err)
		}
		ops = append(ops, op)
	}
	for _, bb := range []struct {
		name string
		rate float64
	}{{"unlimited", 0}, {"default-rate", 300}} {
		b.Run(bb.name, func(b *testing.B) {
			scan500(b, scan.Options{
				Target:      target,
				Operations:  ops,
				Cookies:     []*http.Cookie{{Name: "session", Value: "ok"}},
				Concurrency: 8,
				Rate:        bb.rate,
			})
		})
	}
}

func scan500(b *testing.B, opts scan.Options) {
	b.ReportAllocs()
	var requests, findings int
	var rep *report.Report
	for b.Loop() {
		var err error
		rep, err := scan.Run(context.Background(), opts)
		if err != nil {
			b.Fatal(err)
		}
		for _, op := range rep.Operations {
			if strings.HasPrefix(op.Note, "no baseline") {
				b.Fatalf("%s %s: %s", op.Method, op.Path, op.Note)
			}
		}
		requests, findings = rep.Summary.Requests, rep.Summary.Findings
	}
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapAlloc)/(1<<20), "retained-MiB")
	runtime.KeepAlive(rep)
	b.ReportMetric(float64(requests), "requests/op")
	b.ReportMetric(float64(findings), "findings/op")
}
