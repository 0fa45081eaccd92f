// Package monitor watches forgeproof's verdicts for attacks and raises
// alerts.
//
// A [Monitor] counts every verdict it is given through [Monitor.Observe]
// (plug it into forgeproof.Config.OnDecision) in time buckets (10 seconds by
// default) and keeps an hour of them for the dashboard. Over a sliding
// window (a minute by default) it applies three rules:
//
//   - "origin-rejections": one origin (the Origin header, else the
//     Referer's origin, else "(none)") had at least OriginThreshold
//     requests rejected.
//   - "reason-spike": one reason (such as header-missing or token-invalid)
//     rejected at least max(ReasonThreshold, SpikeFactor × its baseline)
//     requests, where the baseline is an exponentially weighted moving
//     average of the reason's rejections per window (it learns ten times
//     more slowly while the alert is active, so that an attack does not
//     quickly become the norm).
//   - "rejection-burst": all rejections together reached
//     max(BurstThreshold, SpikeFactor × their baseline).
//
// An alert is raised once when its count reaches the threshold and cleared
// once when the count falls to ClearRatio × the threshold or below
// (hysteresis),
// so a sustained attack yields one alert, not one per request. Raising and
// clearing each log a line (WARN and INFO) on the [slog.Logger], call
// OnAlert, and queue a JSON POST to the webhook; the queue is bounded, and a
// full queue drops the alert (counted through OnDelivery) rather than slow
// a request.
//
// # Memory
//
// Origins are attacker-chosen, so at most MaxOrigins of them are tracked.
// When the table is full, a new origin replaces the tracked origin with the
// fewest rejections in the window among a few sampled at random (origins
// under an active alert are never replaced). The origins not under alert
// are kept in a dense list apart, so that choosing the one to replace costs
// the same few steps however full the table and however many of its
// origins are alerting; when all are, a new origin is not tracked, at the
// cost of one check. A heavy hitter is therefore
// rarely evicted, and an attack spread over millions of origins, which no
// single-origin rule can see, still trips "rejection-burst". Origin strings
// longer than 256 bytes are truncated.
package monitor

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/forgeproof/forgeproof"
)

// Rule names, as they appear in alerts and in the forgeproof_alerts_total
// metric.
const (
	RuleOriginRejections = "origin-rejections"
	RuleReasonSpike      = "reason-spike"
	RuleRejectionBurst   = "rejection-burst"
)

// Alert states.
const (
	StatusFiring   = "firing"
	StatusResolved = "resolved"
)

// NoOrigin is the origin key of rejected requests that named no origin.
const NoOrigin = "(none)"

const (
	maxOriginLen  = 256
	evictSamples  = 8
	recentAlerts  = 50
	history       = time.Hour
	defaultBucket = 10 * time.Second
)

// Options configure a [Monitor]. The zero value of every field selects the
// default given in its documentation.
type Options struct {
	// Bucket is the time resolution of the counters. Default 10s.
	Bucket time.Duration
	// Window is the number of buckets over which the rules count. Default
	// 6 (a minute with 10s buckets).
	Window int

	// OriginThreshold is the number of rejections from one origin within
	// the window that raises "origin-rejections". Default 50.
	OriginThreshold int
	// ReasonThreshold is the least number of rejections for one reason
	// within the window that raises "reason-spike". Default 30.
	ReasonThreshold int
	// BurstThreshold is the least number of rejections within the window
	// that raises "rejection-burst". Default 300.
	BurstThreshold int
	// SpikeFactor multiplies the learned baseline to give the threshold of
	// "reason-spike" and "rejection-burst" when that is higher than the
	// absolute one. Default 4.
	SpikeFactor float64
	// BaselineAlpha is the weight of the newest bucket in the moving
	// average. Default 0.05.
	BaselineAlpha float64
	// ClearRatio sets the hysteresis: an alert clears when its count falls
	// to ClearRatio × the threshold it was raised at, or below. Default
	// 0.5; it must be below 1.
	ClearRatio float64

	// MaxOrigins bounds the number of origins tracked. Default 10000.
	MaxOrigins int

	// WebhookURL, if set, receives every alert as a JSON POST.
	WebhookURL string
	// WebhookTimeout bounds each delivery attempt. Default 5s.
	WebhookTimeout time.Duration
	// QueueSize bounds the alerts waiting for delivery. Default 256.
	QueueSize int
	// MaxAttempts is how many times a delivery is tried before it is given
	// up. Default 5.
	MaxAttempts int
	// RetryBackoff is the wait before the first retry; each retry waits
	// twice as long as the previous one. Default 500ms.
	RetryBackoff time.Duration
	// Client sends the webhook requests. Default: a client with no
	// redirects followed.
	Client *http.Client

	// Logger receives a WARN line per alert raised and an INFO line per
	// alert cleared. Default slog.Default().
	Logger *slog.Logger
	// OnAlert, if set, is called for every alert raised or cleared, such
	// as to count it in a metric. It must not block.
	OnAlert func(Alert)
	// OnDelivery, if set, is called with "delivered", "failed" or
	// "dropped" for each webhook delivery outcome.
	OnDelivery func(result string)

	// Now returns the current time. Default time.Now.
	Now func() time.Time
}

