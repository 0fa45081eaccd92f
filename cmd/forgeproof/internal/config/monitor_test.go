package config_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/forgeproof/forgeproof"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/config"
)

func TestMonitorAndStepUpKeys(t *testing.T) {
	const base = "upstreams: [{url: http://127.0.0.1:3000}]\n"
	tests := []struct {
		name, yaml string
		want       []string // "path: message fragment", in order
	}{
		{"good", base + "reauth_verify: /api/reauth\nreauth_success: {header: X-Reauth-Verified, value: \"true\"}\nmonitor: {webhook_url: https://hooks.example/forgeproof}\n", nil},
		{"verify without a success signal", base + "reauth_verify: /api/reauth\n", []string{"reauth_verify: needs reauth_success with header and value"}},
		{"success status not 2xx", base + "reauth_verify: /api/reauth\nreauth_success: {status: 302, header: X-Ok, value: \"1\"}\n", []string{"reauth_success.status: 302 is not a 2xx status"}},
		{"success header not a name", base + "reauth_verify: /api/reauth\nreauth_success: {header: \"X Ok\", value: \"1\"}\n", []string{"reauth_success.header: \"X Ok\" is not a valid header name"}},
		{"relative verify path", base + "reauth_verify: api/reauth\nreauth_success: {header: X-Ok, value: \"1\"}\n", []string{"reauth_verify: must be an absolute path"}},
		{"verify path under the reserved prefix", base + "reauth_verify: /.forgeproof/x\nreauth_success: {header: X-Ok, value: \"1\"}\n", []string{"reauth_verify: must be an absolute path"}},
		{"webhook not http", base + "monitor: {webhook_url: ftp://hooks.example/x?token=s3cret}\n", []string{"monitor.webhook_url: must be an http:// or https:// URL"}},
		{"webhook from a missing variable", base + "monitor: {webhook_url: {env: FORGEPROOF_TEST_UNSET_WEBHOOK}}\n", []string{"monitor.webhook_url: "}},
		{"unknown monitor key", base + "monitor: {webhook: https://x.example}\n", []string{"monitor: did you mean \"webhook_url\""}},
		{"window not whole buckets", base + "monitor:\n  window: 15s\n", []string{"monitor.window: 15s is not a whole number of 10s buckets"}},
		{"window too long", base + "monitor:\n  window: 2h\n", []string{"monitor.window: 2h0m0s is not a whole number of 10s buckets from 10s up to an hour"}},
		{"thresholds not positive", base + "monitor:\n  origin_threshold: -1\n  reason_threshold: -5\n  total_threshold: -2\n", []string{
			"monitor.origin_threshold: integer -1 is out of range",
			"monitor.reason_threshold: integer -5 is out of range",
			"monitor.total_threshold: integer -2 is out of range",
		}},
		{"threshold not a number", base + "monitor:\n  total_threshold: many\n", []string{"monitor.total_threshold: "}},
		{"bad token response header", base + "token_response_header: \"X Token\"\n", []string{"token_response_header: \"X Token\" is not a valid header name"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := config.Decode("test.yaml", []byte(tt.yaml))
			if err == nil {
				c.SetDefaults()
				err = c.Validate()
			}
			if tt.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				opts, err := c.Gateway(forgeproof.Config{})
				if err != nil {
					t.Fatal(err)
				}
				if opts.ReauthVerify != "/api/reauth" || c.Monitor.WebhookURL.Value() != "https://hooks.example/forgeproof" {
					t.Errorf("ReauthVerify %q, webhook %q", opts.ReauthVerify, c.Monitor.WebhookURL.Value())
				}
				return
			}
			var list config.ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("err = %v, want an ErrorList", err)
			}
			if len(list) != len(tt.want) {
				t.Fatalf("%d problems, want %d:\n%v", len(list), len(tt.want), err)
			}
			for i, w := range tt.want {
				path, msg, _ := strings.Cut(w, ": ")
				if list[i].Path != path || !strings.Contains(list[i].Msg, msg) || list[i].Pos.Line == 0 {
					t.Errorf("problem %d: %s (%s, line %d), want %q", i, list[i].Msg, list[i].Path, list[i].Pos.Line, w)
				}
				if strings.Contains(list[i].Error(), "s3cret") {
					t.Errorf("problem %d repeats the secret: %v", i, list[i])
				}
			}
		})
	}
}

func TestMonitorDefaultsAndValues(t *testing.T) {
	tests := []struct {
		name                    string
		yaml                    string
		window                  time.Duration
		origin, reason, total   int
		tokenHeader, wantHeader string
	}{
		{"defaults", "", config.DefaultMonitorWindow, config.DefaultOriginThreshold, config.DefaultReasonThreshold, config.DefaultTotalThreshold, "", ""},
		{"set", "monitor: {window: 5m, origin_threshold: 10, reason_threshold: 20, total_threshold: 40}\ntoken_response_header: X-New-CSRF-Token\n",
			5 * time.Minute, 10, 20, 40, "X-New-CSRF-Token", "X-New-CSRF-Token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := config.Decode("test.yaml", []byte("upstreams: [{url: http://127.0.0.1:3000}]\n"+tt.yaml))
			if err != nil {
				t.Fatal(err)
			}
			c.SetDefaults()
			if err := c.Validate(); err != nil {
				t.Fatal(err)
			}
			m := c.Monitor
			if m.Window != tt.window || m.OriginThreshold != tt.origin || m.ReasonThreshold != tt.reason || m.TotalThreshold != tt.total {
				t.Errorf("monitor = %v %d %d %d, want %v %d %d %d", m.Window, m.OriginThreshold, m.ReasonThreshold, m.TotalThreshold,
					tt.window, tt.origin, tt.reason, tt.total)
			}
			opts, err := c.Gateway(forgeproof.Config{})
			if err != nil {
				t.Fatal(err)
			}
			if opts.TokenResponseHeader != tt.wantHeader {
				t.Errorf("TokenResponseHeader = %q, want %q", opts.TokenResponseHeader, tt.wantHeader)
			}
		})
	}
}
