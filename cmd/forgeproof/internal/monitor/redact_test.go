package monitor_test

import (
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/monitor"
)

// A failed delivery is logged without the webhook's credential: Slack and
// Teams webhook URLs carry it in the path, others in the query.
func TestWebhookFailureLogRedacted(t *testing.T) {
	// A loopback port that refuses connections: the HTTP client's error
	// then names the whole URL.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	for _, url := range []string{
		"http://" + addr + "/services/T0000/B0000/PathSecret123",
		"http://" + addr + "/hook?code=QuerySecret123",
		"http://user:UserSecret123@" + addr + "/",
	} {
		var logs syncBuffer
		out := newOutcomes()
		m, err := monitor.New(monitor.Options{
			OriginThreshold: 2,
			ReasonThreshold: 1000,
			BurstThreshold:  1000,
			WebhookURL:      url,
			MaxAttempts:     1,
			WebhookTimeout:  2 * time.Second,
			OnDelivery:      out.add,
			Logger:          slog.New(slog.NewJSONHandler(&logs, nil)),
		})
		if err != nil {
			t.Fatal(err)
		}
		raiseOriginAlert(m, "https://evil.example")
		if got := out.wait(t); got != "failed" {
			t.Fatalf("outcome %q, want failed", got)
		}
		m.Close()
		log := logs.String()
		if !strings.Contains(log, "webhook delivery failed") || !strings.Contains(log, addr) {
			t.Fatalf("the failure is not logged with the webhook's host: %s", log)
		}
		if strings.Contains(log, "Secret123") {
			t.Errorf("the webhook's credential reached the log: %s", log)
		}
	}
}

// syncBuffer is a log sink safe for the delivery goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
