package monitor_test

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/forgeproof/forgeproof"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/monitor"
)

// receiver is a webhook endpoint on loopback that answers each delivery
// attempt with the next status of its script (200 once the script is
// exhausted) and records the bodies it received.
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	script   []int
	attempts int
	bodies   [][]byte
	got      chan struct{} // receives once per attempt
}

func newReceiver(t *testing.T, script ...int) *receiver {
	r := &receiver{script: script, got: make(chan struct{}, 100)}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		status := http.StatusOK
		if r.attempts < len(r.script) {
			status = r.script[r.attempts]
		}
		r.attempts++
		if req.Method == http.MethodPost && req.Header.Get("Content-Type") == "application/json" {
			r.bodies = append(r.bodies, body)
		}
		r.mu.Unlock()
		w.WriteHeader(status)
		r.got <- struct{}{}
	}))
	t.Cleanup(r.Close)
	return r
}

// outcomes records the delivery outcomes reported through OnDelivery.
type outcomes struct {
	mu  sync.Mutex
	got []string
	ch  chan string
}

func newOutcomes() *outcomes { return &outcomes{ch: make(chan string, 1000)} }

func (o *outcomes) add(result string) {
	o.mu.Lock()
	o.got = append(o.got, result)
	o.mu.Unlock()
	o.ch <- result
}

func (o *outcomes) wait(t *testing.T) string {
	t.Helper()
	select {
	case r := <-o.ch:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("no delivery outcome within 10s")
		return ""
	}
}

func webhookMonitor(t *testing.T, url string, o *outcomes) *monitor.Monitor {
	t.Helper()
	m, err := monitor.New(monitor.Options{
		OriginThreshold: 2,
		ReasonThreshold: 1000,
		BurstThreshold:  1000,
		WebhookURL:      url,
		MaxAttempts:     4,
		RetryBackoff:    5 * time.Millisecond,
		WebhookTimeout:  2 * time.Second,
		OnDelivery:      o.add,
		Logger:          slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return m
}

func raiseOriginAlert(m *monitor.Monitor, origin string) {
	for range 2 {
		m.Observe(forgeproof.Event{Decision: forgeproof.Denied, Reason: forgeproof.ReasonOriginMismatch, Origin: origin})
	}
}

func TestWebhookRetriesUntilDelivered(t *testing.T) {
	rcv := newReceiver(t, 503, 500, 429)
	out := newOutcomes()
	m := webhookMonitor(t, rcv.URL, out)
	raiseOriginAlert(m, "https://evil.example")
	if got := out.wait(t); got != "delivered" {
		t.Fatalf("outcome %q, want delivered", got)
	}
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if rcv.attempts != 4 || len(rcv.bodies) != 4 {
		t.Fatalf("%d attempts, %d JSON bodies; want 4 of each", rcv.attempts, len(rcv.bodies))
	}
	var a monitor.Alert
	if err := json.Unmarshal(rcv.bodies[3], &a); err != nil {
		t.Fatal(err)
	}
	if a.Status != "firing" || a.Rule != "origin-rejections" || a.Origin != "https://evil.example" || a.Count != 2 || a.Threshold != 2 || a.ID == "" {
		t.Errorf("webhook received %s", rcv.bodies[3])
	}
}

func TestWebhookGivesUp(t *testing.T) {
	tests := []struct {
		name     string
		script   []int
		attempts int
	}{
		{"client error is not retried", []int{400}, 1},
		{"server errors exhaust the attempts", []int{502, 502, 502, 502, 502}, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rcv := newReceiver(t, tt.script...)
			out := newOutcomes()
			m := webhookMonitor(t, rcv.URL, out)
			raiseOriginAlert(m, "https://evil.example")
			if got := out.wait(t); got != "failed" {
				t.Fatalf("outcome %q, want failed", got)
			}
			rcv.mu.Lock()
			defer rcv.mu.Unlock()
			if rcv.attempts != tt.attempts {
				t.Errorf("%d attempts, want %d", rcv.attempts, tt.attempts)
			}
		})
	}
}

func TestWebhookUnreachable(t *testing.T) {
	rcv := newReceiver(t)
	url := rcv.URL
	rcv.Close() // nothing listens there any more
	out := newOutcomes()
	m := webhookMonitor(t, url, out)
	raiseOriginAlert(m, "https://evil.example")
	if got := out.wait(t); got != "failed" {
		t.Fatalf("outcome %q, want failed", got)
	}
}

func TestWebhookQueueFullDropsWithoutBlocking(t *testing.T) {
	release, arrived := make(chan struct{}), make(chan struct{}, 100)
	stuck := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-release
	}))
	t.Cleanup(stuck.Close)
	t.Cleanup(func() { close(release) })
	out := newOutcomes()
	m, err := monitor.New(monitor.Options{
		OriginThreshold: 1, ReasonThreshold: 1000, BurstThreshold: 1000,
		WebhookURL: stuck.URL, QueueSize: 2, OnDelivery: out.add,
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)

	// 20 origins trip 20 alerts; the first is in flight, two wait, the
	// rest are dropped. Observe never waits for the stuck receiver.
	observe := func(i int) {
		m.Observe(forgeproof.Event{Decision: forgeproof.Denied, Reason: forgeproof.ReasonOriginNull, Origin: fmt.Sprintf("https://o%d.example", i)})
	}
	observe(0)
	<-arrived
	done := make(chan struct{})
	go func() {
		for i := 1; i < 20; i++ {
			observe(i)
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Observe blocked on a full webhook queue")
	}
	dropped := 0
	for range 17 {
		if out.wait(t) == "dropped" {
			dropped++
		}
	}
	if dropped != 17 {
		t.Errorf("%d dropped, want 17", dropped)
	}
}