// An Alert is raised when a rule trips and sent again, with Status
// "resolved", when it clears. It carries no token, cookie or user.
type Alert struct {
	ID        string     `json:"id"`
	Status    string     `json:"status"`
	Rule      string     `json:"rule"`
	Origin    string     `json:"origin,omitempty"` // for origin-rejections
	Reason    string     `json:"reason,omitempty"` // for reason-spike
	Count     int        `json:"count"`            // rejections in the window when raised or cleared
	Threshold int        `json:"threshold"`
	Baseline  float64    `json:"baseline"` // learned rejections per window
	Window    int        `json:"window_seconds"`
	StartedAt time.Time  `json:"started_at"`
	EndedAt   *time.Time `json:"ended_at,omitempty"`
	Summary   string     `json:"summary"`
}

// numReasons counts the reasons including ReasonNone.
var numReasons = len(forgeproof.Reasons()) + 1

// slot holds the counts of one bucket.
type slot struct {
	n          int64 // bucket number (time / Bucket); -1 when unused
	allowed    uint32
	reportOnly uint32
	rejected   uint32
	reasons    []uint32 // by forgeproof.Reason
}

// originStat tracks one origin.
type originStat struct {
	win    []uint32 // rejections per bucket of the window, by bucket number mod Window
	stamp  []int64  // bucket number of each win entry
	hour   [6]uint32
	hourAt [6]int64 // 10-minute period of each hour entry
	alert  *active
	key    string
	calm   int // index in Monitor.calm; -1 while under alert
}

// active is an alert that has been raised and not yet cleared.
type active struct {
	alert Alert
}

// Monitor counts verdicts and raises alerts. Its methods are safe for
// concurrent use.
type Monitor struct {
	o        Options
	bucketNs int64

	mu       sync.Mutex
	cur      int64 // current bucket number
	slots    []slot
	origins  map[string]*originStat
	alerting map[string]*originStat // origins under an active alert
	calm     []*originStat          // origins not under alert, the candidates for eviction

	reasonBase   []float64
	reasonActive []*active
	burstBase    float64
	burstActive  *active

	recent []Alert // ring of the last alerts, oldest first
	seq    uint64

	queue  chan Alert
	cancel context.CancelFunc
	done   sync.WaitGroup
}

