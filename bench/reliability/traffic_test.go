package reliability

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// A kind is the class of a client request; every request gets one record.
type kind string

const (
	kindLegit     kind = "legit"      // a signed-in browser with its token
	kindForged    kind = "forged"     // a cross-site request with the victim's cookies, no token
	kindToken     kind = "token"      // a signed-in browser fetching its token
	kindAnonToken kind = "anon-token" // a token request without cookies (flood)
	kindWS        kind = "ws"         // a same-origin WebSocket session
	kindForgedWS  kind = "forged-ws"  // a cross-site WebSocket handshake
	kindOversize  kind = "oversize"   // oversize header or body
)

// record is one request's verdict.
type record struct {
	At     time.Time `json:"at"`
	Phase  string    `json:"phase"`
	Kind   kind      `json:"kind"`
	Route  string    `json:"route"`
	Status int       `json:"status"` // 0: transport error
	Reason string    `json:"reason,omitempty"`
	Type   string    `json:"type,omitempty"`
	Err    string    `json:"err,omitempty"`
}

// recorder keeps every record, in memory.
type recorder struct {
	mu    sync.Mutex
	phase string
	recs  []record
}

func (r *recorder) setPhase(p string) {
	r.mu.Lock()
	r.phase = p
	r.mu.Unlock()
}

func (r *recorder) add(rec record) {
	r.mu.Lock()
	rec.Phase = r.phase
	r.recs = append(r.recs, rec)
	r.mu.Unlock()
}

func (r *recorder) all() []record {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]record(nil), r.recs...)
}

// problem is the gateway's problem+json body.
type problem struct {
	Type   string `json:"type"`
	Reason string `json:"reason"`
}

