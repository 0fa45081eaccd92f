package forgeproof_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/forgeproof/forgeproof"
)

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  forgeproof.Config
		want []string // substrings of the error, each naming a field
	}{
		{"trusted star", forgeproof.Config{TrustedOrigins: []string{"*"}},
			[]string{`TrustedOrigins[0]: "*" would trust every site`}},
		{"trusted null", forgeproof.Config{TrustedOrigins: []string{"null"}},
			[]string{`TrustedOrigins[0]: "null"`}},
		{"trusted empty", forgeproof.Config{TrustedOrigins: []string{""}},
			[]string{`TrustedOrigins[0]: empty origin`}},
		{"trusted no scheme", forgeproof.Config{TrustedOrigins: []string{"example.com"}},
			[]string{`TrustedOrigins[0]: "example.com" has no scheme; write "https://example.com"`}},
		{"trusted path", forgeproof.Config{TrustedOrigins: []string{"https://example.com/app"}},
			[]string{`has a path, query or fragment`, `"https://example.com"`}},
		{"trusted trailing slash", forgeproof.Config{TrustedOrigins: []string{"https://example.com/"}},
			[]string{`TrustedOrigins[0]: "https://example.com/" has a path`}},
		{"trusted query", forgeproof.Config{TrustedOrigins: []string{"https://example.com?query=value"}},
			[]string{`TrustedOrigins[0]`}},
		{"trusted fragment", forgeproof.Config{TrustedOrigins: []string{"https://example.com#fragment"}},
			[]string{`TrustedOrigins[0]`}},
		{"trusted invalid host", forgeproof.Config{TrustedOrigins: []string{"https://ex ample.com"}},
			[]string{`TrustedOrigins[0]: "https://ex ample.com" is not a valid origin`}},
		{"trusted missing host", forgeproof.Config{TrustedOrigins: []string{"https://"}},
			[]string{`TrustedOrigins[0]`}},
		{"trusted userinfo", forgeproof.Config{TrustedOrigins: []string{"https://u@example.com"}},
			[]string{`has userinfo`}},
		{"pattern tld", forgeproof.Config{TrustedOrigins: []string{"https://*.com"}},
			[]string{`top-level domain`}},
		{"pattern inner star", forgeproof.Config{TrustedOrigins: []string{"https://a.*.example.com"}},
			[]string{`leftmost labels`}},
		{"pattern no scheme", forgeproof.Config{TrustedOrigins: []string{"*.example.com"}},
			[]string{`has no scheme`}},
		{"public origin path", forgeproof.Config{PublicOrigins: []string{"https://bank.test/app"}},
			[]string{`PublicOrigins[0]`}},
		{"public origin scheme", forgeproof.Config{PublicOrigins: []string{"ftp://bank.test"}},
			[]string{`PublicOrigins[0]: "ftp://bank.test": a public origin is served over https or http`}},
		{"proxy host name", forgeproof.Config{TrustedProxies: []string{"proxy.internal"}},
			[]string{`TrustedProxies[0]: "proxy.internal" is not an IP address`}},
		{"proxy bad prefix", forgeproof.Config{TrustedProxies: []string{"10.0.0.0/33"}},
			[]string{`TrustedProxies[0]: "10.0.0.0/33" is not a CIDR prefix`}},
		{"tokens out of range", forgeproof.Config{Tokens: 9},
			[]string{`Tokens: Tokens is 9, not a TokenMode`}},
		{"route no slash", forgeproof.Config{Routes: []forgeproof.Route{{Pattern: "api"}}},
			[]string{`Routes[0].Pattern: "api": the path must start with "/"`}},
		{"route lowercase method", forgeproof.Config{Routes: []forgeproof.Route{{Pattern: "post /login"}}},
			[]string{`methods are case-sensitive; write "POST"`}},
		{"route unclean", forgeproof.Config{Routes: []forgeproof.Route{{Pattern: "/a/../b/"}}},
			[]string{`the path is not clean; write "/b/"`}},
		{"route query", forgeproof.Config{Routes: []forgeproof.Route{{Pattern: "/a?b"}}},
			[]string{`must not contain spaces, a query or a fragment`}},
		{"route duplicate", forgeproof.Config{Routes: []forgeproof.Route{{Pattern: "/a/"}, {Pattern: "/a/"}}},
			[]string{`Routes[1].Pattern: "/a/" repeats Routes[0]`}},
		{"route header name", forgeproof.Config{Routes: []forgeproof.Route{{Pattern: "/a/", RequireHeader: "X Bad"}}},
			[]string{`Routes[0].RequireHeader: "X Bad" is not a header name`}},
		{"route token mode", forgeproof.Config{Routes: []forgeproof.Route{{Pattern: "/a/", Tokens: 7}}},
			[]string{`Routes[0].Tokens: Tokens is 7`}},
		{"one-time without tokens", forgeproof.Config{Tokens: forgeproof.TokensOff, Routes: []forgeproof.Route{{Pattern: "/a/", OneTimeTokens: true}}},
			[]string{`Routes[0].OneTimeTokens: route "/a/" sets OneTimeTokens but its tokens are off`}},
		{"every error at once", forgeproof.Config{
			TrustedOrigins: []string{"*", "https://ok.example", "example.com"},
			TrustedProxies: []string{"nope"},
			Routes:         []forgeproof.Route{{Pattern: "x"}},
		}, []string{`TrustedOrigins[0]`, `TrustedOrigins[2]`, `TrustedProxies[0]`, `Routes[0]`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := forgeproof.New(tt.cfg)
			if err == nil {
				t.Fatalf("New succeeded, want an error")
			}
			if p != nil {
				t.Errorf("New returned a Protection with an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not contain %q", err, w)
				}
			}
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(line, "forgeproof: ") {
					t.Errorf("error line %q lacks the package prefix", line)
				}
			}
		})
	}
}

