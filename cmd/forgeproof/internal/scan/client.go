package scan

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/forgeproof/forgeproof"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/scan/checks"
)

// maxBody bounds how much of a response body the scanner keeps.
const maxBody = 64 << 10

// A client sends requests to the target only, at a bounded rate and
// concurrency, and never follows redirects.
type client struct {
	hc     *http.Client
	target *url.URL
	sem    chan struct{}

	mu       sync.Mutex
	next     time.Time
	interval time.Duration

	sent atomic.Int64
}

// errOffTarget is returned for a request to a host other than the target.
var errOffTarget = errors.New("refusing to send a request to a host other than the target")

func newClient(target *url.URL, rate float64, concurrency int, timeout time.Duration, transport http.RoundTripper) *client {
	if transport == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = concurrency + 2
		transport = t
	}
	c := &client{target: target, sem: make(chan struct{}, concurrency)}
	if rate > 0 {
		c.interval = time.Duration(float64(time.Second) / rate)
	}
	c.hc = &http.Client{
		Transport: transport,
		Timeout:   timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	return c
}

// wait blocks until the rate limit lets one more request go.
func (c *client) wait(ctx context.Context) error {
	if c.interval == 0 {
		return ctx.Err()
	}
	c.mu.Lock()
	now := time.Now()
	at := c.next
	if at.Before(now) {
		at = now
	}
	c.next = at.Add(c.interval)
	c.mu.Unlock()
	if d := time.Until(at); d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}

// do sends r and returns the exchange. A transport error is returned as
// an error; any HTTP status is an exchange.
func (c *client) do(ctx context.Context, probe string, r *checks.Request) (*checks.Exchange, error) {
	if !strings.EqualFold(r.URL.Scheme, c.target.Scheme) || !strings.EqualFold(r.URL.Host, c.target.Host) {
		return nil, fmt.Errorf("%s %s: %w", r.Method, r.URL, errOffTarget)
	}
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-c.sem }()
	if err := c.wait(ctx); err != nil {
		return nil, err
	}
	var body io.Reader
	if r.Body != nil {
		body = bytes.NewReader(r.Body)
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, r.URL.String(), body)
	if err != nil {
		return nil, err
	}
	for k, vs := range r.Header {
		req.Header[k] = vs
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", "forgeproof-scan")
	}
	c.sent.Add(1)
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", r.Method, r.URL.Path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, fmt.Errorf("%s %s: reading the response: %w", r.Method, r.URL.Path, err)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	ex := &checks.Exchange{Probe: probe, Request: r, Status: resp.StatusCode, Header: resp.Header, Body: b}
	ex.Reason = problemReason(resp.Header, b)
	return ex, nil
}

// problemReason returns the forgeproof rejection reason named by a
// problem+json body, or "". Only names of the forgeproof.Reason
// enumeration are believed.
func problemReason(h http.Header, body []byte) string {
	mt, _, _ := mime.ParseMediaType(h.Get("Content-Type"))
	if mt != "application/problem+json" {
		return ""
	}
	var p struct {
		Reason string `json:"reason"`
	}
	if err := jsonUnmarshal(body, &p); err != nil {
		return ""
	}
	if r, ok := forgeproof.ParseReason(p.Reason); ok && r != forgeproof.ReasonNone {
		return r.String()
	}
	return ""
}
