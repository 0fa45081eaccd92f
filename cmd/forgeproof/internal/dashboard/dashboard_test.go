package dashboard_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/forgeproof/forgeproof"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/dashboard"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/monitor"
)

// clock is a manual clock for the monitor that feeds the dashboard.
type clock struct {
	mu sync.Mutex
	t  time.Time
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

// fixture is the traffic the dashboard tests feed, and what they expect to
// see of it.
type fixture struct {
	allowed    int
	byReason   map[string]int
	byOrigin   map[string]int
	reportOnly int
}

// newFixture returns a monitor fed with an hour of traffic, minute by
// minute on a manual clock, and what was fed.
func newFixture(t *testing.T) (*monitor.Monitor, *clock, *fixture) {
	t.Helper()
	c := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	m, err := monitor.New(monitor.Options{
		Window:          12,
		OriginThreshold: 30,
		ReasonThreshold: 1000,
		BurstThreshold:  1000,
		Now:             c.Now,
		Logger:          slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	f := &fixture{byReason: map[string]int{}, byOrigin: map[string]int{}}
	feed := func(n int, e forgeproof.Event) {
		for range n {
			m.Observe(e)
		}
		if e.Decision == forgeproof.Allowed {
			f.allowed += n
			return
		}
		f.byReason[e.Reason.String()] += n
		o := e.Origin
		if o == "" {
			o = monitor.NoOrigin
		}
		f.byOrigin[o] += n
		if e.ReportOnly {
			f.reportOnly += n
		}
	}
	xss := `https://x.example"><img src=x onerror="document.body.dataset.pwned=1">`
	for minute := range 60 {
		if minute > 0 {
			c.Advance(time.Minute)
			m.Tick()
		}
		feed(20+minute%7*3, forgeproof.Event{Decision: forgeproof.Allowed, Origin: "https://bank.example"})
		if minute%10 == 0 {
			feed(2, forgeproof.Event{Decision: forgeproof.Denied, Reason: forgeproof.ReasonTokenMissing, Origin: "https://bank.example"})
		}
		if minute >= 45 && minute < 50 {
			feed(36, forgeproof.Event{Decision: forgeproof.Denied, Reason: forgeproof.ReasonOriginMismatch, Origin: "https://evil.example"})
		}
		if minute == 52 {
			feed(3, forgeproof.Event{Decision: forgeproof.Denied, Reason: forgeproof.ReasonSecFetchSiteCrossSite, Origin: xss})
			feed(4, forgeproof.Event{Decision: forgeproof.Denied, Reason: forgeproof.ReasonHeaderMissing, ReportOnly: true})
		}
	}
	return m, c, f
}

func get(t *testing.T, h http.Handler, method, path string) *http.Response {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(method, path, nil))
	return w.Result()
}

func TestHandlerResponses(t *testing.T) {
	m, _, _ := newFixture(t)
	h := dashboard.Handler(m)
	tests := []struct {
		name, method, path string
		status             int
		contentType        string
		contains           string
	}{
		{"page", "GET", "/", 200, "text/html; charset=utf-8", `<script src="app.js" defer></script>`},
		{"script", "GET", "/app.js", 200, "text/javascript; charset=utf-8", "textContent"},
		{"style", "GET", "/app.css", 200, "text/css; charset=utf-8", ".chart"},
		{"data", "GET", "/data.json", 200, "application/json", `"top_origins"`},
		{"head", "HEAD", "/", 200, "text/html; charset=utf-8", ""},
		{"unknown path", "GET", "/static/app.js", 404, "", ""},
		{"post refused", "POST", "/data.json", 405, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := get(t, h, tt.method, tt.path)
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if tt.contentType != "" && resp.Header.Get("Content-Type") != tt.contentType {
				t.Errorf("Content-Type %q, want %q", resp.Header.Get("Content-Type"), tt.contentType)
			}
			if !strings.Contains(string(body), tt.contains) {
				t.Errorf("body does not contain %q", tt.contains)
			}
			for k, want := range map[string]string{
				"Content-Security-Policy": dashboard.CSP,
				"X-Content-Type-Options":  "nosniff",
				"X-Frame-Options":         "DENY",
				"Cache-Control":           "no-store",
			} {
				if got := resp.Header.Get(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
		})
	}
}

func TestPageLoadsNothingFromElsewhere(t *testing.T) {
	m, _, _ := newFixture(t)
	h := dashboard.Handler(m)
	for _, path := range []string{"/", "/app.js", "/app.css"} {
		body, _ := io.ReadAll(get(t, h, "GET", path).Body)
		for _, bad := range []string{"http://", "https://", "//cdn", "innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", " style=\"", "<script>"} {
			if strings.Contains(string(body), bad) && !(bad == "http://" && strings.Contains(string(body), "http://www.w3.org/2000/svg")) {
				t.Errorf("%s contains %q", path, bad)
			}
		}
	}
}

func TestDataMatchesFeed(t *testing.T) {
	m, _, f := newFixture(t)
	var s monitor.Snapshot
	if err := json.NewDecoder(get(t, dashboard.Handler(m), "GET", "/data.json").Body).Decode(&s); err != nil {
		t.Fatal(err)
	}
	total := func(xs []uint32) (n int) {
		for _, x := range xs {
			n += int(x)
		}
		return n
	}
	if got := total(s.Allowed); got != f.allowed {
		t.Errorf("allowed %d, want %d", got, f.allowed)
	}
	for reason, n := range f.byReason {
		if got := total(s.ByReason[reason]); got != n {
			t.Errorf("%s: %d, want %d", reason, got, n)
		}
	}
	if len(s.TopOrigins) != len(f.byOrigin) || s.TopOrigins[0].Origin != "https://evil.example" || s.TopOrigins[0].Count != f.byOrigin["https://evil.example"] {
		t.Errorf("top origins %v, want %v", s.TopOrigins, f.byOrigin)
	}
	if len(s.Alerts) != 2 {
		t.Errorf("%d alerts, want the evil.example alert raised and cleared", len(s.Alerts))
	}
}

func TestDataGolden(t *testing.T) {
	m, _, _ := newFixture(t)
	resp := get(t, dashboard.Handler(m), "GET", "/data.json")
	got, _ := io.ReadAll(resp.Body)
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, got, "", "  "); err != nil {
		t.Fatal(err)
	}
	pretty.WriteByte('\n')
	path := filepath.Join("testdata", "data.json")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, pretty.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(pretty.Bytes(), want) {
		t.Errorf("data.json differs from %s (run with -update if the change is intended):\n%s", path, pretty.Bytes())
	}
}