func TestNewAccepts(t *testing.T) {
	cfg := forgeproof.Config{
		Tokens:         forgeproof.TokensOff,
		PublicOrigins:  []string{"https://bank.test", "https://BANK.test:8443", "http://[::1]:8080"},
		TrustedOrigins: []string{"https://example.com", "https://example.com:8080", "http://example.com", "https://*.example.com", "https://*.example.co.uk:8443"},
		TrustedProxies: []string{"10.0.0.7", "10.0.0.0/8", "fd00::/8", "::1"},
		Routes: []forgeproof.Route{
			{Pattern: "/api/", JSONOnly: true},
			{Pattern: "POST /api/", RequireHeader: "X-Requested-With"},
			{Pattern: "GET /transfer", CheckSafeMethods: true},
			{Pattern: "/webhooks/", InsecureBypass: true},
			{Pattern: "/"},
		},
	}
	if _, err := forgeproof.New(cfg); err != nil {
		t.Fatal(err)
	}
}

// discard is a ResponseWriter that keeps only the header map, which each
// request clears, as a server allocates a fresh one.
type discard struct {
	h    http.Header
	code int
}

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(code int)        { d.code = code }

// allocsOver returns how many more allocations per request h makes than the
// bare handler, and the status h wrote.
func allocsOver(t *testing.T, h http.Handler, r *http.Request) (float64, int) {
	t.Helper()
	bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	w := &discard{h: make(http.Header)}
	run := func(h http.Handler) float64 {
		return testing.AllocsPerRun(200, func() {
			clear(w.h)
			w.code = 0
			h.ServeHTTP(w, r)
		})
	}
	base := run(bare)
	got := run(h)
	return got - base, w.code
}

