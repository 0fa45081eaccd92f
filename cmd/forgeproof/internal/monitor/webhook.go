package monitor

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/redact"
)

// deliver sends queued alerts to the webhook until ctx is done.
func (m *Monitor) deliver(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case a := <-m.queue:
			m.send(ctx, a)
		}
	}
}

// send posts one alert, retrying with exponential backoff.
func (m *Monitor) send(ctx context.Context, a Alert) {
	body, err := json.Marshal(a)
	if err != nil {
		m.delivered("failed")
		m.o.Logger.Error("forgeproof alert could not be encoded", slog.String("alert_id", a.ID), slog.String("error", err.Error()))
		return
	}
	wait := m.o.RetryBackoff
	for attempt := 1; ; attempt++ {
		retry, err := m.post(ctx, body)
		if err == nil {
			m.delivered("delivered")
			return
		}
		if !retry || attempt == m.o.MaxAttempts {
			m.delivered("failed")
			m.o.Logger.Error("forgeproof alert webhook delivery failed",
				slog.String("alert_id", a.ID), slog.Int("attempts", attempt), slog.String("webhook", redact.URL(m.o.WebhookURL)),
				// The client's error names the URL, whose path or query
				// holds the webhook's credential (Slack, Teams).
				slog.String("error", redact.Error(err, m.o.WebhookURL)))
			return
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		wait *= 2
	}
}

// post makes one delivery attempt. It reports whether a failure is worth
// retrying: network errors, 408, 429 and 5xx answers are.
func (m *Monitor) post(ctx context.Context, body []byte) (retry bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, m.o.WebhookTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.o.WebhookURL, bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "forgeproof-monitor")
	resp, err := m.o.Client.Do(req)
	if err != nil {
		return true, err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	switch c := resp.StatusCode; {
	case c >= 200 && c < 300:
		return false, nil
	case c == http.StatusRequestTimeout || c == http.StatusTooManyRequests || c >= 500:
		return true, &statusError{c}
	default:
		return false, &statusError{c}
	}
}

type statusError struct{ code int }

func (e *statusError) Error() string {
	return fmt.Sprintf("webhook answered %d %s", e.code, http.StatusText(e.code))
}

func (m *Monitor) delivered(result string) {
	if m.o.OnDelivery != nil {
		m.o.OnDelivery(result)
	}
}