// New returns a Monitor and starts its background work: a ticker that
// rolls the buckets (so alerts clear when traffic stops) and, with a
// WebhookURL, the delivery worker. Stop both with [Monitor.Close].
func New(o Options) (*Monitor, error) {
	defaultTo(&o.Bucket, defaultBucket)
	defaultTo(&o.Window, 6)
	defaultTo(&o.OriginThreshold, 50)
	defaultTo(&o.ReasonThreshold, 30)
	defaultTo(&o.BurstThreshold, 300)
	defaultTo(&o.SpikeFactor, 4)
	defaultTo(&o.BaselineAlpha, 0.05)
	defaultTo(&o.ClearRatio, 0.5)
	defaultTo(&o.MaxOrigins, 10000)
	defaultTo(&o.WebhookTimeout, 5*time.Second)
	defaultTo(&o.QueueSize, 256)
	defaultTo(&o.MaxAttempts, 5)
	defaultTo(&o.RetryBackoff, 500*time.Millisecond)
	if o.Client == nil {
		o.Client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	var errs []string
	switch {
	case o.Bucket < time.Second:
		errs = append(errs, "Bucket must be at least 1s")
	case o.Window < 1 || time.Duration(o.Window)*o.Bucket > history:
		errs = append(errs, "Window must cover between one bucket and an hour")
	}
	if o.OriginThreshold < 1 || o.ReasonThreshold < 1 || o.BurstThreshold < 1 {
		errs = append(errs, "thresholds must be positive")
	}
	if o.SpikeFactor < 1 {
		errs = append(errs, "SpikeFactor must be at least 1")
	}
	if o.BaselineAlpha <= 0 || o.BaselineAlpha > 1 {
		errs = append(errs, "BaselineAlpha must be in (0, 1]")
	}
	if o.ClearRatio <= 0 || o.ClearRatio >= 1 {
		errs = append(errs, "ClearRatio must be in (0, 1)")
	}
	if o.MaxOrigins < 1 || o.QueueSize < 1 || o.MaxAttempts < 1 {
		errs = append(errs, "MaxOrigins, QueueSize and MaxAttempts must be positive")
	}
	if o.WebhookURL != "" && !strings.HasPrefix(o.WebhookURL, "http://") && !strings.HasPrefix(o.WebhookURL, "https://") {
		errs = append(errs, "WebhookURL must be an http:// or https:// URL")
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("monitor: %s", strings.Join(errs, "; "))
	}

	m := &Monitor{
		o:            o,
		bucketNs:     int64(o.Bucket),
		slots:        make([]slot, int((history+o.Bucket-1)/o.Bucket)),
		origins:      make(map[string]*originStat),
		alerting:     make(map[string]*originStat),
		reasonBase:   make([]float64, numReasons),
		reasonActive: make([]*active, numReasons),
	}
	for i := range m.slots {
		m.slots[i] = slot{n: -1, reasons: make([]uint32, numReasons)}
	}
	m.cur = m.bucket(o.Now())
	m.slot(m.cur).n = m.cur

	ctx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	if o.WebhookURL != "" {
		m.queue = make(chan Alert, o.QueueSize)
		m.done.Go(func() { m.deliver(ctx) })
	}
	m.done.Go(func() {
		t := time.NewTicker(min(o.Bucket/2, 5*time.Second))
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				m.Tick()
			}
		}
	})
	return m, nil
}

// Close stops the ticker and the delivery worker, giving up on alerts not
// yet delivered.
func (m *Monitor) Close() {
	m.cancel()
	m.done.Wait()
}

func (m *Monitor) bucket(t time.Time) int64 { return t.UnixNano() / m.bucketNs }

func (m *Monitor) slot(n int64) *slot { return &m.slots[int(n%int64(len(m.slots)))] }

