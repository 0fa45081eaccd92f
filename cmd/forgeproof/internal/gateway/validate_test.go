package gateway_test

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/forgeproof/forgeproof"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/gateway"
)

// bodyRule is a RequestValidator that refuses a body holding "bad" at
// /field, and checks that the body it is given is the one in r.Body.
type bodyRule struct {
	t     *testing.T
	calls int
	mu    sync.Mutex
}

func (v *bodyRule) ValidateRequest(r *http.Request, body []byte) *gateway.Invalid {
	v.mu.Lock()
	v.calls++
	v.mu.Unlock()
	read, _ := io.ReadAll(r.Body)
	if !bytes.Equal(read, body) {
		v.t.Errorf("r.Body holds %q, the body argument %q", read, body)
	}
	if bytes.Contains(body, []byte("bad")) {
		return &gateway.Invalid{Reason: forgeproof.ReasonRequestInvalid, Detail: "/field: not allowed", In: "body", Pointer: "/field"}
	}
	if r.URL.Query().Get("q") == "x" {
		return &gateway.Invalid{Reason: forgeproof.ReasonRequestInvalid, Detail: "the query parameter \"q\" is invalid", In: "query", Parameter: "q"}
	}
	return nil
}

// recorder is a backend that keeps the bodies it receives.
type recorder struct {
	mu     sync.Mutex
	bodies []string
}

func (b *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	b.mu.Lock()
	b.bodies = append(b.bodies, r.Method+" "+r.URL.Path+" "+string(body))
	b.mu.Unlock()
	io.WriteString(w, "ok")
}

func (b *recorder) got() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.bodies...)
}

