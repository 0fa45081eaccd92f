package admin_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/admin"
	"github.com/forgeproof/forgeproof/internal/testenv"
)

func get(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	r := httptest.NewRequest("GET", path, nil)
	r.Host = "localhost:9090"
	h.ServeHTTP(rec, r)
	return rec.Code, rec.Body.String()
}

func TestEndpoints(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "forgeproof_test_total", Help: "A test counter."})
	reg.MustRegister(c)
	c.Add(3)

	failing := errors.New("dial tcp 127.0.0.1:1: connection refused")
	var storeErr error
	a := admin.New(reg)
	a.SetChecks(admin.Check{Name: "store", Ping: func(context.Context) error { return storeErr }})
	a.Handle("GET /dashboard", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "dashboard")
	}))

	tests := []struct {
		name     string
		path     string
		setup    func()
		wantCode int
		wantBody []string
	}{
		{"livez", "/livez", func() {}, 200, []string{"ok"}},
		{"ready", "/readyz", func() {}, 200, []string{"ready", "store: ok"}},
		{"store down", "/readyz", func() { storeErr = failing }, 503, []string{"not ready", "store: dial tcp"}},
		{"store down, still alive", "/livez", func() {}, 200, []string{"ok"}},
		{"draining", "/readyz", func() { storeErr = nil; a.SetDraining(true) }, 503, []string{"not ready", "draining", "store: ok"}},
		{"drained back", "/readyz", func() { a.SetDraining(false) }, 200, []string{"ready"}},
		{"metrics", "/metrics", func() {}, 200, []string{"forgeproof_test_total 3"}},
		{"mounted", "/dashboard", func() {}, 200, []string{"dashboard"}},
		{"unknown", "/nope", func() {}, 404, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.setup()
			code, body := get(t, a, tt.path)
			if code != tt.wantCode {
				t.Errorf("GET %s = %d, want %d\n%s", tt.path, code, tt.wantCode, body)
			}
			for _, w := range tt.wantBody {
				if !strings.Contains(body, w) {
					t.Errorf("GET %s body lacks %q:\n%s", tt.path, w, body)
				}
			}
		})
	}
}

// TestReadyzRedis checks readiness against a real redis-server that goes
// away and comes back.
func TestReadyzRedis(t *testing.T) {
	srv := testenv.StartRedis(t)
	client := redis.NewClient(&redis.Options{Addr: srv.Addr, MaxRetries: -1})
	t.Cleanup(func() { client.Close() })

	a := admin.New(nil)
	a.SetChecks(admin.Check{Name: "store", Ping: func(ctx context.Context) error { return client.Ping(ctx).Err() }})

	for _, step := range []struct {
		name   string
		action func()
		want   int
	}{
		{"up", func() {}, 200},
		{"stopped", srv.Stop, 503},
		{"started again", srv.Start, 200},
	} {
		step.action()
		if code, body := get(t, a, "/readyz"); code != step.want {
			t.Fatalf("%s: /readyz = %d, want %d\n%s", step.name, code, step.want, body)
		}
	}
}

// The admin listener answers only requests that name it by a loopback
// name, an IP address or a configured name: a page that rebinds a name of
// its own to 127.0.0.1 is refused.
func TestHostAllowlist(t *testing.T) {
	a := admin.New(prometheus.NewRegistry())
	a.SetHosts("admin.internal", "Metrics.Example.")
	tests := []struct {
		host string
		want int
	}{
		{"localhost", 200},
		{"LOCALHOST:9090", 200},
		{"127.0.0.1:9090", 200},
		{"127.0.0.1", 200},
		{"[::1]:9090", 200},
		{"10.0.0.5:9090", 200},
		{"admin.internal:9090", 200},
		{"metrics.example", 200},
		{"attacker.example:9090", 421},
		{"rebind.attacker.example", 421},
		{"localhost.attacker.example", 421},
		{"127.0.0.1.nip.io:9090", 421},
		{"", 421},
	}
	for _, tt := range tests {
		for _, path := range []string{"/metrics", "/livez", "/readyz"} {
			r := httptest.NewRequest("GET", path, nil)
			r.Host = tt.host
			rec := httptest.NewRecorder()
			a.ServeHTTP(rec, r)
			if rec.Code != tt.want {
				t.Errorf("GET %s with Host %q = %d, want %d", path, tt.host, rec.Code, tt.want)
			}
			if tt.want == 421 && !strings.Contains(rec.Body.String(), "admin.hosts") {
				t.Errorf("refusal does not say what to do: %q", rec.Body.String())
			}
		}
	}
}