// Observe counts one verdict. It has the signature of
// forgeproof.Config.OnDecision, takes a short lock and never waits for I/O;
// it allocates only to track an origin seen for the first time and when an
// alert is raised.
func (m *Monitor) Observe(e forgeproof.Event) {
	now := m.o.Now()
	var raised []Alert
	m.mu.Lock()
	n := m.bucket(now)
	if n > m.cur {
		raised = m.roll(n, now, raised)
	}
	s := m.slot(m.cur)
	if e.Decision != forgeproof.Denied {
		s.allowed++
		m.mu.Unlock()
		m.emit(raised)
		return
	}
	s.rejected++
	if e.ReportOnly {
		s.reportOnly++
	}
	r := int(e.Reason)
	if r >= numReasons {
		r = 0
	}
	s.reasons[r]++
	raised = m.observeOrigin(e, now, raised)
	if r != 0 && m.reasonActive[r] == nil {
		if c, th := m.reasonCount(r), m.reasonThreshold(r); c >= th {
			m.reasonActive[r] = m.raise(&raised, Alert{Rule: RuleReasonSpike, Reason: forgeproof.Reason(r).String(), Count: c, Baseline: m.reasonBase[r] * float64(m.o.Window)}, th, now)
		}
	}
	if m.burstActive == nil {
		if c, th := m.burstCount(), m.burstThreshold(); c >= th {
			m.burstActive = m.raise(&raised, Alert{Rule: RuleRejectionBurst, Count: c, Baseline: m.burstBase * float64(m.o.Window)}, th, now)
		}
	}
	m.mu.Unlock()
	m.emit(raised)
}

// originKey returns the origin a rejection is counted against.
func originKey(e *forgeproof.Event) string {
	switch {
	case e.Origin != "":
		return e.Origin
	case e.RefererOrigin != "":
		return e.RefererOrigin
	}
	return NoOrigin
}

// observeOrigin counts a rejection against its origin. m.mu is held.
func (m *Monitor) observeOrigin(e forgeproof.Event, now time.Time, raised []Alert) []Alert {
	key := originKey(&e)
	if len(key) > maxOriginLen {
		key = key[:maxOriginLen]
	}
	st := m.origins[key]
	if st == nil {
		if len(m.origins) >= m.o.MaxOrigins && !m.evict() {
			return raised // every tracked origin is under alert
		}
		key = strings.Clone(key)
		st = &originStat{win: make([]uint32, m.o.Window), stamp: make([]int64, m.o.Window), key: key}
		m.origins[key] = st
		m.calmAdd(st)
	}
	i := int(m.cur % int64(m.o.Window))
	if st.stamp[i] != m.cur {
		st.stamp[i], st.win[i] = m.cur, 0
	}
	st.win[i]++
	period := now.Unix() / 600
	j := int(period % 6)
	if st.hourAt[j] != period {
		st.hourAt[j], st.hour[j] = period, 0
	}
	st.hour[j]++
	if st.alert == nil {
		if c := m.originCount(st); c >= m.o.OriginThreshold {
			st.alert = m.raise(&raised, Alert{Rule: RuleOriginRejections, Origin: key, Count: c}, m.o.OriginThreshold, now)
			m.alerting[key] = st
			m.calmRemove(st)
		}
	}
	return raised
}

// evict drops the tracked origin with the fewest rejections among a few
// sampled at random from those not under alert, and reports whether there
// was one. It takes at most evictSamples steps. m.mu is held.
func (m *Monitor) evict() bool {
	if len(m.calm) == 0 {
		return false
	}
	var victim *originStat
	least := -1
	for range min(evictSamples, len(m.calm)) {
		st := m.calm[rand.IntN(len(m.calm))]
		if c := m.originCount(st); least < 0 || c < least {
			victim, least = st, c
		}
	}
	m.calmRemove(victim)
	delete(m.origins, victim.key)
	return true
}

// calmAdd adds st to the origins that may be evicted. m.mu is held.
func (m *Monitor) calmAdd(st *originStat) {
	st.calm = len(m.calm)
	m.calm = append(m.calm, st)
}

// calmRemove takes st out of the origins that may be evicted, in constant
// time: the last of them takes its place. m.mu is held.
func (m *Monitor) calmRemove(st *originStat) {
	i, last := st.calm, len(m.calm)-1
	m.calm[i] = m.calm[last]
	m.calm[i].calm = i
	m.calm[last] = nil
	m.calm = m.calm[:last]
	st.calm = -1
}

// originCount returns the origin's rejections in the window. m.mu is held.
func (m *Monitor) originCount(st *originStat) int {
	c := 0
	for i, n := range st.stamp {
		if n > m.cur-int64(m.o.Window) {
			c += int(st.win[i])
		}
	}
	return c
}

