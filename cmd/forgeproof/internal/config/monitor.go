package config

import (
	"net/url"
	"strings"
	"time"

	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/httpsyntax"
)

// Defaults of the monitor section.
const (
	// DefaultMonitorWindow is the span over which the detector counts
	// rejections.
	DefaultMonitorWindow = time.Minute
	// DefaultOriginThreshold is the number of rejections from one origin
	// within the window that raises an alert.
	DefaultOriginThreshold = 50
	// DefaultReasonThreshold is the least number of rejections for one
	// reason within the window that raises an alert.
	DefaultReasonThreshold = 30
	// DefaultTotalThreshold is the least number of rejections of all
	// reasons within the window that raises an alert.
	DefaultTotalThreshold = 300
)

// MonitorBucket is the time resolution of the detector's counters: the
// window is a whole number of buckets.
const MonitorBucket = 10 * time.Second

// maxMonitorWindow is the longest window, the detector's history.
const maxMonitorWindow = time.Hour

// Monitor configures the anomaly detector, whose alerts go to the log, the
// metrics and, if set, a webhook.
type Monitor struct {
	// WebhookURL receives every alert as a JSON POST.
	WebhookURL Secret `yaml:"webhook_url"`
	// Window is the span over which rejections are counted.
	Window time.Duration `yaml:"window"`
	// OriginThreshold raises origin-rejections.
	OriginThreshold int `yaml:"origin_threshold"`
	// ReasonThreshold raises reason-spike.
	ReasonThreshold int `yaml:"reason_threshold"`
	// TotalThreshold raises rejection-burst.
	TotalThreshold int `yaml:"total_threshold"`
}

// monitor checks the monitor section and the step-up verification path.
func (v *validator) monitor() {
	if p := v.c.ReauthVerify; p != "" && (!strings.HasPrefix(p, "/") || strings.HasPrefix(p, v.c.ReservedPrefix)) {
		v.errorf("reauth_verify", "must be an absolute path on the upstream, such as /api/reauth, outside %s", v.c.ReservedPrefix)
	}
	if ok := v.c.ReauthSuccess; v.c.ReauthVerify != "" {
		if ok.Status != 0 && (ok.Status < 200 || ok.Status > 299) {
			v.errorf("reauth_success.status", "%d is not a 2xx status; use the status of a confirmation, such as 200 or 204", ok.Status)
		}
		switch {
		case ok.Header == "" || ok.Value == "":
			v.errorf("reauth_verify", "needs reauth_success with header and value: the response header, such as X-Reauth-Verified: true, that reauth_verify sets only when the credential is right (any other answer, even a 2xx, then mints no proof)")
		case !httpsyntax.IsToken(ok.Header):
			v.errorf("reauth_success.header", "%q is not a valid header name", ok.Header)
		}
	}
	m := &v.c.Monitor
	if w := m.Window; w < MonitorBucket || w > maxMonitorWindow || w%MonitorBucket != 0 {
		v.errorf("monitor.window", "%v is not a whole number of %v buckets from %v up to an hour; use a value such as 1m",
			w, MonitorBucket, MonitorBucket)
	}
	// The decoder refuses negative thresholds, and SetDefaults replaces
	// zero ones.
	s := &m.WebhookURL
	if s.IsZero() {
		return
	}
	if err := s.Resolve(); err != nil {
		v.errorf("monitor.webhook_url", "%v", err)
		return
	}
	u, err := url.Parse(s.Value())
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		// The URL may hold a token: do not repeat it.
		v.errorf("monitor.webhook_url", "must be an http:// or https:// URL")
	}
}
