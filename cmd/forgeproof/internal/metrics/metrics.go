// Package metrics exports forgeproof's verdicts as Prometheus metrics.
//
// A [Metrics] registers its collectors on the [prometheus.Registerer] it is
// given (never the global one), so that several gateways, or a gateway and
// its tests, each keep their own. Plug [Metrics.Observe] into
// [forgeproof.Config.OnDecision], wrap the token store with
// [Metrics.InstrumentStore] and the handler with [Metrics.Handler].
//
// # Metrics
//
//	forgeproof_requests_total{decision,reason}
//	    Verdicts. decision is "allow", "deny" or "report_only_deny" (a denial
//	    that report-only mode let through); reason is the stable name of the
//	    forgeproof.Reason, or "none" for allowed requests.
//	forgeproof_request_duration_seconds
//	    Time spent serving a request, proxying included.
//	forgeproof_tokens_issued_total{kind}
//	    Tokens handed out, by where they went: kind is "endpoint" (the
//	    token endpoint), "one_time" (the one-time token endpoint),
//	    "rotation" (a new token at a session change) or "injection" (a
//	    token inserted into an HTML page).
//	forgeproof_store_operations_total{op,result}
//	forgeproof_store_operation_duration_seconds{op}
//	    Token store calls: op is "get", "put", "take" or "delete"; result is
//	    "ok", "not_found" or "error".
//	forgeproof_alerts_total{rule}
//	    Alerts raised by the anomaly detector, by rule name.
//	forgeproof_alert_deliveries_total{result}
//	    Alert webhook deliveries: "delivered", "failed" (retries exhausted)
//	    or "dropped" (queue full).
//
// No label carries a path, an origin, a user or any other unbounded value.
package metrics

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/forgeproof/forgeproof"
	"github.com/prometheus/client_golang/prometheus"
)

// Decision label values of forgeproof_requests_total.
const (
	DecisionAllow          = "allow"
	DecisionDeny           = "deny"
	DecisionReportOnlyDeny = "report_only_deny"
)

// ReasonNone is the reason label value of allowed requests.
const ReasonNone = "none"

// Token kinds, the label values of forgeproof_tokens_issued_total. They
// are the values that the gateway passes to its OnTokenIssued hook.
const (
	TokenEndpoint  = "endpoint"
	TokenOneTime   = "one_time"
	TokenRotation  = "rotation"
	TokenInjection = "injection"
)

// tokenKinds are the kinds counted by [Metrics.TokenIssued], in the order
// of Metrics.tokenByKind.
var tokenKinds = [...]string{TokenEndpoint, TokenOneTime, TokenRotation, TokenInjection}

// Store operation and result label values.
const (
	OpGet    = "get"
	OpPut    = "put"
	OpTake   = "take"
	OpDelete = "delete"

	ResultOK       = "ok"
	ResultNotFound = "not_found"
	ResultError    = "error"
)

// Alert delivery results, the label values of
// forgeproof_alert_deliveries_total.
const (
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed"
	DeliveryDropped   = "dropped"
)

// Names lists the name of every metric family that a [Metrics] exports.
var Names = []string{
	"forgeproof_requests_total",
	"forgeproof_request_duration_seconds",
	"forgeproof_tokens_issued_total",
	"forgeproof_store_operations_total",
	"forgeproof_store_operation_duration_seconds",
	"forgeproof_alerts_total",
	"forgeproof_alert_deliveries_total",
}

// numReasons is the number of reasons including ReasonNone.
var numReasons = len(forgeproof.Reasons()) + 1

var storeOps = [...]string{OpGet, OpPut, OpTake, OpDelete}

const (
	opGet = iota
	opPut
	opTake
	opDelete
)

const (
	resOK = iota
	resNotFound
	resError
)

// Metrics holds forgeproof's collectors. Its methods are safe for
// concurrent use.
type Metrics struct {
	requests *prometheus.CounterVec
	// byVerdict holds the children of requests, created up front so that
	// Observe allocates nothing: [decision][reason].
	byVerdict [3][]prometheus.Counter

	duration prometheus.Histogram

	tokens      *prometheus.CounterVec
	tokenByKind [len(tokenKinds)]prometheus.Counter

	storeOpsVec *prometheus.CounterVec
	storeCount  [len(storeOps)][3]prometheus.Counter
	storeDur    [len(storeOps)]prometheus.Observer

	alerts     *prometheus.CounterVec
	deliveries *prometheus.CounterVec
}

