// Package server runs the gateway process: it loads the configuration,
// builds the gateway, serves it over HTTP or HTTPS beside the admin
// listener, reloads the configuration on request and shuts down gracefully.
//
// # Lifecycle
//
// [Run] loads the configuration with [Options.Load], builds the token
// store, the library and the gateway, and starts both listeners. A value on
// [Options.Reload] (SIGHUP in "forgeproof serve") loads the configuration
// again: if it is valid, a new gateway is built and swapped in atomically,
// so requests in flight finish on the old one and no connection is
// dropped; if not, every problem is logged and the old gateway keeps
// serving. Settings that belong to the listeners (addresses, TLS mode, log
// format, server timeouts) need a restart; a reload that changes them logs
// a warning naming them. When the context ends, /readyz reports draining,
// the listeners stop accepting, and requests in flight get up to
// limits.shutdown_timeout to finish.
//
// # Logs
//
// Logs are JSON (or text) lines from log/slog with snake_case keys. Every
// refused request is logged once, at level info, from the library's
// decision event: reason, method, path, route, origin, referer_origin,
// sec_fetch_site, client_addr and report_only. No token, cookie or session
// value is ever logged.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"

	"github.com/forgeproof/forgeproof"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/admin"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/config"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/gateway"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/metrics"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/monitor"
	"github.com/forgeproof/forgeproof/redisstore"
)

// memoryStoreEntries bounds the in-memory token store.
const memoryStoreEntries = 1 << 20

// Options configure [Run].
type Options struct {
	// Load returns the configuration, validated. It is called at start and
	// on every reload. Required.
	Load func() (*config.Config, error)

	// Reload triggers a reload each time it receives a value. If nil,
	// the configuration is never reloaded.
	Reload <-chan struct{}

	// Log receives the log lines. If nil, os.Stderr is not assumed:
	// nothing is logged.
	Log io.Writer

	// Registry receives the metrics and is served on /metrics. If nil, a
	// new registry with the Go and process collectors is used.
	Registry *prometheus.Registry

	// Admin, if set, is called with the admin handler before the admin
	// listener starts, to mount more handlers on it.
	Admin func(*admin.Admin)

	// Started, if set, is called once both listeners accept connections,
	// with their base URLs, such as "https://127.0.0.1:8443" and
	// "http://127.0.0.1:9090" (useful with port 0).
	Started func(url, adminURL string)

	// SelfSigned, if set, is called with the SHA-256 fingerprint of the
	// throwaway certificate when tls.self_signed makes one, so that a
	// command can print it for comparison with what the browser shows.
	SelfSigned func(fingerprint string)

	// Reloaded, if set, is called after every reload attempt with its
	// outcome: nil, or the error that kept the old configuration.
	Reloaded func(error)
}