func TestAllocs(t *testing.T) {
	if testing.CoverMode() != "" || raceEnabled {
		t.Skip("allocation counts are not meaningful under -cover or -race")
	}
	var events int
	for _, hook := range []bool{false, true} {
		cfg := forgeproof.Config{
			Tokens:         forgeproof.TokensOff,
			TrustedOrigins: []string{"https://partner.example", "https://*.example.com"},
			TrustedProxies: []string{"10.0.0.0/8"},
			Routes: []forgeproof.Route{
				{Pattern: "/api/", JSONOnly: true, RequireHeader: "X-Requested-With"},
				{Pattern: "/webhooks/", InsecureBypass: true},
			},
		}
		if hook {
			cfg.OnDecision = func(e forgeproof.Event) { events++ }
		}
		p, err := forgeproof.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		h := p.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) }))
		req := func(method, target string, hdr ...string) *http.Request {
			r := httptest.NewRequest(method, target, nil)
			for i := 0; i < len(hdr); i += 2 {
				r.Header.Set(hdr[i], hdr[i+1])
			}
			return r
		}
		tests := []struct {
			name   string
			r      *http.Request
			status int
			max    float64
		}{
			{"safe GET", req("GET", "https://bank.test/account?id=1", "Sec-Fetch-Site", "cross-site"), 200, 0},
			{"safe GET with override query", req("GET", "https://bank.test/?_method=GET"), 200, 0},
			{"same-origin POST", req("POST", "https://bank.test/transfer", "Sec-Fetch-Site", "same-origin"), 200, 0},
			{"origin POST", req("POST", "https://bank.test/transfer", "Origin", "https://bank.test"), 200, 0},
			{"trusted pattern POST", req("POST", "https://bank.test/transfer", "Origin", "https://a.example.com", "Sec-Fetch-Site", "cross-site"), 200, 0},
			{"referer POST", req("POST", "https://bank.test/transfer", "Referer", "https://bank.test/form"), 200, 0},
			{"JSON API POST", req("POST", "https://bank.test/api/x", "Sec-Fetch-Site", "same-origin", "Content-Type", "application/json", "X-Requested-With", "x"), 200, 0},
			{"exempt POST", req("POST", "https://bank.test/webhooks/stripe", "Sec-Fetch-Site", "cross-site"), 200, 0},
			{"mixed-case path POST", req("POST", "https://bank.test/Account/Transfer/", "Sec-Fetch-Site", "same-origin"), 200, 0},
			{"method override POST", req("POST", "https://bank.test/transfer", "Sec-Fetch-Site", "same-origin", "X-HTTP-Method-Override", "PUT"), 200, 0},
			{"rejected method override", req("POST", "https://bank.test/transfer?_method=PUT-", "Sec-Fetch-Site", "same-origin"), 403, 0},
			{"rejected cross-site", req("POST", "https://bank.test/transfer", "Sec-Fetch-Site", "cross-site"), 403, 0},
			{"rejected origin", req("POST", "https://bank.test/transfer", "Origin", "https://evil.example"), 403, 0},
		}
		for _, tt := range tests {
			name := tt.name
			if hook {
				name += " with OnDecision"
			}
			t.Run(name, func(t *testing.T) {
				n, status := allocsOver(t, h, tt.r)
				if status != tt.status {
					t.Fatalf("status %d, want %d", status, tt.status)
				}
				t.Logf("%.1f allocs over bare", n)
				if n > tt.max {
					t.Errorf("%.1f allocs per request over the bare handler, want at most %v", n, tt.max)
				}
			})
		}
	}
	if events == 0 {
		t.Error("OnDecision was never called")
	}
}

func TestCheckAllocs(t *testing.T) {
	if testing.CoverMode() != "" || raceEnabled {
		t.Skip("allocation counts are not meaningful under -cover or -race")
	}
	p, err := forgeproof.New(forgeproof.Config{Tokens: forgeproof.TokensOff})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("POST", "https://bank.test/", nil)
	r.Header.Set("Origin", "https://evil.example")
	var got error
	n := testing.AllocsPerRun(100, func() { got = p.Check(r) })
	if fe, ok := got.(*forgeproof.Error); !ok || fe.Reason != forgeproof.ReasonOriginMismatch {
		t.Fatalf("Check = %v", got)
	}
	if n != 0 {
		t.Errorf("a rejecting Check allocates %v times, want 0", n)
	}
}