// do sends req and records its verdict.
func do(c *http.Client, rec *recorder, k kind, route string, req *http.Request) (*http.Response, []byte) {
	resp, err := c.Do(req)
	r := record{At: time.Now(), Kind: k, Route: route}
	if err != nil {
		r.Err = err.Error()
		rec.add(r)
		return nil, nil
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	r.Status = resp.StatusCode
	if resp.StatusCode >= 400 {
		var p problem
		json.Unmarshal(body, &p)
		r.Reason, r.Type = p.Reason, p.Type
	}
	rec.add(r)
	return resp, body
}

func newClient(jar http.CookieJar) *http.Client {
	return &http.Client{
		Jar:     jar,
		Timeout: 15 * time.Second,
		Transport: &http.Transport{
			MaxIdleConnsPerHost: 1, MaxConnsPerHost: 1, // one connection per browser
			DisableCompression: true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// browser is a signed-in, same-origin client.
type browser struct {
	g      *gateway
	rec    *recorder
	c      *http.Client
	jar    http.CookieJar
	mu     sync.Mutex
	token  string
	header string
}

func newBrowser(g *gateway, rec *recorder) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{g: g, rec: rec, c: newClient(jar), jar: jar}
}

func (b *browser) sameOrigin(req *http.Request) {
	req.Header.Set("Origin", b.g.Origin)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("Sec-Fetch-Mode", "cors")
}

// signIn opens a session at the backend; the gateway rotates the token on
// that response. It then fetches the token from the token endpoint.
func (b *browser) signIn() bool {
	req, _ := http.NewRequest("GET", b.g.Origin+"/session", nil)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("Sec-Fetch-Mode", "navigate")
	resp, _ := do(b.c, b.rec, kindLegit, "/session", req)
	if resp == nil || resp.StatusCode != 200 {
		return false
	}
	return b.fetchToken()
}

// fetchToken gets a fresh masked token; the header name comes from the
// served JSON, not from this file.
func (b *browser) fetchToken() bool {
	req, _ := http.NewRequest("GET", b.g.Origin+"/.forgeproof/token", nil)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("Sec-Fetch-Mode", "cors")
	resp, body := do(b.c, b.rec, kindToken, "/.forgeproof/token", req)
	if resp == nil || resp.StatusCode != 200 {
		return false
	}
	var tok struct{ Token, Header string }
	if json.Unmarshal(body, &tok) != nil || tok.Token == "" || tok.Header == "" {
		return false
	}
	b.mu.Lock()
	b.token, b.header = tok.Token, tok.Header
	b.mu.Unlock()
	return true
}

func (b *browser) tok() (string, string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.header, b.token
}

// post sends a same-origin JSON POST with the token.
func (b *browser) post(route string) *http.Response {
	req, _ := http.NewRequest("POST", b.g.Origin+route, strings.NewReader(`{"amount":1}`))
	req.Header.Set("Content-Type", "application/json")
	b.sameOrigin(req)
	if h, t := b.tok(); t != "" {
		req.Header.Set(h, t)
	}
	resp, _ := do(b.c, b.rec, kindLegit, routeClass(route), req)
	return resp
}

func routeClass(path string) string {
	for _, p := range []string{"/api/sync/", "/api/open/", "/api/signed/"} {
		if strings.HasPrefix(path, p) {
			return p
		}
	}
	return path
}

// run is the browser's loop: sign in, then a mix of safe requests, POSTs to
// the three route classes and token refreshes, paced by pause.
func (b *browser) run(stop <-chan struct{}, pause time.Duration, n int) {
	signedIn := false
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		case <-time.After(pause):
		}
		if !signedIn {
			signedIn = b.signIn()
			continue
		}
		switch (i + n) % 8 {
		case 0:
			req, _ := http.NewRequest("GET", b.g.Origin+"/api/data", nil)
			req.Header.Set("Sec-Fetch-Site", "same-origin")
			do(b.c, b.rec, kindLegit, "GET /api/data", req)
		case 1, 2:
			b.post("/api/signed/transfer")
		case 3, 4:
			b.post("/api/sync/transfer")
		case 5, 6:
			b.post("/api/open/comment")
		case 7:
			b.fetchToken()
		}
	}
}

// forger sends cross-site requests carrying a signed-in victim's cookies
// (as a browser would) and no token. Every one must be refused.
type forger struct {
	g      *gateway
	rec    *recorder
	c      *http.Client
	origin func(i int) string
}

func (f *forger) send(i int) {
	routes := []string{"/api/signed/transfer", "/api/sync/transfer", "/api/open/comment"}
	route := routes[i%len(routes)]
	req, _ := http.NewRequest("POST", f.g.Origin+route+"?forged=1", strings.NewReader("amount=1000000&to=mallory"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	switch i % 4 {
	case 0, 1: // a modern browser
		req.Header.Set("Origin", f.origin(i))
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		req.Header.Set("Sec-Fetch-Mode", "navigate")
	case 2: // an old browser: Origin only
		req.Header.Set("Origin", f.origin(i))
	case 3: // a privacy proxy stripped Origin: a same-site-looking request without token
		if route == "/api/open/comment" { // tokens off: nothing left to check
			req.Header.Set("Origin", f.origin(i))
		}
		req.Header.Set("Referer", f.origin(i)+"/page")
	}
	do(f.c, f.rec, kindForged, routeClass(route), req)
}

func (f *forger) run(stop <-chan struct{}, pause time.Duration) {
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		case <-time.After(pause):
		}
		f.send(i)
	}
}

// wsClient holds a same-origin WebSocket and echoes a message through it
// now and then; it also tries a cross-site handshake with the victim's
// cookies, which must be refused.
func wsRun(g *gateway, rec *recorder, jar http.CookieJar, stop <-chan struct{}, pause time.Duration) {
	url := "ws" + strings.TrimPrefix(g.Origin, "http") + "/ws"
	d := &websocket.Dialer{Jar: jar, HandshakeTimeout: 10 * time.Second}
	var conn *websocket.Conn
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		case <-time.After(pause):
		}
		if i%5 == 4 { // forged handshake
			h := http.Header{"Origin": {"http://ws.evil.example"}, "Sec-Fetch-Site": {"cross-site"}}
			c, resp, err := d.Dial(url+"?forged=1", h)
			r := record{At: time.Now(), Kind: kindForgedWS, Route: "/ws"}
			if c != nil {
				r.Status = 101
				c.Close()
			} else if resp != nil {
				r.Status = resp.StatusCode
				var p problem
				b, _ := io.ReadAll(resp.Body)
				json.Unmarshal(b, &p)
				r.Reason = p.Reason
			} else {
				r.Err = err.Error()
			}
			rec.add(r)
			continue
		}
		r := record{At: time.Now(), Kind: kindWS, Route: "/ws"}
		if conn == nil {
			h := http.Header{"Origin": {g.Origin}, "Sec-Fetch-Site": {"same-origin"}}
			c, resp, err := d.Dial(url, h)
			switch {
			case c != nil:
				conn = c
			case resp != nil:
				r.Status = resp.StatusCode
				var p problem
				b, _ := io.ReadAll(resp.Body)
				json.Unmarshal(b, &p)
				r.Reason, r.Type = p.Reason, p.Type
				rec.add(r)
				continue
			default:
				r.Err = err.Error()
				rec.add(r)
				continue
			}
		}
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
		msg := fmt.Sprintf("ping %d", i)
		err := conn.WriteMessage(websocket.TextMessage, []byte(msg))
		var got []byte
		if err == nil {
			_, got, err = conn.ReadMessage()
		}
		if err != nil || string(got) != msg {
			// the backend restart closes sessions: reconnect, as a page would
			if err != nil {
				r.Err = err.Error()
			}
			conn.Close()
			conn = nil
		} else {
			r.Status = 101
		}
		rec.add(r)
	}
}
