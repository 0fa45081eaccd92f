package gateway

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"net/url"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/net/http/httpguts"
)

// transport is the gateway's round tripper for one upstream. It sends the
// common request (plain HTTP, no body or a small one held in memory, no
// protocol upgrade, no Expect) over a pooled HTTP/1.1 connection on the
// calling goroutine: the request is written with [http.Request.Write] and
// the response read with [http.ReadResponse], so the wire format is the
// standard library's. Every other request goes to an [http.Transport].
//
// http.Transport hands each request to two goroutines of the connection
// (one writes, one reads and watches the idle connection), which costs
// about an eighth of a proxy's CPU time per request on loopback. What those
// goroutines guard against is covered here as follows:
//   - A connection the backend closed or wrote to while idle is found by a
//     non-blocking peek when it is taken from the pool, and discarded.
//   - A response is read only after the whole request was written, which
//     cannot deadlock because the fast path's request bodies are small and
//     in memory (large and streamed bodies go to http.Transport).
//   - A request that fails on a reused connection before any byte of the
//     response arrives is retried once on a new connection, under
//     http.Transport's rules: when nothing was written, or when the request
//     is replayable (GET, HEAD, OPTIONS, TRACE, or an Idempotency-Key).
//   - The request's context aborts the exchange at any point; the
//     response header timeout bounds writing the request as well as
//     waiting for the response header.
type transport struct {
	next *http.Transport // every request the fast path does not take

	host        string // the upstream's URL.Host, as the proxy's requests carry it
	addr        string // host:port to dial
	dial        func(ctx context.Context, network, addr string) (net.Conn, error)
	headerWait  time.Duration // for writing the request and its response's header
	idleTimeout time.Duration
	maxIdle     int
	maxHeader   int64 // response header bytes, 1xx responses included

	mu      sync.Mutex
	idle    []*clientConn // oldest first; taken from the end
	janitor *time.Timer   // closes connections idle too long; nil when none are
}

// maxResponseHeader bounds the bytes of a response's header fields (1xx
// responses included), as http.Transport's default does.
const maxResponseHeader = 10 << 20

// max1xx bounds the informational responses before the final one.
const max1xx = 5

// newTransport returns the transport to the upstream at target: it dials
// within dial, waits at most headerWait for a response's header, and keeps
// up to 256 idle connections, each for up to 90 s. The http.Transport it
// hands other requests to has the same settings.
func newTransport(target *url.URL, dial, headerWait time.Duration) *transport {
	next := &http.Transport{
		// Proxy is nil: environment proxies never apply to backends.
		DialContext:           (&net.Dialer{Timeout: dial, KeepAlive: 30 * time.Second}).DialContext,
		ResponseHeaderTimeout: headerWait,
		TLSHandshakeTimeout:   dial,
		ExpectContinueTimeout: time.Second,
		MaxIdleConns:          512,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		// The backend sees the client's own Accept-Encoding, and the
		// client gets the backend's encoding unchanged.
		DisableCompression: true,
	}
	port := target.Port()
	if port == "" {
		port = "80"
	}
	return &transport{
		next:        next,
		host:        target.Host,
		addr:        net.JoinHostPort(target.Hostname(), port),
		dial:        next.DialContext,
		headerWait:  headerWait,
		idleTimeout: next.IdleConnTimeout,
		maxIdle:     next.MaxIdleConnsPerHost,
		maxHeader:   maxResponseHeader,
	}
}

// RoundTrip implements [http.RoundTripper].
func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !t.direct(req) {
		return t.next.RoundTrip(req)
	}
	if err := validHeader(req.Header); err != nil {
		closeBody(req)
		return nil, err
	}
	for retried := false; ; retried = true {
		c, reused, err := t.conn(req.Context())
		if err != nil {
			closeBody(req)
			return nil, err
		}
		resp, err := t.exchange(c, req)
		if err == nil {
			return resp, nil
		}
		c.close()
		if ctxErr := req.Context().Err(); ctxErr != nil {
			return nil, ctxErr
		}
		if retried || !reused || !c.retryable(req) {
			return nil, err
		}
		if req.GetBody != nil {
			if req.Body, err = req.GetBody(); err != nil {
				return nil, err
			}
		}
	}
}

