package forgeproof_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/forgeproof/forgeproof"
)

// dispatchConfig protects a bank whose transfer and admin handlers have
// rules of their own, beside a webhook subtree that bypasses every check.
// Tokens are off, so that a same-origin request passes unless a route rule
// stops it, and the verdict names the rule.
func dispatchConfig() forgeproof.Config {
	return forgeproof.Config{
		Tokens:         forgeproof.TokensOff,
		SessionCookie:  "sid",
		ReauthURL:      "/reauth",
		TrustedOrigins: []string{"https://partner.example"},
		Routes: []forgeproof.Route{
			{Pattern: "POST /transfer", JSONOnly: true},
			{Pattern: "/admin/", RequireHeader: "X-Requested-With"},
			{Pattern: "DELETE /items/", RequireHeader: "X-Requested-With"},
			{Pattern: "POST /api/items/{id}", JSONOnly: true},
			{Pattern: "POST /api/transfer/large", ReauthMaxAge: time.Minute},
			{Pattern: "PUT /legacy/", CheckSafeMethods: true, RequireHeader: "X-Requested-With"},
			{Pattern: "/hooks/", InsecureBypass: true},
		},
	}
}

func newDispatch(t testing.TB) *forgeproof.Protection {
	t.Helper()
	p, err := forgeproof.New(dispatchConfig())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// reasonOf returns the reason Check gives r, or ReasonNone.
func reasonOf(t testing.TB, p *forgeproof.Protection, r *http.Request) forgeproof.Reason {
	t.Helper()
	var fe *forgeproof.Error
	if err := p.Check(r); errors.As(err, &fe) {
		return fe.Reason
	} else if err != nil {
		t.Fatalf("Check = %v", err)
	}
	return forgeproof.ReasonNone
}

// sameOrigin returns a same-origin request with a form body.
func sameOrigin(method, target string, hdr ...string) *http.Request {
	r := httptest.NewRequest(method, target, strings.NewReader("a=b"))
	if strings.HasPrefix(target, "/") {
		r = httptest.NewRequest(method, "https://bank.test"+target, strings.NewReader("a=b"))
	}
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	r.Header.Set("Content-Type", "text/plain")
	for i := 0; i < len(hdr); i += 2 {
		r.Header.Add(hdr[i], hdr[i+1])
	}
	return r
}

// TestMethodOverride checks that an unsafe request is judged under its own
// method and every method an override names, with the strictest rules of
// all, and that a malformed override is refused.
func TestMethodOverride(t *testing.T) {
	p := newDispatch(t)
	const (
		none    = forgeproof.ReasonNone
		ct      = forgeproof.ReasonContentTypeNotAllowed
		hdr     = forgeproof.ReasonHeaderMissing
		invalid = forgeproof.ReasonMethodOverrideInvalid
		cross   = forgeproof.ReasonSecFetchSiteCrossSite
	)
	form := func(method, target, body string, hdr ...string) *http.Request {
		r := httptest.NewRequest(method, "https://bank.test"+target, strings.NewReader(body))
		r.Header.Set("Sec-Fetch-Site", "same-origin")
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for i := 0; i < len(hdr); i += 2 {
			r.Header.Add(hdr[i], hdr[i+1])
		}
		return r
	}
	tests := []struct {
		name string
		r    *http.Request
		want forgeproof.Reason
	}{
		{"control: POST to the JSON-only route", sameOrigin("POST", "/transfer"), ct},
		{"control: other path", sameOrigin("POST", "/account"), none},
		// The backend ignores an override it does not know (Express) and
		// runs the POST handler: the POST route's rules apply.
		{"unknown override keeps the original method's rules", sameOrigin("POST", "/transfer", "X-HTTP-Method-Override", "FOO"), ct},
		{"override to another unsafe method keeps POST's rules", sameOrigin("POST", "/transfer", "X-HTTP-Method", "PATCH"), ct},
		{"safe override keeps POST's rules", sameOrigin("POST", "/transfer", "X-Method-Override", "GET"), ct},
		{"override header selects the DELETE route", sameOrigin("POST", "/items/7", "X-HTTP-Method-Override", "delete"), hdr},
		{"_method query selects the DELETE route", sameOrigin("POST", "/items/7?_method=DELETE"), hdr},
		{"_method form field selects the DELETE route", form("POST", "/items/7", "a=1&_method=DELETE"), hdr},
		{"second _method form field counts too", form("POST", "/items/7", "_method=PATCH&_method=DELETE"), hdr},
		{"encoded _method form field", form("POST", "/items/7", "%5Fmethod=%44ELETE"), hdr},
		{"_method on a safe request makes it unsafe", sameOrigin("GET", "/items/7?_method=DELETE"), hdr},
		{"override header on a safe request is ignored", sameOrigin("GET", "/items/7", "X-HTTP-Method-Override", "DELETE"), none},
		{"DELETE route satisfied", sameOrigin("POST", "/items/7", "X-HTTP-Method-Override", "DELETE", "X-Requested-With", "x"), none},
		{"override to a CheckSafeMethods route", sameOrigin("POST", "/legacy/x", "X-HTTP-Method-Override", "PUT"), hdr},
		{"every override header counts", sameOrigin("POST", "/items/7", "X-HTTP-Method-Override", "PATCH", "X-Method-Override", "DELETE"), hdr},
		{"override value with spaces", sameOrigin("POST", "/items/7", "X-HTTP-Method-Override", " DELETE "), hdr},
		{"malformed: sign", sameOrigin("POST", "/transfer", "X-HTTP-Method-Override", "+PUT"), invalid},
		{"malformed: parameter", sameOrigin("POST", "/transfer", "X-HTTP-Method-Override", "PUT;x"), invalid},
		{"malformed: list", sameOrigin("POST", "/transfer", "X-HTTP-Method", "PUT, DELETE"), invalid},
		{"malformed: empty", sameOrigin("POST", "/transfer", "X-Method-Override", ""), invalid},
		{"malformed: query", sameOrigin("POST", "/account?_method=DE%20LETE"), invalid},
		{"malformed: query on a safe request", sameOrigin("GET", "/account?_method=%2BPUT"), invalid},
		{"malformed: form field", form("POST", "/items/7", "_method=DELETE%00"), invalid},
		{"malformed on an otherwise cross-site request", func() *http.Request {
			r := sameOrigin("POST", "/account", "X-HTTP-Method-Override", "P UT")
			r.Header.Set("Sec-Fetch-Site", "cross-site")
			return r
		}(), invalid},
		{"cross-site with a valid override", func() *http.Request {
			r := sameOrigin("POST", "/account", "X-HTTP-Method-Override", "PUT")
			r.Header.Set("Sec-Fetch-Site", "cross-site")
			return r
		}(), cross},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := reasonOf(t, p, tt.r); got != tt.want {
				t.Errorf("reason %q, want %q", got, tt.want)
			}
		})
	}
}

