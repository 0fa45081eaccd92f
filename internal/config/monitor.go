package config

import (
	"net/url"
	"strings"
)

// Monitor configures the anomaly detector, whose alerts go to the log, the
// metrics and, if set, a webhook.
type Monitor struct {
	// WebhookURL receives every alert as a JSON POST.
	WebhookURL Secret `yaml:"webhook_url"`
}

// monitor checks the monitor section and the step-up verification path.
func (v *validator) monitor() {
	if p := v.c.ReauthVerify; p != "" && (!strings.HasPrefix(p, "/") || strings.HasPrefix(p, v.c.ReservedPrefix)) {
		v.errorf("reauth_verify", "must be an absolute path on the upstream, such as /api/reauth, outside %s", v.c.ReservedPrefix)
	}
	s := &v.c.Monitor.WebhookURL
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