// Run runs the gateway until ctx ends, then shuts it down gracefully. It
// returns an error when the first configuration cannot be loaded or a
// listener fails; the error from Load is returned as is, so that a caller
// can list a [config.ErrorList].
func Run(ctx context.Context, opts Options) error {
	cfg, err := opts.Load()
	if err != nil {
		return err
	}
	logOut := opts.Log
	if logOut == nil {
		logOut = io.Discard
	}
	level := new(slog.LevelVar)
	level.Set(logLevel(cfg.Log.Level))
	log := newLogger(logOut, cfg.Log.Format, level)

	reg := opts.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	m, err := metrics.New(reg)
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}

	// go-redis logs its reconnection attempts on its own global logger;
	// /readyz and the store-unavailable refusals already report an outage.
	redis.SetLogger(redisLogger{log})

	s := &server{log: log, level: level, metrics: m, stores: map[string]*storeEntry{}}
	defer s.closeStores()
	gw, err := s.build(cfg)
	if err != nil {
		return err
	}
	s.cfg.Store(cfg)
	s.warn(cfg)
	s.gw.Store(gw)

	adm := admin.New(reg)
	stopMonitor, err := s.startMonitor(cfg, adm)
	if err != nil {
		return fmt.Errorf("monitor: %w", err)
	}
	defer stopMonitor()
	adm.SetChecks(s.checks(cfg)...)
	adm.SetHosts(adminHosts(cfg)...)
	if opts.Admin != nil {
		opts.Admin(adm)
	}

	tlsConf, err := s.tlsConfig(cfg, opts.SelfSigned)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	adminLn, err := net.Listen("tcp", cfg.Admin.Addr)
	if err != nil {
		ln.Close()
		return fmt.Errorf("admin listener on %s: %w", cfg.Admin.Addr, err)
	}

	errorLog := slog.NewLogLogger(log.Handler(), slog.LevelWarn)
	srv := &http.Server{
		Handler:           m.Handler(http.HandlerFunc(s.serveHTTP)),
		ReadHeaderTimeout: cfg.Limits.ReadHeaderTimeout,
		// Bounds a slow body too; a WebSocket is not cut, since a
		// hijacked connection loses the server's deadlines.
		ReadTimeout: cfg.Limits.ReadTimeout,
		IdleTimeout: cfg.Limits.IdleTimeout,
		// A little room above the gateway's own bound, so that the gateway
		// answers 431 with a problem body rather than the server's plain
		// text.
		MaxHeaderBytes: cfg.Limits.MaxHeaderBytes + 4096,
		ErrorLog:       errorLog,
		TLSConfig:      tlsConf,
	}
	adminSrv := &http.Server{
		Handler:           adm,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          errorLog,
	}

	serveErr := make(chan error, 2)
	go func() {
		if tlsConf != nil {
			serveErr <- srv.ServeTLS(ln, "", "") // the certificate comes from tlsConf
		} else {
			serveErr <- srv.Serve(ln)
		}
	}()
	go func() { serveErr <- adminSrv.Serve(adminLn) }()
	scheme := "http"
	if tlsConf != nil {
		scheme = "https"
	}
	log.Info("serving", "addr", ln.Addr().String(), "scheme", scheme,
		"admin_addr", adminLn.Addr().String(), "upstreams", len(cfg.Upstreams), "routes", len(cfg.Routes))
	if opts.Started != nil {
		opts.Started(scheme+"://"+ln.Addr().String(), "http://"+adminLn.Addr().String())
	}

	var runErr error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case err := <-serveErr:
			runErr = err
			break loop
		case <-opts.Reload:
			err := s.reload(opts.Load, adm)
			if opts.Reloaded != nil {
				opts.Reloaded(err)
			}
		}
	}

	adm.SetDraining(true)
	timeout := s.cfg.Load().Limits.ShutdownTimeout
	log.Info("shutting down", "timeout", timeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("requests still in flight at the shutdown timeout were cut", "error", err.Error())
		srv.Close()
	}
	adminSrv.Close()
	log.Info("stopped")
	if runErr != nil && !errors.Is(runErr, http.ErrServerClosed) {
		return runErr
	}
	return nil
}

// server is the state that outlives a configuration.
type server struct {
	log     *slog.Logger
	level   *slog.LevelVar
	metrics *metrics.Metrics
	monitor *monitor.Monitor // the anomaly detector (monitor.go)

	cfg atomic.Pointer[config.Config]
	gw  atomic.Pointer[gateway.Gateway]

	// cert is the certificate served, replaced on reload when read from
	// files.
	cert atomic.Pointer[tls.Certificate]

	mu         sync.Mutex
	stores     map[string]*storeEntry // by store URL
	randomKeys *forgeproof.KeyRing    // while no keys are configured
	retired    []*storeEntry          // replaced by a reload, closing soon
}

// A storeEntry is a token store, kept across reloads while its URL stays.
type storeEntry struct {
	store forgeproof.Store
	// ping is set when the store is shared and so decides readiness.
	ping  func(context.Context) error
	close func() error
}

func (s *server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	s.gw.Load().ServeHTTP(w, r)
}

// build makes the store (or reuses it), the library configuration and the
// gateway for cfg.
func (s *server) build(cfg *config.Config) (*gateway.Gateway, error) {
	st, err := s.store(cfg.Store.Value())
	if err != nil {
		return nil, err
	}
	lib, err := cfg.Library(s.metrics.InstrumentStore(st.store))
	if err != nil {
		return nil, err
	}
	if lib.Keys == nil {
		// Without configured keys the library would make a new random key
		// for each Protection, and a reload would invalidate every token:
		// make one for the life of the process instead.
		if lib.Keys, err = s.processKeys(); err != nil {
			return nil, err
		}
	}
	lib.OnDecision = s.onDecision
	lib.ErrorLog = slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)
	opts, err := cfg.Gateway(lib)
	if err != nil {
		return nil, err
	}
	opts.Logger = s.log
	opts.OnTokenIssued = s.metrics.TokenIssued
	gw, err := gateway.New(opts)
	if err != nil {
		return nil, err
	}
	s.logOperations(cfg)
	return gw, nil
}

