package config_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/forgeproof/forgeproof"
	"github.com/forgeproof/forgeproof/internal/config"
)

func TestMonitorAndStepUpKeys(t *testing.T) {
	const base = "upstreams: [{url: http://127.0.0.1:3000}]\n"
	tests := []struct {
		name, yaml string
		want       []string // "path: message fragment", in order
	}{
		{"good", base + "reauth_verify: /api/reauth\nmonitor: {webhook_url: https://hooks.example/forgeproof}\n", nil},
		{"relative verify path", base + "reauth_verify: api/reauth\n", []string{"reauth_verify: must be an absolute path"}},
		{"verify path under the reserved prefix", base + "reauth_verify: /.forgeproof/x\n", []string{"reauth_verify: must be an absolute path"}},
		{"webhook not http", base + "monitor: {webhook_url: ftp://hooks.example/x?token=s3cret}\n", []string{"monitor.webhook_url: must be an http:// or https:// URL"}},
		{"webhook from a missing variable", base + "monitor: {webhook_url: {env: FORGEPROOF_TEST_UNSET_WEBHOOK}}\n", []string{"monitor.webhook_url: "}},
		{"unknown monitor key", base + "monitor: {webhook: https://x.example}\n", []string{"monitor: did you mean \"webhook_url\""}},
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