// TestMethodOverrideFormBeyondBound checks that a _method field hidden
// past the bound of what is read makes the request count under every
// method that a route names.
func TestMethodOverrideFormBeyondBound(t *testing.T) {
	cfg := dispatchConfig()
	cfg.MaxFormBytes = 64
	p, err := forgeproof.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	body := "pad=" + strings.Repeat("x", 100) + "&_method=DELETE"
	r := httptest.NewRequest("POST", "https://bank.test/items/7", strings.NewReader(body))
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if got := reasonOf(t, p, r); got != forgeproof.ReasonHeaderMissing {
		t.Errorf("reason %q, want header-missing", got)
	}
	// The body is restored for the handler.
	if got, err := io.ReadAll(r.Body); err != nil || string(got) != body {
		t.Errorf("body after Check: %q, %v", got, err)
	}
}

// TestMethodOverrideStepUp checks that a method override neither escapes a
// sensitive route nor lets a proof for one operation authorize another.
func TestMethodOverrideStepUp(t *testing.T) {
	cfg := dispatchConfig()
	cfg.Routes = append(cfg.Routes, forgeproof.Route{Pattern: "DELETE /api/transfer/large", ReauthMaxAge: time.Minute})
	p, err := forgeproof.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	proof := func(method string) string {
		r := sameOrigin("POST", "/reauth")
		r.AddCookie(&http.Cookie{Name: "sid", Value: "alice"})
		s, err := p.GrantReauth(httptest.NewRecorder(), r, method, "/api/transfer/large")
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	req := func(override, proof string) *http.Request {
		r := sameOrigin("POST", "/api/transfer/large")
		r.AddCookie(&http.Cookie{Name: "sid", Value: "alice"})
		if override != "" {
			r.Header.Set("X-HTTP-Method-Override", override)
		}
		if proof != "" {
			r.Header.Set("X-Reauth-Proof", proof)
		}
		return r
	}
	tests := []struct {
		name string
		r    *http.Request
		want forgeproof.Reason
	}{
		{"no proof", req("", ""), forgeproof.ReasonReauthRequired},
		{"unknown override does not escape", req("FOO", ""), forgeproof.ReasonReauthRequired},
		{"other method does not escape", req("PATCH", ""), forgeproof.ReasonReauthRequired},
		{"proof for POST", req("", proof("POST")), forgeproof.ReasonNone},
		{"proof for POST with an unknown override", req("FOO", proof("POST")), forgeproof.ReasonNone},
		{"proof for DELETE used as POST", req("", proof("DELETE")), forgeproof.ReasonReauthRequired},
		{"proof for POST used as POST or DELETE", req("DELETE", proof("POST")), forgeproof.ReasonReauthRequired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := reasonOf(t, p, tt.r); got != tt.want {
				t.Errorf("reason %q, want %q", got, tt.want)
			}
		})
	}
}