// TestValidation checks the gateway's side of request validation: which
// requests are validated, what a refusal looks like, report-only, the
// bound on held bodies, the unknown-path policies, and that the backend
// gets the exact bytes.
func TestValidation(t *testing.T) {
	type event struct {
		reason     string
		reportOnly bool
	}
	tests := []struct {
		name       string
		unknown    gateway.UnknownPolicy
		reportOnly bool // the validated route's
		method     string
		path       string
		body       string
		chunked    bool
		header     string // X-HTTP-Method-Override
		status     int
		reason     string
		member     string // a member the problem must hold
		proxied    bool
		events     []event
		validated  bool
	}{
		{name: "valid body", method: "POST", path: "/items", body: `{"field": "good"}`, status: 200, proxied: true, validated: true},
		{name: "valid chunked body", method: "POST", path: "/items", body: `{"field": "good"}`, chunked: true, status: 200, proxied: true, validated: true},
		{name: "invalid body", method: "POST", path: "/items", body: `{"field":"bad"}`, status: 400, reason: "request-invalid", member: `"pointer":"/field"`, events: []event{{"request-invalid", false}}, validated: true},
		{name: "invalid query", method: "POST", path: "/items?q=x", body: `{}`, status: 400, reason: "request-invalid", member: `"parameter":"q","in":"query"`, events: []event{{"request-invalid", false}}, validated: true},
		{name: "report-only route", reportOnly: true, method: "POST", path: "/items", body: `{"field":"bad"}`, status: 200, proxied: true, events: []event{{"request-invalid", true}}, validated: true},
		{name: "body over the bound", method: "POST", path: "/items", body: `{"field":"` + strings.Repeat("a", 100) + `"}`, status: 413, reason: "request-too-large", member: `"pointer":""`, events: []event{{"request-too-large", false}}},
		{name: "chunked body over the bound", method: "POST", path: "/items", body: `{"field":"` + strings.Repeat("a", 100) + `"}`, chunked: true, status: 413, reason: "request-too-large", events: []event{{"request-too-large", false}}},
		{name: "report-only body over the bound", reportOnly: true, method: "POST", path: "/items", body: `{"field":"` + strings.Repeat("b", 100) + `"}`, status: 200, proxied: true, events: []event{{"request-too-large", true}}},
		{name: "case variant validated", method: "POST", path: "/ITEMS", body: `{"field":"bad"}`, status: 400, reason: "request-invalid", events: []event{{"request-invalid", false}}, validated: true},
		{name: "trailing slash variant validated", method: "POST", path: "/items/", body: `{"field":"bad"}`, status: 400, reason: "request-invalid", events: []event{{"request-invalid", false}}, validated: true},
		{name: "method override validated", method: "PUT", path: "/items", header: "DELETE", body: `{"field":"bad"}`, status: 400, reason: "request-invalid", events: []event{{"request-invalid", false}}, validated: true},
		{name: "unknown policy sees variants", unknown: gateway.UnknownDeny, method: "GET", path: "/ITEMS", status: 200, proxied: true},
		{name: "safe method not validated", method: "GET", path: "/items", status: 200, proxied: true},
		{name: "unsafe GET validated", method: "GET", path: "/archive?q=x", status: 400, reason: "request-invalid", events: []event{{"request-invalid", false}}, validated: true},
		{name: "unknown path passes", method: "POST", path: "/other", body: `bad`, status: 200, proxied: true},
		{name: "unknown path reported", unknown: gateway.UnknownReport, method: "GET", path: "/other", status: 200, proxied: true, events: []event{{"operation-unknown", true}}},
		{name: "unknown path denied", unknown: gateway.UnknownDeny, method: "GET", path: "/other", status: 404, reason: "operation-unknown", events: []event{{"operation-unknown", false}}},
		{name: "unknown method denied", unknown: gateway.UnknownDeny, method: "PATCH", path: "/items", status: 404, reason: "operation-unknown", events: []event{{"operation-unknown", false}}},
		{name: "reserved prefix never unknown", unknown: gateway.UnknownDeny, method: "GET", path: "/.forgeproof/csrf.js", status: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := &bodyRule{t: t}
			backend := &recorder{}
			var mu sync.Mutex
			var events []event
			e := start(t, gateway.Options{
				Protection: forgeproof.Config{Tokens: forgeproof.TokensOff, OnDecision: func(ev forgeproof.Event) {
					if ev.Decision == forgeproof.Denied {
						mu.Lock()
						events = append(events, event{ev.Reason.String(), ev.ReportOnly})
						mu.Unlock()
					}
				}},
				Routes: []gateway.Route{
					{Pattern: "POST /items", Validator: v, Protect: forgeproof.Route{ReportOnly: tt.reportOnly}},
					{Pattern: "GET /items", Validator: v},
					{Pattern: "GET /archive", Validator: v, Protect: forgeproof.Route{CheckSafeMethods: true}},
					{Pattern: "DELETE /items", Validator: v},
				},
				MaxValidatedBodyBytes: 64,
				UnknownPaths:          tt.unknown,
			}, backend)
			var rb io.Reader
			if tt.body != "" {
				rb = strings.NewReader(tt.body)
				if tt.chunked {
					rb = io.MultiReader(rb) // no length: sent chunked
				}
			}
			r := e.req(tt.method, tt.path, "same-origin", rb)
			if tt.header != "" {
				r.Header.Set("X-HTTP-Method-Override", tt.header)
			}
			resp, body := e.do(r)
			if tt.reason != "" {
				wantProblem(t, resp, body, tt.status, tt.reason)
				if tt.member != "" && !strings.Contains(body, tt.member) {
					t.Errorf("problem %s lacks %s", body, tt.member)
				}
			} else if resp.StatusCode != tt.status {
				t.Fatalf("%d %s, want %d", resp.StatusCode, body, tt.status)
			}
			got := backend.got()
			if tt.proxied {
				want := tt.method + " " + strings.Split(tt.path, "?")[0] + " " + tt.body
				if len(got) != 1 || got[0] != want {
					t.Errorf("backend received %q, want %q", got, want)
				}
			} else if len(got) != 0 {
				t.Errorf("backend received %q", got)
			}
			if (v.calls > 0) != tt.validated {
				t.Errorf("validator called %d times, want validated=%v", v.calls, tt.validated)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(events) != len(tt.events) || (len(events) > 0 && events[0] != tt.events[0]) {
				t.Errorf("denials reported %v, want %v", events, tt.events)
			}
		})
	}
}

// TestValidationOptions refuses a bad policy and a negative bound.
func TestValidationOptions(t *testing.T) {
	for _, opts := range []gateway.Options{
		{UnknownPaths: 7},
		{MaxValidatedBodyBytes: -1},
	} {
		opts.Upstreams = []gateway.Upstream{{URL: mustURL(t, "http://127.0.0.1:1")}}
		if _, err := gateway.New(opts); err == nil {
			t.Errorf("New(%+v) accepted", opts)
		}
	}
}