// New creates the collectors and registers them on reg. It fails if any of
// them is already registered there.
func New(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "forgeproof_requests_total",
			Help: "Requests seen by forgeproof, by decision (allow, deny, report_only_deny) and reason.",
		}, []string{"decision", "reason"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "forgeproof_request_duration_seconds",
			Help:    "Time to serve a request through forgeproof, upstream included.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "forgeproof_tokens_issued_total",
			Help: "Anti-CSRF tokens issued, by kind (endpoint, one_time, rotation, injection).",
		}, []string{"kind"}),
		storeOpsVec: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "forgeproof_store_operations_total",
			Help: "Token store operations, by operation and result (ok, not_found, error).",
		}, []string{"op", "result"}),
		alerts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "forgeproof_alerts_total",
			Help: "Alerts raised by the anomaly detector, by rule.",
		}, []string{"rule"}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "forgeproof_alert_deliveries_total",
			Help: "Alert webhook deliveries, by result (delivered, failed, dropped).",
		}, []string{"result"}),
	}
	storeDur := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "forgeproof_store_operation_duration_seconds",
		Help:    "Latency of token store operations, by operation.",
		Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1},
	}, []string{"op"})

	for _, c := range []prometheus.Collector{m.requests, m.duration, m.tokens, m.storeOpsVec, storeDur, m.alerts, m.deliveries} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}

	for d, name := range [...]string{DecisionAllow, DecisionDeny, DecisionReportOnlyDeny} {
		m.byVerdict[d] = make([]prometheus.Counter, numReasons)
		for r := range numReasons {
			if d == 0 && r != 0 || d != 0 && r == 0 {
				continue // allowed requests have no reason, denied ones always do
			}
			m.byVerdict[d][r] = m.requests.WithLabelValues(name, reasonLabel(forgeproof.Reason(r)))
		}
	}
	for i, kind := range tokenKinds {
		m.tokenByKind[i] = m.tokens.WithLabelValues(kind)
	}
	for i, op := range storeOps {
		for j, res := range [...]string{ResultOK, ResultNotFound, ResultError} {
			m.storeCount[i][j] = m.storeOpsVec.WithLabelValues(op, res)
		}
		m.storeDur[i] = storeDur.WithLabelValues(op)
	}
	for _, res := range [...]string{DeliveryDelivered, DeliveryFailed, DeliveryDropped} {
		m.deliveries.WithLabelValues(res)
	}
	return m, nil
}

// reasonLabel returns the reason label value for r.
func reasonLabel(r forgeproof.Reason) string {
	if r == forgeproof.ReasonNone {
		return ReasonNone
	}
	return r.String()
}

// Observe counts one verdict. It has the signature of
// [forgeproof.Config.OnDecision] and allocates nothing.
func (m *Metrics) Observe(e forgeproof.Event) {
	d := 0
	if e.Decision == forgeproof.Denied {
		d = 1
		if e.ReportOnly {
			d = 2
		}
	}
	r := int(e.Reason)
	if d == 0 {
		r = 0
	}
	if r < numReasons {
		if c := m.byVerdict[d][r]; c != nil {
			c.Inc()
			return
		}
	}
	// A reason newer than this package, or a denial without a reason:
	// label it as the library names it.
	name := [...]string{DecisionAllow, DecisionDeny, DecisionReportOnlyDeny}[d]
	m.requests.WithLabelValues(name, reasonLabel(e.Reason)).Inc()
}

// ObserveDuration records the time taken to serve one request.
func (m *Metrics) ObserveDuration(d time.Duration) {
	m.duration.Observe(d.Seconds())
}

// Handler wraps h so that the time it takes to serve every request is
// recorded in forgeproof_request_duration_seconds.
func (m *Metrics) Handler(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		h.ServeHTTP(w, r)
		m.duration.Observe(time.Since(start).Seconds())
	})
}

// TokenIssued counts one token handed out; kind is [TokenEndpoint],
// [TokenOneTime], [TokenRotation] or [TokenInjection]. Any other kind is
// not counted, so that the label keeps its small fixed set of values. It
// fits gateway.Options.OnTokenIssued.
func (m *Metrics) TokenIssued(kind string) {
	for i, k := range tokenKinds {
		if k == kind {
			m.tokenByKind[i].Inc()
			return
		}
	}
}

// AlertRaised counts one alert of the named rule. Rule names come from the
// anomaly detector and form a small fixed set.
func (m *Metrics) AlertRaised(rule string) {
	m.alerts.WithLabelValues(rule).Inc()
}

// AlertDelivery counts one outcome of an alert webhook delivery: one of
// [DeliveryDelivered], [DeliveryFailed] or [DeliveryDropped].
func (m *Metrics) AlertDelivery(result string) {
	m.deliveries.WithLabelValues(result).Inc()
}

// InstrumentStore returns a [forgeproof.Store] that forwards every call to s
// and records its outcome and latency.
func (m *Metrics) InstrumentStore(s forgeproof.Store) forgeproof.Store {
	return &store{s: s, m: m}
}

type store struct {
	s forgeproof.Store
	m *Metrics
}

func (s *store) record(op int, start time.Time, err error) {
	s.m.storeDur[op].Observe(time.Since(start).Seconds())
	res := resOK
	switch {
	case err == nil:
	case errors.Is(err, forgeproof.ErrNotFound):
		res = resNotFound
	default:
		res = resError
	}
	s.m.storeCount[op][res].Inc()
}

func (s *store) Get(ctx context.Context, key string) ([]byte, error) {
	start := time.Now()
	v, err := s.s.Get(ctx, key)
	s.record(opGet, start, err)
	return v, err
}

func (s *store) Put(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	start := time.Now()
	err := s.s.Put(ctx, key, value, ttl)
	s.record(opPut, start, err)
	return err
}

func (s *store) Take(ctx context.Context, key string) ([]byte, error) {
	start := time.Now()
	v, err := s.s.Take(ctx, key)
	s.record(opTake, start, err)
	return v, err
}

func (s *store) Delete(ctx context.Context, key string) error {
	start := time.Now()
	err := s.s.Delete(ctx, key)
	s.record(opDelete, start, err)
	return err
}
