package gateway_test

import (
	"net/http"
	"reflect"
	"sync"
	"testing"

	"github.com/forgeproof/forgeproof"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/gateway"
)

// issuedCounter records the kinds passed to Options.OnTokenIssued.
type issuedCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *issuedCounter) add(kind string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n[kind]++
}

func (c *issuedCounter) take() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.n
	c.n = map[string]int{}
	return n
}

// TestOnTokenIssued checks that every token the gateway hands out is
// reported once, with where it went, and that refused or failed requests
// report nothing.
func TestOnTokenIssued(t *testing.T) {
	c := &issuedCounter{n: map[string]int{}}
	backend := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/login":
			http.SetCookie(w, &http.Cookie{Name: "sid", Value: "s-1", Path: "/"})
		case "/page":
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte("<html><head></head><body><form method=post></form></body></html>"))
		}
	})
	e := start(t, gateway.Options{
		Protection: forgeproof.Config{SessionCookie: "sid"},
		Routes: []gateway.Route{
			{Pattern: "/page", InjectHTML: ptr(true)},
			{Pattern: "/login", InjectHTML: ptr(true)},
		},
		OnTokenIssued: c.add,
	}, backend)

	tests := []struct {
		name         string
		method, path string
		site         string
		want         map[string]int
	}{
		{"token endpoint", "GET", "/.forgeproof/token", "same-origin", map[string]int{gateway.TokenEndpoint: 1}},
		{"token endpoint refused cross-site", "GET", "/.forgeproof/token", "cross-site", map[string]int{}},
		{"one-time token endpoint", "GET", "/.forgeproof/one-time-token", "same-origin", map[string]int{gateway.TokenOneTime: 1}},
		{"token endpoint with POST", "POST", "/.forgeproof/token", "same-origin", map[string]int{}},
		{"html page", "GET", "/page", "same-origin", map[string]int{gateway.TokenInjection: 1}},
		// The rotated token is the page's token too: one token, one report.
		{"login rotates", "GET", "/login", "same-origin", map[string]int{gateway.TokenRotation: 1}},
		{"proxied json", "GET", "/api", "same-origin", map[string]int{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.t = t
			e.do(e.req(tt.method, tt.path, tt.site, nil))
			if got := c.take(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("OnTokenIssued got %v, want %v", got, tt.want)
			}
		})
	}
}