// window calls f for each slot of the current window. m.mu is held.
func (m *Monitor) window(f func(*slot)) {
	for n := m.cur - int64(m.o.Window) + 1; n <= m.cur; n++ {
		if s := m.slot(max(n, 0)); s.n == n {
			f(s)
		}
	}
}

func (m *Monitor) reasonCount(r int) int {
	c := 0
	m.window(func(s *slot) { c += int(s.reasons[r]) })
	return c
}

func (m *Monitor) burstCount() int {
	c := 0
	m.window(func(s *slot) { c += int(s.rejected) })
	return c
}

func (m *Monitor) reasonThreshold(r int) int {
	return max(m.o.ReasonThreshold, int(m.o.SpikeFactor*m.reasonBase[r]*float64(m.o.Window)+0.5))
}

func (m *Monitor) burstThreshold() int {
	return max(m.o.BurstThreshold, int(m.o.SpikeFactor*m.burstBase*float64(m.o.Window)+0.5))
}

// raise records a new alert and appends it to raised. m.mu is held.
func (m *Monitor) raise(raised *[]Alert, a Alert, threshold int, now time.Time) *active {
	m.seq++
	a.ID = fmt.Sprintf("%d-%d", now.Unix(), m.seq)
	a.Status = StatusFiring
	a.Threshold = threshold
	a.Window = int(time.Duration(m.o.Window) * m.o.Bucket / time.Second)
	a.StartedAt = now.UTC()
	a.Summary = summary(a)
	m.remember(a)
	*raised = append(*raised, a)
	return &active{alert: a}
}

// resolve clears an active alert whose count fell to the clear level.
// m.mu is held.
func (m *Monitor) resolve(raised *[]Alert, act *active, count int, now time.Time) {
	a := act.alert
	a.Status = StatusResolved
	a.Count = count
	end := now.UTC()
	a.EndedAt = &end
	a.Summary = summary(a)
	m.remember(a)
	*raised = append(*raised, a)
}

// clearLevel returns the count at or below which an alert with the given
// threshold clears.
func (m *Monitor) clearLevel(threshold int) int {
	return int(m.o.ClearRatio * float64(threshold))
}

func (m *Monitor) remember(a Alert) {
	if len(m.recent) == recentAlerts {
		copy(m.recent, m.recent[1:])
		m.recent = m.recent[:recentAlerts-1]
	}
	m.recent = append(m.recent, a)
}

// summary describes an alert in one sentence.
func summary(a Alert) string {
	var what string
	switch a.Rule {
	case RuleOriginRejections:
		what = fmt.Sprintf("rejected requests from origin %q", a.Origin)
	case RuleReasonSpike:
		what = fmt.Sprintf("requests rejected for %s", a.Reason)
	default:
		what = "rejected requests in all"
	}
	if a.Status == StatusResolved {
		return fmt.Sprintf("cleared: %d %s in the last %ds (raised at %d)", a.Count, what, a.Window, a.Threshold)
	}
	if a.Rule == RuleOriginRejections {
		return fmt.Sprintf("%d %s in the last %ds (threshold %d)", a.Count, what, a.Window, a.Threshold)
	}
	return fmt.Sprintf("%d %s in the last %ds (threshold %d, baseline %.1f)", a.Count, what, a.Window, a.Threshold, a.Baseline)
}

// Tick rolls the buckets forward to the current time and clears the alerts
// whose counts have fallen. The background ticker calls it; tests with an
// injected clock call it after moving the clock.
func (m *Monitor) Tick() {
	now := m.o.Now()
	m.mu.Lock()
	var raised []Alert
	if n := m.bucket(now); n > m.cur {
		raised = m.roll(n, now, raised)
	}
	m.mu.Unlock()
	m.emit(raised)
}

