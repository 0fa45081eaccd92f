package gateway_test

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/forgeproof/forgeproof"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/gateway"
)

// A response that carries a token or sets the token cookie must not be
// kept by a CDN, whatever cache directives aimed at shared caches the
// backend sent: a cached copy would hand one user's token and cookie to
// the next.
func TestTokenResponsesNotCachedByCDN(t *testing.T) {
	backend := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", "public, max-age=600")
		h.Set("CDN-Cache-Control", "public, max-age=600")
		h.Set("Surrogate-Control", "max-age=600")
		h.Set("Cloudflare-CDN-Cache-Control", "max-age=600")
		h.Set("Expires", "Thu, 01 Jan 2099 00:00:00 GMT")
		if r.URL.Path == "/login" {
			h.Add("Set-Cookie", "sid=new-session; Path=/")
		}
		if r.URL.Path == "/page" || r.URL.Path == "/login" {
			h.Set("Content-Type", "text/html")
			io.WriteString(w, "<html><head></head><body>hi</body></html>")
			return
		}
		io.WriteString(w, "plain")
	})
	e := start(t, gateway.Options{
		Protection: forgeproof.Config{SessionCookie: "sid"},
		Routes:     []gateway.Route{{Pattern: "/page", InjectHTML: ptr(true)}},
	}, backend)

	for _, path := range []string{"/page", "/login"} {
		t.Run(path, func(t *testing.T) {
			resp, body := e.do(e.req("GET", path, "", nil))
			if path == "/page" && !strings.Contains(body, `name="forgeproof-token"`) {
				t.Fatalf("no token injected: %s", body)
			}
			if path == "/login" && resp.Header.Get("X-Forgeproof-Token") == "" {
				t.Fatalf("no rotated token on the login response: %v", resp.Header)
			}
			for _, k := range []string{"Cache-Control", "CDN-Cache-Control", "Surrogate-Control"} {
				if got := resp.Header.Values(k); strings.Join(got, "|") != "no-store" {
					t.Errorf("%s = %q, want no-store", k, got)
				}
			}
			for _, k := range []string{"Cloudflare-CDN-Cache-Control", "Expires"} {
				if got := resp.Header.Values(k); len(got) != 0 {
					t.Errorf("%s = %q kept on a token-bearing response", k, got)
				}
			}
		})
	}

	// A response without a token keeps the backend's caching choices.
	resp, _ := e.do(e.req("GET", "/other", "", nil))
	if got := resp.Header.Get("CDN-Cache-Control"); got != "public, max-age=600" {
		t.Errorf("CDN-Cache-Control of a tokenless response = %q, want the backend's", got)
	}
}

// Only an X-Frame-Options that browsers enforce (DENY, SAMEORIGIN) counts
// as the backend's framing rule; anything else leaves the gateway's
// frame-ancestors in place.
func TestInvalidFrameOptionsKeepsFrameAncestors(t *testing.T) {
	tests := []struct {
		xfo  []string
		want bool // frame-ancestors added
	}{
		{[]string{"DENY"}, false},
		{[]string{"sameorigin"}, false},
		{[]string{" SAMEORIGIN , SAMEORIGIN"}, false},
		{[]string{"ALLOW-FROM https://evil.example"}, true},
		{[]string{"ALLOWALL"}, true},
		{[]string{"DENY;"}, true},
		{[]string{"deny-all"}, true},
		{[]string{""}, true},
		{[]string{"DENY", "bogus"}, true},
	}
	for _, withCSP := range []bool{false, true} {
		for _, tt := range tests {
			e := start(t, gateway.Options{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header()["X-Frame-Options"] = tt.xfo
				if withCSP {
					w.Header().Set("Content-Security-Policy", "default-src 'self'")
				}
			}))
			resp, _ := e.do(e.req("GET", "/", "", nil))
			got := strings.Contains(strings.Join(resp.Header.Values("Content-Security-Policy"), ";"), "frame-ancestors 'self'")
			if got != tt.want {
				t.Errorf("backend CSP %v, X-Frame-Options %q: frame-ancestors added = %v, want %v (CSP %q)",
					withCSP, tt.xfo, got, tt.want, resp.Header.Values("Content-Security-Policy"))
			}
		}
	}
}

// A CORS policy on a method-specific route answers the preflight of that
// method on its path: the preflight is an OPTIONS request, but it asks
// about the request that follows, so it is matched under the method named
// in Access-Control-Request-Method.
func TestPreflightMatchedUnderRequestedMethod(t *testing.T) {
	e := start(t, gateway.Options{
		Routes: []gateway.Route{
			{Pattern: "PUT /api/items", CORS: &gateway.CORS{
				AllowOrigins: []string{"https://app.example"},
				AllowMethods: []string{"PUT"},
			}},
		},
	}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Backend", "1")
		w.WriteHeader(http.StatusMethodNotAllowed)
	}))
	preflight := func(method string) *http.Response {
		r := e.req("OPTIONS", "/api/items", "", nil)
		r.Header.Set("Origin", "https://app.example")
		r.Header.Set("Access-Control-Request-Method", method)
		resp, _ := e.do(r)
		return resp
	}
	resp := preflight("PUT")
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example" ||
		resp.Header.Get("Access-Control-Allow-Methods") != "PUT" {
		t.Errorf("preflight for PUT: %d, Allow-Origin %q, Allow-Methods %q; want 204 from the route's policy",
			resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"), resp.Header.Get("Access-Control-Allow-Methods"))
	}
	// A preflight for a method whose route has no policy is the backend's.
	if resp := preflight("DELETE"); resp.Header.Get("X-Backend") != "1" {
		t.Errorf("preflight for DELETE (no policy) answered by the gateway: %d", resp.StatusCode)
	}
}

// roundTripFunc is an http.RoundTripper made of a function.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// An upstream failure is logged without the URL's query and path, which
// may hold a secret (a password-reset code, an API key).
func TestUpstreamErrorLogRedacted(t *testing.T) {
	e := start(t, gateway.Options{Upstreams: []gateway.Upstream{{
		Name: "flaky",
		URL:  mustURL(t, "http://backend.invalid"),
		Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			return nil, &url.Error{Op: "Get", URL: r.URL.String(), Err: errors.New("connection reset")}
		}),
	}}}, nil)
	resp, _ := e.do(e.req("GET", "/reset?code=ResetSecret42", "", nil))
	if resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("status %d, want 502", resp.StatusCode)
	}
	if logs := e.logs.String(); !strings.Contains(logs, "upstream failed") || strings.Contains(logs, "ResetSecret42") {
		t.Errorf("upstream failure log holds the query's secret (or is missing): %s", logs)
	}
}