// direct reports whether req takes the fast path.
func (t *transport) direct(req *http.Request) bool {
	if req.URL.Scheme != "http" || req.URL.Host != t.host {
		return false
	}
	if _, ok := req.Header["Upgrade"]; ok {
		return false
	}
	if _, ok := req.Header["Expect"]; ok {
		return false
	}
	if len(req.Trailer) > 0 || len(req.TransferEncoding) > 0 {
		return false
	}
	if req.Body == nil || req.Body == http.NoBody {
		return true
	}
	return req.GetBody != nil && req.ContentLength > 0 && req.ContentLength <= smallBody
}

// validHeader refuses a request header that http.Transport would refuse.
func validHeader(h http.Header) error {
	for k, vs := range h {
		if !httpguts.ValidHeaderFieldName(k) {
			return fmt.Errorf("net/http: invalid header field name %q", k)
		}
		for _, v := range vs {
			if !httpguts.ValidHeaderFieldValue(v) {
				return fmt.Errorf("net/http: invalid header field value for %q", k)
			}
		}
	}
	return nil
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

// exchange writes req on c and reads its response header.
func (t *transport) exchange(c *clientConn, req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	c.left = t.maxHeader
	if t.headerWait > 0 {
		c.conn.SetDeadline(time.Now().Add(t.headerWait))
	}
	// After the deadline, which would otherwise undo an abort that runs at
	// once because the context is already done.
	stop := context.AfterFunc(ctx, c.abortFn)
	err := req.Write(c.bw)
	if err == nil {
		err = c.bw.Flush()
	}
	if err != nil {
		stop()
		return nil, err
	}
	trace := httptrace.ContextClientTrace(ctx)
	var resp *http.Response
	for n1xx := 0; ; n1xx++ {
		resp, err = http.ReadResponse(c.br, req)
		if err != nil {
			stop()
			return nil, err
		}
		code := resp.StatusCode
		if code < 100 || code > 199 {
			break
		}
		if code == http.StatusSwitchingProtocols {
			// The fast path sends no upgrade request.
			stop()
			return nil, errors.New("gateway: the upstream switched protocols on a request that asked for no upgrade")
		}
		if n1xx == max1xx {
			stop()
			return nil, fmt.Errorf("gateway: the upstream sent more than %d informational (1xx) responses", max1xx)
		}
		if trace != nil && trace.Got1xxResponse != nil {
			if err := trace.Got1xxResponse(code, textproto.MIMEHeader(resp.Header)); err != nil {
				stop()
				return nil, err
			}
		}
	}
	c.left = -1
	if t.headerWait > 0 {
		c.conn.SetDeadline(time.Time{})
		if ctx.Err() != nil {
			c.abort() // it may have run before the deadline was cleared
		}
	}
	b := &connBody{t: t, c: c, body: resp.Body, stop: stop, reuse: !resp.Close && !req.Close}
	if resp.Body == http.NoBody {
		b.finish(true)
		return resp, nil
	}
	resp.Body = b
	return resp, nil
}

// conn returns an idle connection that is still usable, and true, or a new
// one.
func (t *transport) conn(ctx context.Context) (*clientConn, bool, error) {
	for {
		t.mu.Lock()
		n := len(t.idle)
		if n == 0 {
			t.mu.Unlock()
			break
		}
		c := t.idle[n-1]
		t.idle[n-1] = nil
		t.idle = t.idle[:n-1]
		t.mu.Unlock()
		if time.Since(c.idleSince) < t.idleTimeout && c.quiet() {
			return c, true, nil
		}
		c.close()
	}
	nc, err := t.dial(ctx, "tcp", t.addr)
	if err != nil {
		return nil, false, err
	}
	c := &clientConn{conn: nc, left: -1}
	c.abortFn = c.abort
	c.preparePeek()
	c.br = bufio.NewReader(c)
	c.bw = bufio.NewWriter(c)
	return c, false, nil
}

// put returns a connection whose exchange ended cleanly to the pool.
func (t *transport) put(c *clientConn) {
	c.idleSince = time.Now()
	t.mu.Lock()
	if len(t.idle) >= t.maxIdle {
		t.mu.Unlock()
		c.close()
		return
	}
	t.idle = append(t.idle, c)
	if t.janitor == nil {
		t.janitor = time.AfterFunc(t.idleTimeout, t.sweep)
	}
	t.mu.Unlock()
}

// sweep closes the connections idle for longer than the idle timeout, and
// comes back when the next one will be.
func (t *transport) sweep() {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := time.Now()
	n := 0
	for n < len(t.idle) && now.Sub(t.idle[n].idleSince) >= t.idleTimeout {
		t.idle[n].close()
		n++
	}
	t.idle = append(t.idle[:0], t.idle[n:]...)
	clear(t.idle[len(t.idle) : len(t.idle)+n])
	if len(t.idle) == 0 {
		t.janitor = nil
		return
	}
	t.janitor.Reset(t.idle[0].idleSince.Add(t.idleTimeout).Sub(now))
}

// A clientConn is one connection to the upstream.
type clientConn struct {
	conn net.Conn
	br   *bufio.Reader
	bw   *bufio.Writer

	// raw is the socket, for the idle peek (see quiet); nil where there
	// is none. peek is the function the peek runs with it, which records
	// in quietNow whether the socket was quiet.
	raw      syscall.RawConn
	peek     func(fd uintptr) bool
	quietNow bool
	// abortFn is abort, made once for context.AfterFunc.
	abortFn func()

	// left is the number of response header bytes still allowed, or -1
	// while a body is read.
	left int64
	// written and read count the bytes of the current exchange, which
	// decide whether it may be retried.
	written, read int64
	idleSince     time.Time
}

var errHeaderTooLarge = errors.New("gateway: the upstream's response header is too large")

func (c *clientConn) Read(p []byte) (int, error) {
	if c.left == 0 {
		return 0, errHeaderTooLarge
	}
	if c.left > 0 && int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.conn.Read(p)
	if c.left > 0 {
		c.left -= int64(n)
	}
	c.read += int64(n)
	return n, err
}

func (c *clientConn) Write(p []byte) (int, error) {
	n, err := c.conn.Write(p)
	c.written += int64(n)
	return n, err
}

// abort makes the connection's pending and future reads and writes fail
// at once.
func (c *clientConn) abort() { c.conn.SetDeadline(aLongTimeAgo) }

var aLongTimeAgo = time.Unix(1, 0)

func (c *clientConn) close() { c.conn.Close() }

// retryable reports whether a request that failed on this reused
// connection may be sent again on another, as http.Transport decides:
// nothing of it reached the upstream, or the upstream closed the
// connection before answering and the request is replayable.
func (c *clientConn) retryable(req *http.Request) bool {
	rewindable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	if !rewindable {
		return false
	}
	if c.written == 0 {
		return true
	}
	if c.read > 0 {
		return false
	}
	switch req.Method {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	_, ok := req.Header["Idempotency-Key"]
	if !ok {
		_, ok = req.Header["X-Idempotency-Key"]
	}
	return ok
}

// A connBody is a response body read from a pooled connection: the
// connection goes back to the pool once the body was read to its end, and
// is closed if the body is closed or fails before.
type connBody struct {
	t     *transport
	c     *clientConn
	body  io.ReadCloser
	stop  func() bool // stops the context's abort
	reuse bool        // the response and request allow another exchange
	done  atomic.Bool
}

func (b *connBody) Read(p []byte) (int, error) {
	n, err := b.body.Read(p)
	if err != nil {
		b.finish(err == io.EOF)
	}
	return n, err
}

// Close closes the connection unless the body was read to its end: the
// rest of the body is not drained.
func (b *connBody) Close() error {
	b.finish(false)
	return nil
}

// finish ends the exchange: the connection goes back to the pool if clean
// says the body was read to its end, the exchange allows another, the
// context did not abort it and nothing follows the response.
func (b *connBody) finish(clean bool) {
	if b.done.Swap(true) {
		return
	}
	c := b.c
	if b.stop() && clean && b.reuse && c.br.Buffered() == 0 {
		c.written, c.read = 0, 0
		b.t.put(c)
		return
	}
	c.close()
}
