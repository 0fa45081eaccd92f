package gateway

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/textproto"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// testTransport returns the gateway's transport to base, with the response
// header timeout given.
func testTransport(t *testing.T, base string, headerWait time.Duration) *transport {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	tr := newTransport(u, 5*time.Second, headerWait)
	t.Cleanup(tr.next.CloseIdleConnections)
	t.Cleanup(func() {
		tr.mu.Lock()
		defer tr.mu.Unlock()
		for _, c := range tr.idle {
			c.close()
		}
	})
	return tr
}

// countingServer is a net/http backend that counts the connections it
// accepted and echoes each request as "METHOD PATH BODY".
func countingServer(t *testing.T, configure func(*http.Server)) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		io.WriteString(w, r.Method+" "+r.URL.Path+" "+string(b))
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	if configure != nil {
		configure(srv.Config)
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &conns
}

// rawBackend is a TCP backend that runs serve for each connection it
// accepts, with the connection's index from 0, so that a test can make it
// misbehave as no framework does on demand.
func rawBackend(t *testing.T, serve func(i int, c net.Conn, br *bufio.Reader)) (string, *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int32
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			i := int(n.Add(1)) - 1
			wg.Go(func() {
				defer c.Close()
				serve(i, c, bufio.NewReader(c))
			})
		}
	})
	return "http://" + ln.Addr().String(), &n
}

// readRequest reads one request and its body, and reports whether it did.
func readRequest(br *bufio.Reader) bool {
	r, err := http.ReadRequest(br)
	if err != nil {
		return false
	}
	io.Copy(io.Discard, r.Body)
	return true
}