// logOperations logs the OpenAPI description's operations once compiled,
// with every rule inferred rather than declared.
func (s *server) logOperations(cfg *config.Config) {
	ops := cfg.OperationRoutes()
	if ops == nil {
		return
	}
	for _, or := range ops {
		op := or.Operation
		if or.Configured >= 0 || strings.HasPrefix(or.From, "routes[") {
			s.log.Info("openapi operation governed by a configured route", "operation", op.Pattern, "route", or.From)
			continue
		}
		for _, inf := range op.Inferred {
			s.log.Info("openapi rule inferred", "operation", op.Pattern, "key", inf.Key, "why", inf.Why)
		}
	}
	s.log.Info("openapi description compiled", "file", cfg.OpenAPI.File, "operations", len(ops), "unknown_paths", cfg.OpenAPI.UnknownPaths)
}

// processKeys returns the random key ring used while the configuration
// names no keys, made on first use.
func (s *server) processKeys() (*forgeproof.KeyRing, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.randomKeys == nil {
		ring, err := forgeproof.NewKeyRing(forgeproof.GenerateKey())
		if err != nil {
			return nil, err
		}
		s.randomKeys = ring
		s.log.Warn("no protection.keys configured: tokens are signed with a random key that does not survive a restart and is not shared with other instances",
			"hint", `set protection.keys to a key from "forgeproof keygen"`)
	}
	return s.randomKeys, nil
}

// store returns the store for url, opening it on first use.
func (s *server) store(url string) (*storeEntry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.stores[url]; ok {
		return e, nil
	}
	var st forgeproof.Store
	if url == config.DefaultStore {
		st = forgeproof.NewMemoryStore(memoryStoreEntries)
	} else {
		rs, err := redisstore.Open(url, redisstore.Options{})
		if err != nil {
			// The error may quote the URL, and with it a password.
			return nil, errors.New("store: cannot open the redis URL: check its form")
		}
		st = rs
	}
	// A store that can be pinged is shared, so readiness depends on it; a
	// store that holds connections is closed when done.
	e := &storeEntry{store: st}
	if p, ok := st.(admin.Pinger); ok {
		e.ping = p.Ping
	}
	if c, ok := st.(io.Closer); ok {
		e.close = c.Close
	}
	s.stores[url] = e
	return e, nil
}

// checks returns the readiness checks of cfg.
func (s *server) checks(cfg *config.Config) []admin.Check {
	e, err := s.store(cfg.Store.Value())
	if err != nil || e.ping == nil {
		return nil
	}
	return []admin.Check{{Name: "store", Ping: e.ping}}
}

// closeStores closes every store opened, at exit.
func (s *server) closeStores() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.stores {
		if e.close != nil {
			e.close()
		}
	}
	for _, e := range s.retired {
		e.close()
	}
	s.retired = nil
}

// retireStores takes out of use every store but the one at keep, after a
// reload. A shared store is closed after grace, when the requests that the
// previous gateway was serving with it are done.
func (s *server) retireStores(keep string, grace time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for url, e := range s.stores {
		if url == keep {
			continue
		}
		delete(s.stores, url)
		if e.close == nil {
			continue
		}
		s.retired = append(s.retired, e)
		time.AfterFunc(grace, func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			if i := slices.Index(s.retired, e); i >= 0 {
				s.retired = slices.Delete(s.retired, i, i+1)
				e.close()
			}
		})
	}
}

// reload loads the configuration again and swaps in a new gateway, or
// logs why not and keeps the old one.
func (s *server) reload(load func() (*config.Config, error), adm *admin.Admin) error {
	s.log.Info("reloading the configuration")
	defer func() {
		cur := s.cfg.Load()
		s.retireStores(cur.Store.Value(), cur.Limits.ShutdownTimeout)
	}()
	cfg, err := load()
	if err == nil {
		var gw *gateway.Gateway
		if gw, err = s.build(cfg); err == nil {
			if cfg.TLS.Cert != "" && s.cert.Load() != nil {
				err = s.loadCert(cfg)
			}
			if err == nil {
				old := s.cfg.Load()
				s.gw.Store(gw)
				s.cfg.Store(cfg)
				s.warn(cfg)
				s.level.Set(logLevel(cfg.Log.Level))
				adm.SetChecks(s.checks(cfg)...)
				adm.SetHosts(adminHosts(cfg)...)
				if fixed := restartOnly(old, cfg); len(fixed) > 0 {
					s.log.Warn("some changed settings apply only after a restart", "keys", fixed)
				}
				s.log.Info("configuration reloaded", "upstreams", len(cfg.Upstreams), "routes", len(cfg.Routes))
				return nil
			}
		}
	}
	var list config.ErrorList
	if errors.As(err, &list) {
		for _, e := range list {
			s.log.Error("configuration problem", "problem", e.Error())
		}
	} else {
		s.log.Error("configuration problem", "problem", err.Error())
	}
	s.log.Error("reload refused: the previous configuration keeps serving")
	return err
}

