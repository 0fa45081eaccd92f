package forgeproof_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/forgeproof/forgeproof"
)

type ctxKey struct{}

// TestOnRequestDecision checks that OnRequestDecision is called once per
// request, after OnDecision and with the same Event, with the request
// whose context the caller prepared, by Handler, OriginHandler and Refuse.
func TestOnRequestDecision(t *testing.T) {
	type call struct {
		tag string
		e   forgeproof.Event
	}
	var plain []forgeproof.Event
	var calls []call
	p, err := forgeproof.New(forgeproof.Config{
		Tokens:     forgeproof.TokensOff,
		OnDecision: func(e forgeproof.Event) { plain = append(plain, e) },
		OnRequestDecision: func(r *http.Request, e forgeproof.Event) {
			if len(plain) != len(calls)+1 {
				t.Errorf("OnRequestDecision called before OnDecision")
			}
			tag, _ := r.Context().Value(ctxKey{}).(string)
			calls = append(calls, call{tag, e})
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	next := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	tests := []struct {
		name   string
		method string
		site   string
		serve  func(w http.ResponseWriter, r *http.Request)
		want   forgeproof.Decision
		reason forgeproof.Reason
	}{
		{"handler allow", "POST", "same-origin", p.Handler(next).ServeHTTP, forgeproof.Allowed, forgeproof.ReasonNone},
		{"handler deny", "POST", "cross-site", p.Handler(next).ServeHTTP, forgeproof.Denied, forgeproof.ReasonSecFetchSiteCrossSite},
		{"handler safe", "GET", "cross-site", p.Handler(next).ServeHTTP, forgeproof.Allowed, forgeproof.ReasonNone},
		{"origin handler deny", "GET", "cross-site", p.OriginHandler(next).ServeHTTP, forgeproof.Denied, forgeproof.ReasonSecFetchSiteCrossSite},
		{"refuse", "POST", "same-origin", func(w http.ResponseWriter, r *http.Request) {
			p.Refuse(w, r, forgeproof.ReasonRoleForbidden, false)
		}, forgeproof.Denied, forgeproof.ReasonRoleForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plain, calls = nil, nil
			r := httptest.NewRequest(tt.method, "https://bank.test/x", nil)
			r.Header.Set("Sec-Fetch-Site", tt.site)
			r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, tt.name))
			tt.serve(httptest.NewRecorder(), r)
			if len(calls) != 1 || len(plain) != 1 {
				t.Fatalf("OnRequestDecision called %d times, OnDecision %d times; want 1 and 1", len(calls), len(plain))
			}
			c := calls[0]
			if c.tag != tt.name {
				t.Errorf("request context holds %q, want %q", c.tag, tt.name)
			}
			if c.e != plain[0] {
				t.Errorf("events differ:\n%+v\n%+v", c.e, plain[0])
			}
			if c.e.Decision != tt.want || c.e.Reason != tt.reason {
				t.Errorf("event %v %v, want %v %v", c.e.Decision, c.e.Reason, tt.want, tt.reason)
			}
		})
	}
}

// TestOnRequestDecisionAlone checks that OnRequestDecision works without
// OnDecision, and costs no allocation on the reject path.
func TestOnRequestDecisionAlone(t *testing.T) {
	n := 0
	p, err := forgeproof.New(forgeproof.Config{
		Tokens:            forgeproof.TokensOff,
		OnRequestDecision: func(*http.Request, forgeproof.Event) { n++ },
	})
	if err != nil {
		t.Fatal(err)
	}
	h := p.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	r := httptest.NewRequest("POST", "https://bank.test/x", nil)
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	w := httptest.NewRecorder()
	allocs := testing.AllocsPerRun(100, func() { h.ServeHTTP(w, r) })
	if n == 0 {
		t.Fatal("OnRequestDecision never called")
	}
	if allocs != 0 && testing.CoverMode() == "" && !raceEnabled {
		t.Errorf("%v allocations per request, want 0", allocs)
	}
}