func roundTrip(t *testing.T, tr http.RoundTripper, req *http.Request) (string, error) {
	t.Helper()
	resp, err := tr.RoundTrip(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func newReq(t *testing.T, method, target, body string) *http.Request {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, target, r)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func TestTransportReusesConnections(t *testing.T) {
	srv, conns := countingServer(t, nil)
	tr := testTransport(t, srv.URL, time.Minute)
	for i := range 20 {
		method, body := "GET", ""
		if i%2 == 1 {
			method, body = "POST", `{"n":1}`
		}
		got, err := roundTrip(t, tr, newReq(t, method, srv.URL+"/a", body))
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if want := method + " /a " + body; got != want {
			t.Fatalf("request %d: got %q, want %q", i, got, want)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("the backend accepted %d connections for 20 requests in turn, want 1", n)
	}
}

// TestTransportIdleClosed: a connection the backend closed while idle is
// not used again, so that even a request that may not be retried (a POST)
// succeeds.
func TestTransportIdleClosed(t *testing.T) {
	srv, conns := countingServer(t, func(s *http.Server) { s.IdleTimeout = 50 * time.Millisecond })
	tr := testTransport(t, srv.URL, time.Minute)
	for i := range 3 {
		if _, err := roundTrip(t, tr, newReq(t, "POST", srv.URL+"/p", "x")); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if n := conns.Load(); n != 3 {
		t.Errorf("the backend accepted %d connections, want 3 (one per request)", n)
	}
}

// TestTransportStrayResponse: what a backend writes beyond a response,
// at once or later while the connection is idle, is never read as the
// answer to the next request.
func TestTransportStrayResponse(t *testing.T) {
	for _, delay := range []time.Duration{0, 50 * time.Millisecond} {
		t.Run(delay.String(), func(t *testing.T) {
			base, conns := rawBackend(t, func(i int, c net.Conn, br *bufio.Reader) {
				if !readRequest(br) {
					return
				}
				const ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
				const stray = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstray"
				if delay == 0 {
					// In the same write, so that it is there when the
					// response is: a stray response that arrives
					// between the peek and the next answer is the
					// window no client can close.
					io.WriteString(c, ok+stray)
				} else {
					io.WriteString(c, ok)
					time.Sleep(delay)
					io.WriteString(c, stray)
				}
				readRequest(br)
			})
			tr := testTransport(t, base, time.Minute)
			for i := range 2 {
				got, err := roundTrip(t, tr, newReq(t, "GET", base+"/", ""))
				if err != nil || got != "ok" {
					t.Fatalf("request %d: %q, %v; want \"ok\"", i, got, err)
				}
				time.Sleep(2 * delay)
			}
			if n := conns.Load(); n != 2 {
				t.Errorf("the backend accepted %d connections, want 2", n)
			}
		})
	}
}

// TestTransportRetry: a request that the backend drops unanswered on a
// reused connection is sent again only under http.Transport's rules.
func TestTransportRetry(t *testing.T) {
	for _, tc := range []struct {
		method, body, key string
		retried           bool
	}{
		{"GET", "", "", true},
		{"HEAD", "", "", true},
		{"POST", "x", "", false},
		{"POST", "x", "k1", true},
		{"DELETE", "", "", false},
	} {
		t.Run(tc.method+tc.key, func(t *testing.T) {
			// The first connection answers one request, then takes the
			// next and closes without answering; later ones answer.
			base, conns := rawBackend(t, func(i int, c net.Conn, br *bufio.Reader) {
				for n := 0; readRequest(br); n++ {
					if i == 0 && n == 1 {
						return
					}
					io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
				}
			})
			tr := testTransport(t, base, time.Minute)
			if _, err := roundTrip(t, tr, newReq(t, "GET", base+"/", "")); err != nil {
				t.Fatal(err)
			}
			req := newReq(t, tc.method, base+"/", tc.body)
			if tc.key != "" {
				req.Header.Set("Idempotency-Key", tc.key)
			}
			_, err := roundTrip(t, tr, req)
			if tc.retried && err != nil {
				t.Fatalf("%s was not retried: %v", tc.method, err)
			}
			if !tc.retried && err == nil {
				t.Fatalf("%s was sent again after the backend may have acted on it", tc.method)
			}
			if want := int32(1); tc.retried {
				if n := conns.Load(); n != want+1 {
					t.Errorf("the backend accepted %d connections, want %d", n, want+1)
				}
			}
		})
	}
}

func TestTransportHeaderTimeout(t *testing.T) {
	base, _ := rawBackend(t, func(_ int, c net.Conn, br *bufio.Reader) {
		readRequest(br)
		io.Copy(io.Discard, br) // never answers
	})
	tr := testTransport(t, base, 100*time.Millisecond)
	start := time.Now()
	_, err := roundTrip(t, tr, newReq(t, "GET", base+"/", ""))
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("got %v, want a timeout", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the timeout took %v", d)
	}
}

// TestTransportCancel: cancelling the request's context ends a body that
// is still arriving, and the connection is not used again.
func TestTransportCancel(t *testing.T) {
	release := make(chan struct{})
	base, conns := rawBackend(t, func(i int, c net.Conn, br *bufio.Reader) {
		readRequest(br)
		if i == 0 {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf")
			<-release
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		readRequest(br)
	})
	defer close(release)
	tr := testTransport(t, base, time.Minute)
	ctx, cancel := context.WithCancel(context.Background())
	resp, err := tr.RoundTrip(newReq(t, "GET", base+"/", "").WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(resp.Body, buf); err != nil || string(buf) != "half" {
		t.Fatalf("first part: %q, %v", buf, err)
	}
	time.AfterFunc(50*time.Millisecond, cancel)
	if _, err := io.ReadAll(resp.Body); err == nil {
		t.Fatal("the body ended without error after the context was cancelled")
	}
	resp.Body.Close()
	if got, err := roundTrip(t, tr, newReq(t, "GET", base+"/", "")); err != nil || got != "ok" {
		t.Fatalf("next request: %q, %v", got, err)
	}
	if n := conns.Load(); n != 2 {
		t.Errorf("the backend accepted %d connections, want 2", n)
	}
}

func TestTransportInformational(t *testing.T) {
	for _, tc := range []struct {
		name, pre string
		wantErr   bool
		want1xx   []int
	}{
		{"early hints", "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n", false, []int{103}},
		{"two", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\n\r\n", false, []int{100, 103}},
		{"too many", strings.Repeat("HTTP/1.1 103 Early Hints\r\n\r\n", max1xx+1), true, nil},
		{"unasked upgrade", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", true, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base, _ := rawBackend(t, func(_ int, c net.Conn, br *bufio.Reader) {
				readRequest(br)
				io.WriteString(c, tc.pre+"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
				readRequest(br)
			})
			tr := testTransport(t, base, time.Minute)
			var got []int
			var link string
			trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
				got = append(got, code)
				if link == "" {
					link = h.Get("Link")
				}
				return nil
			}}
			req := newReq(t, "GET", base+"/", "")
			req = req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
			body, err := roundTrip(t, tr, req)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("got %q, want an error", body)
				}
				return
			}
			if err != nil || body != "ok" {
				t.Fatalf("got %q, %v", body, err)
			}
			if len(got) != len(tc.want1xx) || (len(got) > 0 && got[len(got)-1] != tc.want1xx[len(tc.want1xx)-1]) {
				t.Errorf("1xx responses seen: %v, want %v", got, tc.want1xx)
			}
			if tc.name == "early hints" && link != "</a.css>; rel=preload" {
				t.Errorf("103's Link = %q", link)
			}
		})
	}
}

// TestTransportFraming: each way a response ends leaves the connection
// reusable or not as HTTP/1.1 says, and trailers arrive.
func TestTransportFraming(t *testing.T) {
	for _, tc := range []struct {
		name, method, resp, body string
		reused                   bool
	}{
		{"length", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", "ok", true},
		{"head", "HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", "", true},
		{"no content", "GET", "HTTP/1.1 204 No Content\r\n\r\n", "", true},
		{"not modified", "GET", "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n", "", true},
		{"chunked trailer", "GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n2\r\nok\r\n0\r\nX-Sum: 7\r\n\r\n", "ok", true},
		{"close", "GET", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", "ok", false},
		{"until close", "GET", "HTTP/1.0 200 OK\r\n\r\nok", "ok", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base, conns := rawBackend(t, func(_ int, c net.Conn, br *bufio.Reader) {
				for readRequest(br) {
					io.WriteString(c, tc.resp)
					if !tc.reused {
						return
					}
				}
			})
			tr := testTransport(t, base, time.Minute)
			for i := range 2 {
				resp, err := tr.RoundTrip(newReq(t, tc.method, base+"/", ""))
				if err != nil {
					t.Fatalf("request %d: %v", i, err)
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || string(b) != tc.body {
					t.Fatalf("request %d: body %q, %v; want %q", i, b, err, tc.body)
				}
				if tc.name == "chunked trailer" && resp.Trailer.Get("X-Sum") != "7" {
					t.Errorf("trailer X-Sum = %q, want 7", resp.Trailer.Get("X-Sum"))
				}
			}
			want := int32(2)
			if tc.reused {
				want = 1
			}
			if n := conns.Load(); n != want {
				t.Errorf("the backend accepted %d connections for 2 requests, want %d", n, want)
			}
		})
	}
}

func TestTransportHeaderLimit(t *testing.T) {
	base, _ := rawBackend(t, func(_ int, c net.Conn, br *bufio.Reader) {
		readRequest(br)
		io.WriteString(c, "HTTP/1.1 200 OK\r\nX-Big: "+strings.Repeat("a", 4096)+"\r\nContent-Length: 2\r\n\r\nok")
	})
	tr := testTransport(t, base, time.Minute)
	tr.maxHeader = 1024
	if _, err := roundTrip(t, tr, newReq(t, "GET", base+"/", "")); !errors.Is(err, errHeaderTooLarge) {
		t.Fatalf("got %v, want %v", err, errHeaderTooLarge)
	}
}

// TestTransportHandsOver: the requests the fast path does not take go to
// http.Transport, which reports the connection it used to a trace.
func TestTransportHandsOver(t *testing.T) {
	srv, _ := countingServer(t, nil)
	tr := testTransport(t, srv.URL, time.Minute)
	large := strings.Repeat("a", smallBody+1)
	for _, tc := range []struct {
		name   string
		req    func() *http.Request
		direct bool
	}{
		{"get", func() *http.Request { return newReq(t, "GET", srv.URL+"/", "") }, true},
		{"small body", func() *http.Request { return newReq(t, "POST", srv.URL+"/", "abc") }, true},
		{"large body", func() *http.Request { return newReq(t, "POST", srv.URL+"/", large) }, false},
		{"streamed body", func() *http.Request {
			r := newReq(t, "POST", srv.URL+"/", "abc")
			r.GetBody = nil
			return r
		}, false},
		{"upgrade", func() *http.Request {
			r := newReq(t, "GET", srv.URL+"/", "")
			r.Header.Set("Connection", "Upgrade")
			r.Header.Set("Upgrade", "websocket")
			return r
		}, false},
		{"expect", func() *http.Request {
			r := newReq(t, "POST", srv.URL+"/", "abc")
			r.Header.Set("Expect", "100-continue")
			return r
		}, false},
		{"other host", func() *http.Request {
			r := newReq(t, "GET", srv.URL+"/", "")
			r.URL.Host = "localhost:" + r.URL.Port()
			return r
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var viaTransport bool
			req := tc.req()
			req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
				GotConn: func(httptrace.GotConnInfo) { viaTransport = true },
			}))
			if _, err := roundTrip(t, tr, req); err != nil {
				t.Fatal(err)
			}
			if viaTransport == tc.direct {
				t.Errorf("sent by http.Transport: %v, want %v", viaTransport, !tc.direct)
			}
		})
	}
	t.Run("https", func(t *testing.T) {
		ts := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
		defer ts.Close()
		tr := testTransport(t, ts.URL, time.Minute)
		tr.next.TLSClientConfig = ts.Client().Transport.(*http.Transport).TLSClientConfig
		if _, err := roundTrip(t, tr, newReq(t, "GET", ts.URL+"/", "")); err != nil {
			t.Fatalf("an https upstream is not handed to http.Transport: %v", err)
		}
	})
}