func TestHandlerDenyHandler(t *testing.T) {
	var gotErr *forgeproof.Error
	p, err := forgeproof.New(forgeproof.Config{
		Tokens: forgeproof.TokensOff,
		DenyHandler: func(w http.ResponseWriter, r *http.Request, err *forgeproof.Error) {
			gotErr = err
			http.Error(w, "custom: "+err.Reason.String(), http.StatusTeapot)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	h := p.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Error("next handler reached")
	}))
	r := httptest.NewRequest("DELETE", "https://bank.test/x", nil)
	r.Header.Set("Origin", "null")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusTeapot || !strings.Contains(w.Body.String(), "custom: origin-null") {
		t.Errorf("got %d %q", w.Code, w.Body)
	}
	if gotErr == nil || gotErr.Reason != forgeproof.ReasonOriginNull || gotErr.ReportOnly {
		t.Errorf("DenyHandler got %+v", gotErr)
	}
	if !errors.Is(p.Check(r), gotErr) {
		t.Errorf("Check and the DenyHandler disagree")
	}
}

func TestEventSummary(t *testing.T) {
	var got []forgeproof.Event
	p, err := forgeproof.New(forgeproof.Config{
		Tokens:     forgeproof.TokensOff,
		OnDecision: func(e forgeproof.Event) { got = append(got, e) },
		Routes:     []forgeproof.Route{{Pattern: "POST /api/", JSONOnly: true}},
	})
	if err != nil {
		t.Fatal(err)
	}
	h := p.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	r := httptest.NewRequest("POST", "https://bank.test/api/transfer?to=x", strings.NewReader("a=b"))
	r.RemoteAddr = "198.51.100.7:5555"
	r.Header.Set("Referer", "https://evil.example/attack?secret=1#frag")
	r.Header.Set("Content-Type", "text/plain")
	r.Header.Set("Cookie", "session=SECRET")
	h.ServeHTTP(httptest.NewRecorder(), r)
	want := forgeproof.Event{
		Decision:      forgeproof.Denied,
		Reason:        forgeproof.ReasonRefererMismatch,
		Method:        "POST",
		Path:          "/api/transfer",
		Route:         "POST /api/",
		RefererOrigin: "https://evil.example",
		RemoteAddr:    "198.51.100.7:5555",
	}
	if len(got) != 1 || got[0] != want {
		t.Fatalf("events %+v\nwant %+v", got, want)
	}
}

func TestCheckReportOnly(t *testing.T) {
	p, err := forgeproof.New(forgeproof.Config{Tokens: forgeproof.TokensOff, ReportOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("POST", "https://bank.test/", nil)
	r.Header.Set("Sec-Fetch-Site", "cross-site")
	var fe *forgeproof.Error
	if err := p.Check(r); !errors.As(err, &fe) || !fe.ReportOnly || fe.Reason != forgeproof.ReasonSecFetchSiteCrossSite {
		t.Errorf("Check = %v", err)
	}
}

// TestAllocsDefaultConfig pins the promise that the zero Config (signed
// tokens) costs a safe request nothing when the handler asks for no token.
func TestAllocsDefaultConfig(t *testing.T) {
	if testing.CoverMode() != "" || raceEnabled {
		t.Skip("allocation counts are not meaningful under -cover or -race")
	}
	p, err := forgeproof.New(forgeproof.Config{})
	if err != nil {
		t.Fatal(err)
	}
	h := p.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) }))
	for _, method := range []string{"GET", "HEAD", "OPTIONS", "TRACE"} {
		r := httptest.NewRequest(method, "https://bank.test/account", nil)
		r.Header.Set("Sec-Fetch-Site", "cross-site")
		r.Header.Set("Cookie", "session=abc; __Host-forgeproof=garbage")
		n, status := allocsOver(t, h, r)
		if status != http.StatusOK || n != 0 {
			t.Errorf("%s: status %d, %.1f allocs over bare; want 200 and 0", method, status, n)
		}
	}
}

