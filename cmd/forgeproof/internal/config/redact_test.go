package config_test

import (
	"strings"
	"testing"

	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/config"
)

// No configuration error repeats a secret's value, however short, and
// whatever YAML type it was written as.
func TestErrorsDoNotEchoSecrets(t *testing.T) {
	tests := []struct{ name, yaml, secret string }{
		{"key as a number", "protection: {keys: [73519]}", "73519"},
		{"key as a float", "protection: {keys: [7351.9]}", "7351.9"},
		{"key as a boolean", "protection: {keys: [yes]}", "yes"},
		{"short key", "protection: {keys: [c2VjcmV0]}", "c2VjcmV0"},
		{"store as a number", "store: 84620", "84620"},
		{"store URL without scheme", "store: ':Pw84620@redis.internal:6379'", "Pw84620"},
		{"webhook as a number", "monitor: {webhook_url: 99173}", "99173"},
		{"webhook without scheme", "monitor: {webhook_url: hooks.slack.com/services/T0/B0/Hk99173}", "Hk99173"},
		{"upstream URL with a password and a bad port", "upstreams: [{url: 'http://u:Up55128@backend:bad'}]", "Up55128"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			yaml := tt.yaml
			if !strings.Contains(yaml, "upstreams:") {
				yaml += "\nupstreams: [{url: http://127.0.0.1:3000}]\n"
			}
			_, err := config.Parse("x.yaml", []byte(yaml))
			if err == nil {
				t.Fatal("no error")
			}
			if strings.Contains(err.Error(), tt.secret) {
				t.Errorf("the error repeats the secret %q:\n%v", tt.secret, err)
			}
		})
	}
}