// TestTransportInvalidHeader: a header http.Transport would refuse is
// refused, not written.
func TestTransportInvalidHeader(t *testing.T) {
	srv, conns := countingServer(t, nil)
	tr := testTransport(t, srv.URL, time.Minute)
	for _, h := range []http.Header{{"Bad Name": {"v"}}, {"X-Ok": {"a\r\nInjected: 1"}}} {
		req := newReq(t, "GET", srv.URL+"/", "")
		req.Header = h
		if _, err := tr.RoundTrip(req); err == nil {
			t.Errorf("header %q was sent", h)
		}
	}
	if n := conns.Load(); n != 0 {
		t.Errorf("the backend accepted %d connections", n)
	}
}

// TestTransportIdleTimeout: connections idle past the idle timeout are
// closed by the sweep, with no request to find them, each when its own
// time comes.
func TestTransportIdleTimeout(t *testing.T) {
	closed := make(chan int, 2)
	base, _ := rawBackend(t, func(i int, c net.Conn, br *bufio.Reader) {
		for readRequest(br) {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
		closed <- i
	})
	tr := testTransport(t, base, time.Minute)
	tr.idleTimeout = 200 * time.Millisecond
	// Two connections: the first goes idle 100 ms after the second.
	first, err := tr.RoundTrip(newReq(t, "GET", base+"/", ""))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := roundTrip(t, tr, newReq(t, "GET", base+"/", "")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	io.ReadAll(first.Body)
	first.Body.Close()
	for range 2 {
		select {
		case <-closed:
		case <-time.After(5 * time.Second):
			t.Fatal("an idle connection was not closed")
		}
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if len(tr.idle) != 0 || tr.janitor != nil {
		t.Errorf("after the sweeps: %d idle connections, janitor %v", len(tr.idle), tr.janitor != nil)
	}
}

// TestTransportAbortedNotPooled: a connection whose exchange the context
// aborted is closed, even when the rest of the body was already buffered.
func TestTransportAbortedNotPooled(t *testing.T) {
	base, _ := rawBackend(t, func(_ int, c net.Conn, br *bufio.Reader) {
		for readRequest(br) {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
	})
	tr := testTransport(t, base, time.Minute)
	ctx, cancel := context.WithCancel(context.Background())
	resp, err := tr.RoundTrip(newReq(t, "GET", base+"/", "").WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	// One byte, so that the end of the body is a read of its own.
	if _, err := io.ReadFull(resp.Body, make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
	if resp.Body.(*connBody).done.Load() {
		t.Fatal("the exchange ended before the end of the body was read")
	}
	cancel()
	time.Sleep(50 * time.Millisecond) // the abort runs on its own goroutine
	io.ReadAll(resp.Body)
	resp.Body.Close()
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if len(tr.idle) != 0 {
		t.Error("the aborted connection went back to the pool")
	}
}
