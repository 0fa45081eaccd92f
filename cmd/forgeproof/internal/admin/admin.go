// Package admin serves the gateway's operational endpoints on a listener of
// their own, apart from the proxied traffic, so that they can never shadow a
// backend path and can stay on loopback:
//
//   - GET /livez answers 200 while the process runs. It checks nothing
//     else: a failing liveness probe gets the process restarted.
//   - GET /readyz answers 200 when the gateway should receive traffic, and
//     503 while it drains for shutdown or while a readiness check (such as
//     a ping of a required token store) fails. The body lists each check.
//   - GET /metrics serves the Prometheus registry the Admin was given.
//
// More handlers (a dashboard) are mounted with [Admin.Handle].
//
// The listener answers only requests whose Host is a loopback name
// (localhost), an IP address, or a name given to [Admin.SetHosts]; any
// other Host is refused with 421 Misdirected Request. A web page that an
// operator opens cannot then reach the admin endpoints by DNS rebinding
// (pointing a name of its own at 127.0.0.1): the browser sends that name
// as the Host. An IP address is safe to accept, since no page but one
// served from that very address makes the browser send it.
package admin

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// CheckTimeout bounds each readiness check.
const CheckTimeout = 2 * time.Second

// A Pinger is a dependency whose reachability decides readiness, such as a
// shared token store. A store that implements it is checked by /readyz.
type Pinger interface {
	Ping(ctx context.Context) error
}

// A Check is one readiness check.
type Check struct {
	// Name labels the check in the /readyz body, such as "store".
	Name string
	// Ping returns nil when the dependency is reachable.
	Ping func(ctx context.Context) error
}

// Admin is the admin listener's handler. Its methods are safe for
// concurrent use.
type Admin struct {
	mux      *http.ServeMux
	draining atomic.Bool
	checks   atomic.Pointer[[]Check]
	hosts    atomic.Pointer[map[string]bool] // lower case, without port
	mu       sync.Mutex                      // serializes Handle
}

// New returns an Admin serving /livez, /readyz and, if g is not nil,
// /metrics from g.
func New(g prometheus.Gatherer) *Admin {
	a := &Admin{mux: http.NewServeMux()}
	a.checks.Store(&[]Check{})
	a.hosts.Store(&map[string]bool{})
	a.mux.HandleFunc("GET /livez", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		fmt.Fprintln(w, "ok")
	})
	a.mux.HandleFunc("GET /readyz", a.readyz)
	if g != nil {
		a.mux.Handle("GET /metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{}))
	}
	return a
}

// Handle mounts h at pattern (a [http.ServeMux] pattern), beside the
// built-in endpoints.
func (a *Admin) Handle(pattern string, h http.Handler) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.mux.Handle(pattern, h)
}

// SetDraining marks the process as shutting down (or not): /readyz then
// answers 503 whatever the checks say.
func (a *Admin) SetDraining(draining bool) { a.draining.Store(draining) }

// SetChecks replaces the readiness checks, as a configuration reload does.
func (a *Admin) SetChecks(checks ...Check) {
	c := append([]Check(nil), checks...)
	a.checks.Store(&c)
}

// Ready runs every readiness check and reports whether the process is
// ready, with one line per check ("draining", "store ok",
// "store: dial tcp …").
func (a *Admin) Ready(ctx context.Context) (bool, []string) {
	ready := true
	var lines []string
	if a.draining.Load() {
		ready = false
		lines = append(lines, "draining: shutting down")
	}
	checks := *a.checks.Load()
	errs := make([]error, len(checks))
	var wg sync.WaitGroup
	for i, c := range checks {
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, CheckTimeout)
			defer cancel()
			errs[i] = c.Ping(cctx)
		})
	}
	wg.Wait()
	for i, c := range checks {
		if errs[i] != nil {
			ready = false
			lines = append(lines, c.Name+": "+strings.ReplaceAll(errs[i].Error(), "\n", " "))
		} else {
			lines = append(lines, c.Name+": ok")
		}
	}
	return ready, lines
}

func (a *Admin) readyz(w http.ResponseWriter, r *http.Request) {
	ready, lines := a.Ready(r.Context())
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if !ready {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, "not ready")
	} else {
		fmt.Fprintln(w, "ready")
	}
	for _, l := range lines {
		fmt.Fprintln(w, l)
	}
}

// SetHosts replaces the host names, besides localhost and IP addresses,
// that requests may name in their Host header (without port, compared
// without regard to case), such as the name a Prometheus server scrapes
// the admin listener by. It is safe to call while serving, as a
// configuration reload does.
func (a *Admin) SetHosts(names ...string) {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[strings.ToLower(strings.TrimSuffix(n, "."))] = true
	}
	a.hosts.Store(&m)
}

// allowedHost reports whether a request with this Host header may be
// served: localhost, an IP address, or a name given to SetHosts.
func (a *Admin) allowedHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if host == "" {
		return false
	}
	if host == "localhost" || (*a.hosts.Load())[host] {
		return true
	}
	_, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"))
	return err == nil
}

// ServeHTTP serves the admin endpoints to requests whose Host is allowed
// (see the package documentation), and answers others with 421.
func (a *Admin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !a.allowedHost(r.Host) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusMisdirectedRequest)
		fmt.Fprintln(w, "forgeproof admin: this Host is not an admin name; reach the admin listener by localhost or an IP address, or list its name in admin.hosts")
		return
	}
	a.mux.ServeHTTP(w, r)
}