// warn logs the risky settings of cfg, one line each.
func (s *server) warn(cfg *config.Config) {
	for _, w := range cfg.Warnings() {
		s.log.Warn("configuration warning", "warning", w.Error())
	}
}

// restartOnly lists the keys whose change a reload cannot apply.
func restartOnly(old, cur *config.Config) []string {
	var keys []string
	check := func(changed bool, key string) {
		if changed {
			keys = append(keys, key)
		}
	}
	check(old.Addr != cur.Addr, "addr")
	check(old.Admin.Addr != cur.Admin.Addr, "admin.addr")
	check(old.TLS.SelfSigned != cur.TLS.SelfSigned || (old.TLS.Cert == "") != (cur.TLS.Cert == ""), "tls")
	check(old.Log.Format != cur.Log.Format, "log.format")
	check(old.Limits.ReadHeaderTimeout != cur.Limits.ReadHeaderTimeout, "limits.read_header_timeout")
	check(old.Limits.ReadTimeout != cur.Limits.ReadTimeout, "limits.read_timeout")
	check(old.Limits.IdleTimeout != cur.Limits.IdleTimeout, "limits.idle_timeout")
	check(old.Limits.MaxHeaderBytes != cur.Limits.MaxHeaderBytes, "limits.max_header_bytes")
	check(old.Monitor.WebhookURL.Value() != cur.Monitor.WebhookURL.Value(), "monitor.webhook_url")
	check(old.Monitor.Window != cur.Monitor.Window, "monitor.window")
	check(old.Monitor.OriginThreshold != cur.Monitor.OriginThreshold, "monitor.origin_threshold")
	check(old.Monitor.ReasonThreshold != cur.Monitor.ReasonThreshold, "monitor.reason_threshold")
	check(old.Monitor.TotalThreshold != cur.Monitor.TotalThreshold, "monitor.total_threshold")
	return keys
}

// onDecision logs every refusal, and counts every verdict.
func (s *server) onDecision(e forgeproof.Event) {
	s.metrics.Observe(e)
	if s.monitor != nil {
		s.monitor.Observe(e)
	}
	if e.Decision != forgeproof.Denied {
		return
	}
	msg := "request refused"
	if e.ReportOnly {
		msg = "request would be refused (report-only)"
	}
	s.log.LogAttrs(context.Background(), slog.LevelInfo, msg,
		slog.String("reason", e.Reason.String()),
		slog.String("method", e.Method),
		slog.String("path", e.Path),
		slog.String("route", e.Route),
		slog.String("origin", e.Origin),
		slog.String("referer_origin", e.RefererOrigin),
		slog.String("sec_fetch_site", e.SecFetchSite),
		slog.String("client_addr", e.RemoteAddr),
		slog.Bool("report_only", e.ReportOnly),
	)
}

// redisLogger writes go-redis's messages to the log at debug level.
type redisLogger struct{ log *slog.Logger }

func (l redisLogger) Printf(ctx context.Context, format string, v ...any) {
	l.log.Debug("redis client: " + fmt.Sprintf(format, v...))
}

func logLevel(s string) slog.Level {
	var l slog.Level
	l.UnmarshalText([]byte(s)) // validated by config
	return l
}

func newLogger(w io.Writer, format string, level *slog.LevelVar) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// adminHosts returns the host names the admin listener answers besides
// localhost and IP addresses: admin.hosts and the host of admin.addr.
func adminHosts(cfg *config.Config) []string {
	hosts := slices.Clone(cfg.Admin.Hosts)
	if h, _, err := net.SplitHostPort(cfg.Admin.Addr); err == nil && h != "" {
		hosts = append(hosts, h)
	}
	return hosts
}