// FuzzCheck feeds arbitrary provenance headers, hosts, paths and methods to
// a configuration that uses every origin-layer feature, and checks that the
// decision never panics, that Check and Handler agree, and that a plain GET
// is never refused.
func FuzzCheck(f *testing.F) {
	f.Add("POST", "/api/x?_method=PUT", "bank.test", "https://bank.test", "", "same-origin", "for=1;proto=https;host=bank.test", "10.0.0.1:1")
	f.Add("GET", "/hooks/../api/", "[::1]:8080", "null", "https://[::1]:8080/", "", `host="a,b"`, "[fd00::1]:1")
	f.Add("PUT", "//x/./y", "@malformed", "http://evil@bank.test", "//x", "cross-site", "", "")
	f.Add("GET", "/?%5Fmethod=delete", "BANK.TEST:443", "https://a.example.com", "ØBöIß", "none", "proto=http", "192.0.2.1:5")
	p, err := forgeproof.New(forgeproof.Config{
		Tokens:         forgeproof.TokensOff,
		TrustedOrigins: []string{"https://*.example.com", "http://[::1]:8080"},
		TrustedProxies: []string{"10.0.0.0/8", "fd00::/8"},
		Routes: []forgeproof.Route{
			{Pattern: "/api/", JSONOnly: true, RequireHeader: "X-Requested-With"},
			{Pattern: "/hooks/", InsecureBypass: true},
			{Pattern: "GET /legacy/", CheckSafeMethods: true},
		},
	})
	if err != nil {
		f.Fatal(err)
	}
	h := p.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(299) }))
	f.Fuzz(func(t *testing.T, method, target, host, origin, referer, sfs, fwd, remote string) {
		if !validMethod(method) {
			return
		}
		r := httptest.NewRequest("GET", "https://bank.test/", nil)
		r.Method = method
		if u, err := r.URL.Parse(target); err == nil {
			r.URL = u
		}
		r.Host, r.RemoteAddr = host, remote
		for k, v := range map[string]string{"Origin": origin, "Referer": referer, "Sec-Fetch-Site": sfs, "Forwarded": fwd} {
			if v != "" {
				r.Header[k] = []string{v}
			}
		}
		checkErr := p.Check(r)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if (checkErr == nil) != (w.Code == 299) {
			t.Fatalf("Check = %v but Handler answered %d", checkErr, w.Code)
		}
		if method == "GET" && checkErr != nil && r.URL.RawQuery == "" && !strings.Contains(strings.ToLower(r.URL.Path), "legacy") {
			t.Fatalf("a plain GET was refused: %v", checkErr)
		}
	})
}

func validMethod(m string) bool {
	if m == "" {
		return false
	}
	for _, c := range m {
		if c <= ' ' || c >= 0x7f || strings.ContainsRune(`()<>@,;:\"/[]?={}`, c) {
			return false
		}
	}
	return true
}

// TestPublicOrigin checks the origin the browser reached, and that
// PublicHTTPS agrees with its scheme without allocating.
func TestPublicOrigin(t *testing.T) {
	tests := []struct {
		name   string
		cfg    forgeproof.Config
		url    string
		remote string
		header [][2]string
		want   string
	}{
		{"plain http", forgeproof.Config{}, "http://bank.test/x", "192.0.2.1:1", nil, "http://bank.test"},
		{"tls default port", forgeproof.Config{}, "https://bank.test:443/", "192.0.2.1:1", nil, "https://bank.test"},
		{"tls other port", forgeproof.Config{}, "https://bank.test:8443/", "192.0.2.1:1", nil, "https://bank.test:8443"},
		{"untrusted proxy ignored", forgeproof.Config{}, "http://bank.internal/", "192.0.2.1:1",
			[][2]string{{"X-Forwarded-Proto", "https"}, {"X-Forwarded-Host", "evil.example"}}, "http://bank.internal"},
		{"trusted proxy believed", forgeproof.Config{TrustedProxies: []string{"10.0.0.0/8"}}, "http://bank.internal/", "10.1.2.3:1",
			[][2]string{{"Forwarded", `for=192.0.2.1;proto=https;host="bank.example"`}}, "https://bank.example"},
		{"public origin wins", forgeproof.Config{PublicOrigins: []string{"https://bank.example"}}, "http://10.0.0.5:8080/", "192.0.2.1:1",
			nil, "https://bank.example"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := forgeproof.New(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			r := httptest.NewRequest("GET", tt.url, nil)
			r.RemoteAddr = tt.remote
			if !strings.HasPrefix(tt.url, "https:") {
				r.TLS = nil
			}
			for _, kv := range tt.header {
				r.Header.Add(kv[0], kv[1])
			}
			if got := p.PublicOrigin(r); got != tt.want {
				t.Errorf("PublicOrigin = %q, want %q", got, tt.want)
			}
			if got, want := p.PublicHTTPS(r), strings.HasPrefix(tt.want, "https:"); got != want {
				t.Errorf("PublicHTTPS = %v, want %v", got, want)
			}
			if n := testing.AllocsPerRun(10, func() { p.PublicHTTPS(r) }); n != 0 && testing.CoverMode() == "" && !raceEnabled {
				t.Errorf("PublicHTTPS allocates %v times", n)
			}
		})
	}
}