// roll advances the current bucket to n, learning the baselines from the
// buckets that ended and clearing alerts. m.mu is held.
func (m *Monitor) roll(n int64, now time.Time, raised []Alert) []Alert {
	for m.cur < n {
		m.learn(m.slot(m.cur))
		m.cur++
		if gap := n - m.cur; gap > int64(len(m.slots)) {
			// Idle for over an hour: learn the empty buckets in one step.
			m.decay(gap)
			m.cur = n
		}
		s := m.slot(m.cur)
		s.n, s.allowed, s.reportOnly, s.rejected = m.cur, 0, 0, 0
		clear(s.reasons)
	}
	for r := 1; r < numReasons; r++ {
		if act := m.reasonActive[r]; act != nil {
			if c := m.reasonCount(r); c <= m.clearLevel(m.reasonThreshold(r)) {
				m.resolve(&raised, act, c, now)
				m.reasonActive[r] = nil
			}
		}
	}
	if act := m.burstActive; act != nil {
		if c := m.burstCount(); c <= m.clearLevel(m.burstThreshold()) {
			m.resolve(&raised, act, c, now)
			m.burstActive = nil
		}
	}
	for key, st := range m.alerting {
		if c := m.originCount(st); c <= m.clearLevel(m.o.OriginThreshold) {
			m.resolve(&raised, st.alert, c, now)
			st.alert = nil
			delete(m.alerting, key)
			m.calmAdd(st)
		}
	}
	return raised
}

// learn updates the baselines with the counts of a bucket that ended.
// A baseline under an active alert learns ten times more slowly, so that an
// attack does not quickly become the norm, while a lasting change of
// traffic eventually does. m.mu is held.
func (m *Monitor) learn(s *slot) {
	for r := 1; r < numReasons; r++ {
		m.reasonBase[r] += m.alpha(m.reasonActive[r]) * (float64(s.reasons[r]) - m.reasonBase[r])
	}
	m.burstBase += m.alpha(m.burstActive) * (float64(s.rejected) - m.burstBase)
}

// decay updates the baselines as learn would for gap empty buckets.
// m.mu is held.
func (m *Monitor) decay(gap int64) {
	for r := 1; r < numReasons; r++ {
		m.reasonBase[r] *= math.Pow(1-m.alpha(m.reasonActive[r]), float64(gap))
	}
	m.burstBase *= math.Pow(1-m.alpha(m.burstActive), float64(gap))
}

// alpha returns the learning rate of a baseline.
func (m *Monitor) alpha(act *active) float64 {
	if act != nil {
		return m.o.BaselineAlpha / 10
	}
	return m.o.BaselineAlpha
}

// emit logs, counts and queues alerts, without holding m.mu.
func (m *Monitor) emit(alerts []Alert) {
	for _, a := range alerts {
		attrs := []any{
			slog.String("alert_id", a.ID),
			slog.String("rule", a.Rule),
			slog.Int("count", a.Count),
			slog.Int("threshold", a.Threshold),
			slog.Int("window_seconds", a.Window),
		}
		if a.Origin != "" {
			attrs = append(attrs, slog.String("origin", a.Origin))
		}
		if a.Reason != "" {
			attrs = append(attrs, slog.String("reason", a.Reason))
		}
		if a.Status == StatusFiring {
			if a.Rule != RuleOriginRejections {
				attrs = append(attrs, slog.Float64("baseline", a.Baseline))
			}
			m.o.Logger.Warn("forgeproof alert raised: "+a.Summary, attrs...)
		} else {
			m.o.Logger.Info("forgeproof alert cleared: "+a.Summary, attrs...)
		}
		if m.o.OnAlert != nil {
			m.o.OnAlert(a)
		}
		if m.queue != nil {
			select {
			case m.queue <- a:
			default:
				m.delivered("dropped")
				m.o.Logger.Warn("forgeproof alert webhook queue full; alert dropped", slog.String("alert_id", a.ID))
			}
		}
	}
}

