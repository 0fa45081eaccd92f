package redact_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/redact"
)

func TestURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://hooks.slack.com/services/T000/B000/XXXXSECRET", "https://hooks.slack.com/[redacted]"},
		{"https://example.webhook.office.com/webhookb2/abc@def/IncomingWebhook/SECRET/guid", "https://example.webhook.office.com/[redacted]"},
		{"https://events.example/hook?token=SECRET", "https://events.example/[redacted]"},
		{"https://events.example/#SECRET", "https://events.example/[redacted]"},
		{"redis://:SECRET@127.0.0.1:6379/0", "redis://[redacted]@127.0.0.1:6379/[redacted]"},
		{"redis://user:SECRET@redis.internal:6379", "redis://[redacted]@redis.internal:6379"},
		{"https://alerts.example", "https://alerts.example"},
		{"https://alerts.example/", "https://alerts.example"},
		{"not a url SECRET", "[redacted]"},
		{"mailto:SECRET@example.com", "[redacted]"},
		{"", "[redacted]"},
	}
	for _, tt := range tests {
		if got := redact.URL(tt.in); got != tt.want {
			t.Errorf("URL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// An error of the HTTP client names the whole URL; Error removes it.
func TestError(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	secretURL := "http://127.0.0.1:1/services/T0/B0/SECRETPATH?code=SECRETQUERY"
	req, _ := http.NewRequestWithContext(ctx, "POST", secretURL, nil)
	_, err := http.DefaultClient.Do(req)
	if err == nil || !strings.Contains(err.Error(), "SECRET") {
		t.Fatalf("the client's error does not hold the URL, so this test proves nothing: %v", err)
	}
	wrapped := fmt.Errorf("delivery: %w", err)
	got := redact.Error(wrapped)
	if strings.Contains(got, "SECRET") || !strings.Contains(got, "http://127.0.0.1:1/[redacted]") {
		t.Errorf("Error = %q, want the URL redacted and its host kept", got)
	}
	if got := redact.Error(errors.New("key abc=/+ is short"), "abc=/+"); strings.Contains(got, "abc=") {
		t.Errorf("Error with a secret = %q", got)
	}
	if redact.Error(nil) != "" {
		t.Errorf("Error(nil) is not empty")
	}
}

func FuzzURL(f *testing.F) {
	f.Add("https://hooks.slack.com/services/T000/B000/XXXX")
	f.Add("redis://:pw@host:6379/0")
	f.Add("http://[::1]:80/a?b#c")
	f.Fuzz(func(t *testing.T, s string) {
		got := redact.URL(s)
		if i := strings.Index(s, "://"); i >= 0 {
			rest := s[i+3:]
			// Nothing after the host's end may survive.
			if j := strings.IndexAny(rest, "/?#"); j >= 0 && len(rest[j:]) > 1 && strings.Contains(got, rest[j:]) && !strings.Contains("/"+redact.Mark, rest[j:]) {
				t.Errorf("URL(%q) = %q keeps %q", s, got, rest[j:])
			}
		}
	})
}