func TestRoutePattern(t *testing.T) {
	p, err := forgeproof.New(forgeproof.Config{Routes: []forgeproof.Route{
		{Pattern: "/api/"},
		{Pattern: "POST /api/transfer"},
		{Pattern: "GET /report"},
		{Pattern: "/hooks/", InsecureBypass: true},
	}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ method, path, want string }{
		{"POST", "/api/transfer", "POST /api/transfer"},
		{"PUT", "/api/transfer", "/api/"},
		{"GET", "/api/x/../transfer", "/api/"},
		{"HEAD", "/report", "GET /report"},
		{"POST", "/report", ""},
		{"POST", "/hooks/stripe", "/hooks/"},
		{"POST", "/hooks/../hooks/stripe", ""}, // a bypass applies to clean paths only
		{"GET", "/", ""},
	}
	for _, tt := range tests {
		if got := p.RoutePattern(tt.method, tt.path); got != tt.want {
			t.Errorf("RoutePattern(%q, %q) = %q, want %q", tt.method, tt.path, got, tt.want)
		}
	}
}

// TestAllocsValidToken pins the promise that a POST with a valid token
// costs no allocation: in the signed mode, and in the synchronizer mode with
// the in-memory store, with a session and before login.
func TestAllocsValidToken(t *testing.T) {
	if testing.CoverMode() != "" || raceEnabled {
		t.Skip("allocation counts are not meaningful under -cover or -race")
	}
	for _, tt := range []struct {
		name    string
		mode    forgeproof.TokenMode
		session string
	}{
		{"signed", forgeproof.SignedTokens, "s3cr3t-session-id"},
		{"signed before login", forgeproof.SignedTokens, ""},
		{"synchronizer", forgeproof.SynchronizerTokens, "s3cr3t-session-id"},
		{"synchronizer before login", forgeproof.SynchronizerTokens, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, err := forgeproof.New(forgeproof.Config{Tokens: tt.mode, SessionCookie: "session"})
			if err != nil {
				t.Fatal(err)
			}
			page := httptest.NewRequest("GET", "https://bank.test/form", nil)
			if tt.session != "" {
				page.AddCookie(&http.Cookie{Name: "session", Value: tt.session})
			}
			w := httptest.NewRecorder()
			tok, err := p.Token(w, page)
			if err != nil {
				t.Fatal(err)
			}
			r := httptest.NewRequest("POST", "https://bank.test/transfer", nil)
			r.Header.Set("Sec-Fetch-Site", "same-origin")
			r.Header.Set("X-Forgeproof-Token", tok)
			if tt.session != "" {
				r.AddCookie(&http.Cookie{Name: "session", Value: tt.session})
			}
			for _, c := range w.Result().Cookies() {
				r.AddCookie(c)
			}
			h := p.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) }))
			n, status := allocsOver(t, h, r)
			if status != http.StatusOK {
				t.Fatalf("status %d, want 200", status)
			}
			if n != 0 {
				t.Errorf("%.1f allocs per request over the bare handler, want 0", n)
			}
		})
	}
}
