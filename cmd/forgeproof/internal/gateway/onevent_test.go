package gateway_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/forgeproof/forgeproof"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/gateway"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/identity"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/metrics"
)

// TestOneEventPerRequest sends requests through a gateway with every layer
// that can refuse one (role check, unknown-path policy, library, request
// validation) to a real backend, and checks that each request yields
// exactly one decision event, with the final verdict, and moves
// forgeproof_requests_total by exactly one.
func TestOneEventPerRequest(t *testing.T) {
	p := newIDP(t)
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var events []forgeproof.Event
	upgrader := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	backend := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ws":
			if c, err := upgrader.Upgrade(w, r, nil); err == nil {
				c.Close()
			}
		case "/verify":
			w.WriteHeader(http.StatusUnauthorized) // a wrong password
		default:
			echoHandler(w, r)
		}
	})
	e := start(t, gateway.Options{
		Protection: forgeproof.Config{
			Tokens: forgeproof.TokensOff,
			OnDecision: func(ev forgeproof.Event) {
				mu.Lock()
				events = append(events, ev)
				mu.Unlock()
				m.Observe(ev)
			},
		},
		Identity: &identity.Options{JWT: &identity.JWT{
			JWKSURL: p.srv.URL + "/jwks", HTTPClient: p.srv.Client(),
			Issuer: "https://idp.test", Audience: "bank",
		}},
		Routes: []gateway.Route{
			{Pattern: "/api/"},
			{Pattern: "/ws"},
			{Pattern: "/admin/", Roles: []string{"admin"}},
			{Pattern: "/soft/", Roles: []string{"admin"}, Protect: forgeproof.Route{ReportOnly: true}},
			{Pattern: "POST /items", Validator: &bodyRule{t: t}},
			{Pattern: "POST /softitems", Validator: &bodyRule{t: t}, Protect: forgeproof.Route{ReportOnly: true}},
			{Pattern: "/public/", Protect: forgeproof.Route{InsecureBypass: true}},
		},
		UnknownPaths:  gateway.UnknownReport,
		ReauthVerify:  "/verify",
		ReauthSuccess: gateway.ReauthSuccess{Status: http.StatusNoContent, Header: "X-Verified", Value: "true"},
	}, backend)
	admin := p.token(t, time.Hour, "admin")
	teller := p.token(t, time.Hour, "teller")

	const none = forgeproof.ReasonNone
	tests := []struct {
		name         string
		method, path string
		site         string // see env.req
		bearer       string
		body         string
		ws           bool // a WebSocket handshake
		status       int
		events       int // 1, or 0 for what the library never sees
		deny         bool
		reason       forgeproof.Reason
		reportOnly   bool
		safe, exempt bool
		route        string // when not ""
	}{
		{name: "allowed", method: "POST", path: "/api/x", site: "same-origin", status: 200, events: 1, route: "/api/"},
		{name: "library denial", method: "POST", path: "/api/x", site: "cross-site", status: 403, events: 1, deny: true, reason: forgeproof.ReasonSecFetchSiteCrossSite},
		{name: "role allowed", method: "POST", path: "/admin/x", site: "same-origin", bearer: admin, status: 200, events: 1},
		{name: "role refusal", method: "POST", path: "/admin/x", site: "same-origin", status: 401, events: 1, deny: true, reason: forgeproof.ReasonUnauthenticated},
		{name: "role refusal, missing role", method: "POST", path: "/admin/x", site: "same-origin", bearer: teller, status: 403, events: 1, deny: true, reason: forgeproof.ReasonRoleForbidden},
		{name: "role refusal before library denial", method: "POST", path: "/admin/x", site: "cross-site", status: 401, events: 1, deny: true, reason: forgeproof.ReasonUnauthenticated},
		{name: "role refusal report-only", method: "POST", path: "/soft/x", site: "same-origin", status: 200, events: 1, deny: true, reason: forgeproof.ReasonUnauthenticated, reportOnly: true, route: "/soft/"},
		{name: "role refusal report-only, library report-only too", method: "POST", path: "/soft/x", site: "cross-site", status: 200, events: 1, deny: true, reason: forgeproof.ReasonUnauthenticated, reportOnly: true},
		{name: "role refusal report-only on a safe GET", method: "GET", path: "/soft/x", status: 200, events: 1, deny: true, reason: forgeproof.ReasonUnauthenticated, reportOnly: true, safe: true},
		{name: "validation refusal", method: "POST", path: "/items", site: "same-origin", body: `{"field":"bad"}`, status: 400, events: 1, deny: true, reason: forgeproof.ReasonRequestInvalid, route: "POST /items"},
		{name: "validation passed", method: "POST", path: "/items", site: "same-origin", body: `{"field":"good"}`, status: 200, events: 1, route: "POST /items"},
		{name: "library denial before validation", method: "POST", path: "/items", site: "cross-site", body: `{"field":"bad"}`, status: 403, events: 1, deny: true, reason: forgeproof.ReasonSecFetchSiteCrossSite},
		{name: "validation refusal report-only", method: "POST", path: "/softitems", site: "same-origin", body: `{"field":"bad"}`, status: 200, events: 1, deny: true, reason: forgeproof.ReasonRequestInvalid, reportOnly: true, route: "POST /softitems"},
		{name: "library report-only denial before validation report-only", method: "POST", path: "/softitems", site: "cross-site", body: `{"field":"bad"}`, status: 200, events: 1, deny: true, reason: forgeproof.ReasonSecFetchSiteCrossSite, reportOnly: true},
		{name: "unknown path reported", method: "POST", path: "/nowhere", site: "same-origin", status: 200, events: 1, deny: true, reason: forgeproof.ReasonOperationUnknown, reportOnly: true},
		{name: "unknown path, library denial", method: "POST", path: "/nowhere", site: "cross-site", status: 403, events: 1, deny: true, reason: forgeproof.ReasonSecFetchSiteCrossSite},
		{name: "token endpoint", method: "GET", path: "/.forgeproof/token", site: "same-origin", status: 200, events: 1, route: "GET /.forgeproof/token"},
		{name: "token endpoint cross-site", method: "GET", path: "/.forgeproof/token", site: "cross-site", status: 403, events: 1, deny: true, reason: forgeproof.ReasonSecFetchSiteCrossSite},
		{name: "re-auth endpoint", method: "POST", path: "/.forgeproof/reauth", site: "same-origin", body: `{"method":"POST","path":"/api/x"}`, status: 401, events: 1},
		{name: "re-auth endpoint cross-site", method: "POST", path: "/.forgeproof/reauth", site: "cross-site", body: `{"method":"POST","path":"/api/x"}`, status: 403, events: 1, deny: true, reason: forgeproof.ReasonSecFetchSiteCrossSite},
		{name: "script", method: "GET", path: "/.forgeproof/csrf.js", status: 200, events: 0},
		{name: "exempt route", method: "POST", path: "/public/x", site: "cross-site", status: 200, events: 1, exempt: true},
		{name: "safe GET", method: "GET", path: "/api/x", site: "cross-site", status: 200, events: 1, safe: true, route: "/api/"},
		{name: "WebSocket handshake", path: "/ws", site: "same-origin", ws: true, status: 101, events: 1},
		{name: "WebSocket handshake cross-site", path: "/ws", site: "cross-site", ws: true, status: 403, events: 1, deny: true, reason: forgeproof.ReasonSecFetchSiteCrossSite},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mu.Lock()
			events = nil
			mu.Unlock()
			before := requestsTotal(t, reg)
			var status int
			if tt.ws {
				h := e.req("GET", tt.path, tt.site, nil).Header
				d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
				c, resp, err := d.Dial("ws"+strings.TrimPrefix(e.gw.URL, "http")+tt.path, h)
				if c != nil {
					c.Close()
				}
				if resp == nil {
					t.Fatalf("handshake: %v", err)
				}
				status = resp.StatusCode
			} else {
				var r *http.Request
				if tt.body != "" {
					r = e.req(tt.method, tt.path, tt.site, strings.NewReader(tt.body))
					r.Header.Set("Content-Type", "application/json")
				} else {
					r = e.req(tt.method, tt.path, tt.site, nil)
				}
				if tt.bearer != "" {
					r.Header.Set("Authorization", "Bearer "+tt.bearer)
				}
				resp, _ := e.do(r)
				status = resp.StatusCode
			}
			if status != tt.status {
				t.Errorf("status %d, want %d", status, tt.status)
			}
			mu.Lock()
			got := append([]forgeproof.Event(nil), events...)
			mu.Unlock()
			if len(got) != tt.events {
				t.Fatalf("%d decision events, want %d: %+v", len(got), tt.events, got)
			}
			if delta := requestsTotal(t, reg) - before; delta != float64(tt.events) {
				t.Errorf("forgeproof_requests_total moved by %v, want %d", delta, tt.events)
			}
			if tt.events == 0 {
				return
			}
			ev := got[0]
			want := forgeproof.Allowed
			if tt.deny {
				want = forgeproof.Denied
			}
			if ev.Decision != want || ev.Reason != tt.reason || ev.ReportOnly != tt.reportOnly {
				t.Errorf("event %v %v report-only=%v, want %v %v report-only=%v", ev.Decision, ev.Reason, ev.ReportOnly, want, tt.reason, tt.reportOnly)
			}
			if ev.Safe != tt.safe || ev.Exempt != tt.exempt {
				t.Errorf("event safe=%v exempt=%v, want %v %v", ev.Safe, ev.Exempt, tt.safe, tt.exempt)
			}
			if tt.route != "" && ev.Route != tt.route {
				t.Errorf("event route %q, want %q", ev.Route, tt.route)
			}
			// The library's summary of the request is kept, whichever
			// layer decided.
			if ev.Path != strings.Split(tt.path, "?")[0] || ev.SecFetchSite != tt.site || ev.RemoteAddr == "" {
				t.Errorf("event path %q sec-fetch-site %q remote %q, want %q %q and an address", ev.Path, ev.SecFetchSite, ev.RemoteAddr, tt.path, tt.site)
			}
			if tt.site != "" && ev.Origin == "" {
				t.Errorf("event lacks the Origin")
			}
		})
	}
}

// requestsTotal sums forgeproof_requests_total over every label as
// gathered from reg.
func requestsTotal(t *testing.T, reg *prometheus.Registry) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var n float64
	for _, mf := range mfs {
		if mf.GetName() == "forgeproof_requests_total" {
			for _, mt := range mf.GetMetric() {
				n += mt.GetCounter().GetValue()
			}
		}
	}
	return n
}