// Snapshot is what the dashboard shows: the last hour of verdicts, the
// origins with the most rejections, and recent alerts.
type Snapshot struct {
	Now  time.Time `json:"now"`
	Step int       `json:"step_seconds"` // the duration of one point of the series
	// Start is the start of the first point of the series.
	Start time.Time `json:"start"`
	// Allowed and Rejected count verdicts per point, oldest first.
	// Rejected includes the report-only denials, also counted in
	// ReportOnly.
	Allowed    []uint32 `json:"allowed"`
	Rejected   []uint32 `json:"rejected"`
	ReportOnly []uint32 `json:"report_only"`
	// ByReason holds the rejections per point for each reason that
	// rejected a request in the hour.
	ByReason map[string][]uint32 `json:"by_reason"`
	// TopOrigins are the tracked origins with the most rejections in the
	// last hour (counted in 10-minute periods), most first.
	TopOrigins []OriginCount `json:"top_origins"`
	// Alerts are the last alerts raised or cleared, newest first; Active
	// are those not yet cleared.
	Alerts []Alert `json:"alerts"`
	Active []Alert `json:"active"`
	// TrackedOrigins is the number of origins in the table.
	TrackedOrigins int `json:"tracked_origins"`
}

// An OriginCount is an origin and its rejections.
type OriginCount struct {
	Origin string `json:"origin"`
	Count  int    `json:"count"`
}

// Snapshot returns the dashboard's data, with at most top origins.
func (m *Monitor) Snapshot(top int) Snapshot {
	m.Tick()
	now := m.o.Now()
	m.mu.Lock()
	k := len(m.slots)
	s := Snapshot{
		Now:        now.UTC(),
		Step:       int(m.o.Bucket / time.Second),
		Start:      time.Unix(0, (m.cur-int64(k)+1)*m.bucketNs).UTC(),
		Allowed:    make([]uint32, k),
		Rejected:   make([]uint32, k),
		ReportOnly: make([]uint32, k),
		ByReason:   map[string][]uint32{},
		Alerts:     []Alert{},
		Active:     []Alert{},
	}
	for i := range k {
		n := m.cur - int64(k) + 1 + int64(i)
		sl := m.slot(max(n, 0))
		if sl.n != n {
			continue
		}
		s.Allowed[i], s.Rejected[i], s.ReportOnly[i] = sl.allowed, sl.rejected, sl.reportOnly
		for r, c := range sl.reasons {
			if c == 0 || r == 0 {
				continue
			}
			name := forgeproof.Reason(r).String()
			if s.ByReason[name] == nil {
				s.ByReason[name] = make([]uint32, k)
			}
			s.ByReason[name][i] = c
		}
	}
	period := now.Unix() / 600
	for key, st := range m.origins {
		c := 0
		for j, p := range st.hourAt {
			if p > period-6 {
				c += int(st.hour[j])
			}
		}
		if c > 0 {
			s.TopOrigins = append(s.TopOrigins, OriginCount{key, c})
		}
	}
	for i := len(m.recent) - 1; i >= 0; i-- {
		s.Alerts = append(s.Alerts, m.recent[i])
	}
	for r := range m.reasonActive {
		if act := m.reasonActive[r]; act != nil {
			s.Active = append(s.Active, act.alert)
		}
	}
	if m.burstActive != nil {
		s.Active = append(s.Active, m.burstActive.alert)
	}
	for _, st := range m.alerting {
		s.Active = append(s.Active, st.alert.alert)
	}
	slices.SortFunc(s.Active, func(a, b Alert) int {
		if c := a.StartedAt.Compare(b.StartedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	s.TrackedOrigins = len(m.origins)
	m.mu.Unlock()

	// Sort without the lock, so that Observe does not wait for it.
	slices.SortFunc(s.TopOrigins, func(a, b OriginCount) int {
		if a.Count != b.Count {
			return b.Count - a.Count
		}
		return strings.Compare(a.Origin, b.Origin)
	})
	if len(s.TopOrigins) > max(top, 0) {
		s.TopOrigins = s.TopOrigins[:max(top, 0)]
	}
	if s.TopOrigins == nil {
		s.TopOrigins = []OriginCount{}
	}
	return s
}

// defaultTo sets *v to def when *v is the zero value, as the zero value of
// every numeric field of [Options] means "use the default".
func defaultTo[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}