// TestPathVariants checks that a request whose path a common router
// dispatches to a protected handler gets that route's rules, however the
// path is spelt, and that a bypass applies only to an unambiguous path.
func TestPathVariants(t *testing.T) {
	p := newDispatch(t)
	const (
		none = forgeproof.ReasonNone
		ct   = forgeproof.ReasonContentTypeNotAllowed
		hdr  = forgeproof.ReasonHeaderMissing
	)
	tests := []struct {
		target string
		want   forgeproof.Reason
	}{
		{"/transfer", ct},
		{"/Transfer", ct},              // Express, ASP.NET: case-insensitive
		{"/TRANSFER", ct},              //
		{"/transfer/", ct},             // Express, ASP.NET: trailing slash ignored
		{"/Transfer/", ct},             //
		{"/transfer;jsessionid=x", ct}, // Tomcat, Spring: ;params stripped
		{"/transfer;", ct},             //
		{"/x/..;/transfer", ct},        // Tomcat: strip, then resolve
		{"/x/%2e%2e/transfer", ct},     // decoded by every router
		{"/x/%2E%2E;/transfer", ct},
		{"//transfer", ct},               // ServeMux, Werkzeug: slashes merged
		{"/./transfer", ct},              //
		{"/transfer.", ct},               // IIS: trailing dots dropped
		{"/transfer%20", ct},             // IIS: trailing spaces dropped
		{"/transfer...", ct},             //
		{"/x%5c..%5ctransfer", ct},       // IIS: backslash is a separator
		{"/x/%c0%ae%c0%ae/transfer", ct}, // IIS: overlong UTF-8 dots
		{"/%74ransfer", ct},              // percent-encoded letters
		{"/tran%73fer", ct},              //
		{"/TRANſFER", ct},                // long s folds to s (.NET)
		{"/transfer%2f", ct},             // an encoded trailing slash
		{"/admin/users", hdr},
		{"/ADMIN/users", hdr},
		{"/Admin", hdr},                 // ServeMux redirects /admin to /admin/
		{"/admin;x/users", hdr},         //
		{"/hooks/..;/admin/users", hdr}, // Tomcat: /admin/users; old code bypassed it
		{"/hooks/../admin/users", hdr},
		{"/hooks/%2e%2e/admin/users", hdr},
		{"/hooks/..%2fadmin/users", hdr},
		{"/hooks/x%5c..%5c..%5cadmin/users", hdr},
		{"/api/items/7", ct},
		{"/API/Items/7/", ct},
		{"/api/items/7;x", ct},
		{"/api/items/7/more", none}, // {id} is one segment
		{"/api/items/", none},       // {id} is not empty
		{"/account", none},
		{"/transfer-history", none},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			if got := reasonOf(t, p, sameOrigin("POST", tt.target)); got != tt.want {
				t.Errorf("reason %q, want %q", got, tt.want)
			}
		})
	}
}

// TestBypassOnlyWhenUnambiguous checks that a cross-site request is let
// through by an InsecureBypass route only when its path reaches that route
// under every reading.
func TestBypassOnlyWhenUnambiguous(t *testing.T) {
	p := newDispatch(t)
	tests := []struct {
		target string
		exempt bool
	}{
		{"/hooks/stripe", true},
		{"/hooks/stripe/", true},
		{"/hooks/", true},
		{"/Hooks/stripe", false}, // a case-sensitive router sends it elsewhere
		{"/hooks", false},        // a strict router sends it elsewhere
		{"/hooks/./stripe", false},
		{"/hooks//stripe", false},
		{"/hooks/stripe;x", false},
		{"/hooks/%73tripe", false},
		{"/hooks/stripe.", false},
		{"/hooks/..;/admin/users", false},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			r := sameOrigin("POST", tt.target)
			r.Header.Set("Sec-Fetch-Site", "cross-site")
			got := reasonOf(t, p, r)
			if (got == forgeproof.ReasonNone) != tt.exempt {
				t.Errorf("reason %q, want exempt=%v", got, tt.exempt)
			}
		})
	}
}

