package gateway_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/forgeproof/forgeproof"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/gateway"
	"github.com/gorilla/websocket"
)

// TestWebSocket proxies a real WebSocket echo server: a same-origin
// handshake is passed through, a cross-site one (cross-site WebSocket
// hijacking) is refused by the library's origin check.
func TestWebSocket(t *testing.T) {
	var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }} // the backend checks nothing
	e := start(t, gateway.Options{
		Routes: []gateway.Route{
			{Pattern: "/public/ws", Protect: forgeproof.Route{InsecureBypass: true}},
		},
	}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		for {
			mt, msg, err := c.ReadMessage()
			if err != nil {
				return
			}
			c.WriteMessage(mt, append([]byte("echo: "), msg...))
		}
	}))
	wsURL := "ws" + strings.TrimPrefix(e.gw.URL, "http")

	tests := []struct {
		name   string
		path   string
		header http.Header
		ok     bool
		reason string
	}{
		{"same origin", "/chat", http.Header{"Origin": {e.gw.URL}}, true, ""},
		{"same origin with fetch metadata", "/chat", http.Header{"Origin": {e.gw.URL}, "Sec-Fetch-Site": {"same-origin"}}, true, ""},
		{"non-browser client without origin", "/chat", nil, true, ""},
		{"cross-site origin", "/chat", http.Header{"Origin": {"https://evil.example"}}, false, "origin-mismatch"},
		{"cross-site fetch metadata", "/chat", http.Header{"Origin": {"https://evil.example"}, "Sec-Fetch-Site": {"cross-site"}}, false, "sec-fetch-site-cross-site"},
		{"null origin", "/chat", http.Header{"Origin": {"null"}}, false, "origin-null"},
		{"bypass route", "/public/ws", http.Header{"Origin": {"https://evil.example"}}, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
			c, resp, err := d.Dial(wsURL+tt.path, tt.header)
			if !tt.ok {
				if err == nil {
					c.Close()
					t.Fatal("cross-site handshake accepted")
				}
				if resp == nil {
					t.Fatalf("no HTTP answer: %v", err)
				}
				defer resp.Body.Close()
				body := make([]byte, 4096)
				n, _ := resp.Body.Read(body)
				wantProblem(t, resp, string(body[:n]), 403, tt.reason)
				return
			}
			if err != nil {
				t.Fatalf("handshake: %v (response %v)", err, resp)
			}
			defer c.Close()
			if err := c.WriteMessage(websocket.TextMessage, []byte("hello")); err != nil {
				t.Fatal(err)
			}
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			_, msg, err := c.ReadMessage()
			if err != nil || string(msg) != "echo: hello" {
				t.Fatalf("read %q, %v", msg, err)
			}
		})
	}
}

// TestWebSocketPathVariant checks that a handshake is judged under the path
// that is proxied. "/admin/../hooks/x" is dispatched by routers that do not
// resolve dot segments (Express, for one) under "/admin/", so the bypass of
// "/hooks/" must not apply to it: a cross-site handshake is refused, a
// same-origin one passes and reaches the backend with the path unchanged.
func TestWebSocketPathVariant(t *testing.T) {
	upgrader := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }} // the backend checks nothing
	paths := make(chan string, 10)
	e := start(t, gateway.Options{
		Routes: []gateway.Route{
			{Pattern: "/hooks/", Protect: forgeproof.Route{InsecureBypass: true}},
		},
	}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		paths <- r.URL.RawPath + "|" + r.URL.Path
		c, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		c.Close()
	}))
	wsURL := "ws" + strings.TrimPrefix(e.gw.URL, "http")
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}

	for _, path := range []string{"/admin/../hooks/x", "/admin/%2e%2e/hooks/x", "/admin//../hooks/x"} {
		c, resp, err := d.Dial(wsURL+path, http.Header{"Origin": {"https://evil.example"}})
		if err == nil {
			c.Close()
			t.Errorf("%s: cross-site handshake accepted (the backend saw %q)", path, <-paths)
			continue
		}
		if resp == nil {
			t.Fatalf("%s: no HTTP answer: %v", path, err)
		}
		body := make([]byte, 4096)
		n, _ := resp.Body.Read(body)
		resp.Body.Close()
		wantProblem(t, resp, string(body[:n]), 403, "origin-mismatch")

		c, resp, err = d.Dial(wsURL+path, http.Header{"Origin": {e.gw.URL}})
		if err != nil {
			t.Fatalf("%s: same-origin handshake: %v (response %v)", path, err, resp)
		}
		c.Close()
		got := <-paths
		if raw, p, _ := strings.Cut(got, "|"); raw != path && p != path {
			t.Errorf("%s: the backend was asked for %q", path, got)
		}
	}

	// The bypass itself still holds on its own clean path.
	c, _, err := d.Dial(wsURL+"/hooks/x", http.Header{"Origin": {"https://evil.example"}})
	if err != nil {
		t.Fatalf("bypass route: %v", err)
	}
	c.Close()
	<-paths
}