// TestRoutePatternGrammar checks path parameters and their precedence.
func TestRoutePatternGrammar(t *testing.T) {
	p, err := forgeproof.New(forgeproof.Config{Routes: []forgeproof.Route{
		{Pattern: "/notes/"},
		{Pattern: "/notes/{id}"},
		{Pattern: "GET /notes/{id}/delete/"},
		{Pattern: "/notes/new"},
		{Pattern: "/notes/{id}/{$}"},
		{Pattern: "/files/{path...}"},
		{Pattern: "/{user}/profile"},
		{Pattern: "/admin/profile"},
		{Pattern: "POST /admin/profile"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ method, path, want string }{
		{"GET", "/notes/7", "/notes/{id}"},
		{"GET", "/notes/new", "/notes/new"},
		{"GET", "/notes/7/", "/notes/{id}/{$}"},
		{"GET", "/notes/7/x", "/notes/"},
		{"GET", "/notes/7/delete/", "GET /notes/{id}/delete/"},
		{"HEAD", "/notes/7/delete/x", "GET /notes/{id}/delete/"},
		{"POST", "/notes/7/delete/", "/notes/"},
		{"GET", "/notes/", "/notes/"},
		{"GET", "/files/", "/files/{path...}"},
		{"GET", "/files/a/b/c", "/files/{path...}"},
		{"GET", "/files", ""},
		{"GET", "/alice/profile", "/{user}/profile"},
		{"GET", "/admin/profile", "/admin/profile"},
		{"POST", "/admin/profile", "POST /admin/profile"},
		{"GET", "//profile", ""},
	}
	for _, tt := range tests {
		if got := p.RoutePattern(tt.method, tt.path); got != tt.want {
			t.Errorf("RoutePattern(%q, %q) = %q, want %q", tt.method, tt.path, got, tt.want)
		}
	}
}

func TestRoutePatternErrors(t *testing.T) {
	tests := []struct{ pattern, want string }{
		{"/a/{id", `a wildcard fills a whole segment`},
		{"/a/x{id}", `a wildcard fills a whole segment`},
		{"/a/{}", `its name must be a Go identifier`},
		{"/a/{1x}", `its name must be a Go identifier`},
		{"/a/{p...}/b", `may only be the last segment`},
		{"/a/{$}/b", `{$} may only end the path`},
		{"/{id}/{id}", `wildcard name "id" appears twice`},
		{"/a;b", `must not contain`},
		{"/a%2Fb", `write the decoded path`},
		{`/a\b`, `must not contain`},
		{"/a//b", `the path is not clean; write "/a/b"`},
		{"/a/\x01", `control character`},
	}
	for _, tt := range tests {
		_, err := forgeproof.New(forgeproof.Config{Routes: []forgeproof.Route{{Pattern: tt.pattern}}})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("New(%q) = %v, want an error containing %q", tt.pattern, err, tt.want)
		}
	}
	// Two patterns that differ only in a wildcard's name repeat each other.
	_, err := forgeproof.New(forgeproof.Config{Routes: []forgeproof.Route{{Pattern: "/a/{x}"}, {Pattern: "/a/{y}"}}})
	if err == nil || !strings.Contains(err.Error(), `repeats Routes[0]`) {
		t.Errorf("New = %v, want a repeat error", err)
	}
}

// TestEventRouteIsServeMuxRoute checks that the event names the route that
// ServeMux would dispatch to and the method override.
func TestEventRouteIsServeMuxRoute(t *testing.T) {
	var got forgeproof.Event
	cfg := dispatchConfig()
	cfg.OnDecision = func(e forgeproof.Event) { got = e }
	p, err := forgeproof.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h := p.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	h.ServeHTTP(httptest.NewRecorder(), sameOrigin("POST", "/items/7", "X-HTTP-Method-Override", "DELETE"))
	if got.Route != "" || got.Method != "DELETE" || got.Reason != forgeproof.ReasonHeaderMissing {
		t.Errorf("event %+v", got)
	}
	h.ServeHTTP(httptest.NewRecorder(), sameOrigin("POST", "/Transfer"))
	if got.Route != "" || got.Reason != forgeproof.ReasonContentTypeNotAllowed {
		t.Errorf("event %+v", got)
	}
}
