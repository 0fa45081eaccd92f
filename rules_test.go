package forgeproof_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/forgeproof/forgeproof"
)

// TestConfigErrorFields checks that New reports every bad field at once as
// a *ConfigError whose field paths a configuration tool can map to its own
// keys.
func TestConfigErrorFields(t *testing.T) {
	_, err := forgeproof.New(forgeproof.Config{
		PublicOrigins:  []string{"ftp://bank.test"},
		TrustedOrigins: []string{"https://ok.example", "*", "https://*.co.uk"},
		TrustedProxies: []string{"10.0.0.1", "proxy.internal"},
		HeaderName:     "X Token",
		Tokens:         forgeproof.TokensOff,
		Routes: []forgeproof.Route{
			{Pattern: "/ok/"},
			{Pattern: "api"},
			{Pattern: "/b/", RequireHeader: "X Bad"},
			{Pattern: "/c/", OneTimeTokens: true},
			{Pattern: "/ok/"},
		},
	})
	var ce *forgeproof.ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("New error %v (%T) is not a *ConfigError", err, err)
	}
	var got []string
	for _, fe := range ce.Errors {
		got = append(got, fe.Field)
		if fe.Msg == "" {
			t.Errorf("%s: empty message", fe.Field)
		}
	}
	want := []string{"PublicOrigins[0]", "TrustedOrigins[1]", "TrustedOrigins[2]", "TrustedProxies[1]",
		"Routes[1].Pattern", "Routes[4].Pattern", "Routes[2].RequireHeader", "Routes[3].OneTimeTokens", "HeaderName"}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("fields %q\nwant %q", got, want)
	}
	var fe *forgeproof.FieldError
	if !errors.As(err, &fe) {
		t.Errorf("errors.As does not reach a *FieldError")
	}
}

// fakeSuffixes is a public suffix list of a few entries, for the tests of
// the library (which imports nothing but the standard library).
type fakeSuffixes []string

func (l fakeSuffixes) PublicSuffix(domain string) string {
	for _, s := range l {
		if domain == s || strings.HasSuffix(domain, "."+s) {
			return s
		}
	}
	return domain[strings.LastIndexByte(domain, '.')+1:]
}

func (fakeSuffixes) String() string { return "test list" }

// TestWildcardPublicSuffix checks that a subdomain pattern over a public
// suffix is refused: by the built-in rule without a list, by the list with
// one.
func TestWildcardPublicSuffix(t *testing.T) {
	list := fakeSuffixes{"co.uk", "github.io", "herokuapp.com", "com.au"}
	tests := []struct {
		pattern           string
		withoutList, with bool // accepted
	}{
		{"https://*.co.uk", false, false},
		{"https://*.com.au", false, false},
		{"https://*.ac.jp", false, true}, // not in the test list
		{"https://*.github.io", true, false},
		{"https://*.herokuapp.com", true, false},
		{"https://*.com", false, false},
		{"https://*.example.co.uk", true, true},
		{"https://*.me.github.io", true, true},
		{"https://*.example.com", true, true},
		{"https://*.example.com:8443", true, true},
	}
	for _, tt := range tests {
		for _, psl := range []forgeproof.Config{{}, {PublicSuffixList: list}} {
			psl.TrustedOrigins = []string{tt.pattern}
			_, err := forgeproof.New(psl)
			want := tt.withoutList
			if psl.PublicSuffixList != nil {
				want = tt.with
			}
			if (err == nil) != want {
				t.Errorf("%s (list %v): New error %v, want accepted %v", tt.pattern, psl.PublicSuffixList != nil, err, want)
			}
			if err != nil && !strings.Contains(err.Error(), "TrustedOrigins[0]") {
				t.Errorf("%s: error %q does not name the field", tt.pattern, err)
			}
		}
	}
	_, err := forgeproof.New(forgeproof.Config{PublicSuffixList: list, TrustedOrigins: []string{"https://*.github.io"}})
	if err == nil || !strings.Contains(err.Error(), `public suffix "github.io"`) {
		t.Errorf("error %v does not explain the public suffix", err)
	}
}

func TestCanonicalOrigin(t *testing.T) {
	tests := []struct{ in, want string }{
		{"HTTPS://App.Example.com:443", "https://app.example.com"},
		{"http://example.com:80", "http://example.com"},
		{"https://example.com:8443", "https://example.com:8443"},
		{"http://[::1]:8080", "http://[::1]:8080"},
		{"chrome-extension://abcdef", "chrome-extension://abcdef"},
		{"https://example.com/", ""},
		{"example.com", ""},
		{"null", ""},
		{"*", ""},
		{"https://u@example.com", ""},
		{"https://*.example.com", ""},
	}
	for _, tt := range tests {
		got, err := forgeproof.CanonicalOrigin(tt.in)
		if got != tt.want || (err == nil) != (tt.want != "") {
			t.Errorf("CanonicalOrigin(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func FuzzCanonicalOrigin(f *testing.F) {
	for _, s := range []string{"https://a.example", "HTTP://A:80", "http://[::1]:1", "https://x/", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := forgeproof.CanonicalOrigin(s)
		if err != nil {
			return
		}
		again, err := forgeproof.CanonicalOrigin(c)
		if err != nil || again != c {
			t.Fatalf("CanonicalOrigin(%q) = %q, not a fixed point (%q, %v)", s, c, again, err)
		}
	})
}

func TestSplitPattern(t *testing.T) {
	tests := []struct{ in, method, path string }{
		{"/api/", "", "/api/"},
		{"POST /login", "POST", "/login"},
		{"post /login", "", ""},
		{"/a/../b", "", ""},
		{"api", "", ""},
	}
	for _, tt := range tests {
		m, p, err := forgeproof.SplitPattern(tt.in)
		if m != tt.method || p != tt.path || (err == nil) != (tt.path != "") {
			t.Errorf("SplitPattern(%q) = %q, %q, %v", tt.in, m, p, err)
		}
	}
}

func TestFromTrustedProxy(t *testing.T) {
	p, err := forgeproof.New(forgeproof.Config{TrustedProxies: []string{"10.0.0.0/8", "::1"}})
	if err != nil {
		t.Fatal(err)
	}
	for addr, want := range map[string]bool{
		"10.1.2.3:5000":          true,
		"[::ffff:10.1.2.3]:5000": true,
		"[::1]:80":               true,
		"192.0.2.1:80":           false,
		"garbage":                false,
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = addr
		if got := p.FromTrustedProxy(r); got != want {
			t.Errorf("FromTrustedProxy(%s) = %v", addr, got)
		}
	}
}

// TestCheckOrigin checks requests that change state but carry no token
// (WebSocket handshakes): the origin layer alone decides, under the
// route's bypass and report-only settings.
func TestCheckOrigin(t *testing.T) {
	p, err := forgeproof.New(forgeproof.Config{Routes: []forgeproof.Route{
		{Pattern: "/hooks/", InsecureBypass: true},
		{Pattern: "/soft/", ReportOnly: true},
		{Pattern: "/api/", JSONOnly: true, RequireHeader: "X-Requested-With"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path, origin string
		want               forgeproof.Reason
		reportOnly         bool
	}{
		{"same origin", "/chat", "http://example.com", forgeproof.ReasonNone, false},
		{"cross site", "/chat", "https://evil.example", forgeproof.ReasonOriginMismatch, false},
		{"no token needed", "/api/ws", "http://example.com", forgeproof.ReasonNone, false},
		{"bypass", "/hooks/x", "https://evil.example", forgeproof.ReasonNone, false},
		{"bypass needs a clean path", "/admin/../hooks/x", "https://evil.example", forgeproof.ReasonOriginMismatch, false},
		{"report only", "/soft/x", "https://evil.example", forgeproof.ReasonOriginMismatch, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "http://example.com/", nil)
			r.URL.Path = tt.path
			r.Header.Set("Origin", tt.origin)
			r.Header.Set("Upgrade", "websocket")
			err := p.CheckOrigin(r)
			var fe *forgeproof.Error
			switch {
			case tt.want == forgeproof.ReasonNone && err != nil:
				t.Fatalf("CheckOrigin = %v", err)
			case tt.want != forgeproof.ReasonNone && (!errors.As(err, &fe) || fe.Reason != tt.want || fe.ReportOnly != tt.reportOnly):
				t.Fatalf("CheckOrigin = %v, want %v (report-only %v)", err, tt.want, tt.reportOnly)
			}
			w := httptest.NewRecorder()
			p.OriginHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(299) })).ServeHTTP(w, r)
			if pass := w.Code == 299; pass != (tt.want == forgeproof.ReasonNone || tt.reportOnly) {
				t.Errorf("OriginHandler answered %d", w.Code)
			}
		})
	}
}

// TestTrustedOriginsName checks that a tool can make the rejection text
// name its own configuration key.
func TestTrustedOriginsName(t *testing.T) {
	for _, name := range []string{"", "protection.trusted_origins"} {
		p, err := forgeproof.New(forgeproof.Config{Tokens: forgeproof.TokensOff, TrustedOriginsName: name})
		if err != nil {
			t.Fatal(err)
		}
		r := httptest.NewRequest("POST", "http://example.com/x", nil)
		r.Header.Set("Origin", "https://evil.example")
		w := httptest.NewRecorder()
		p.Handler(http.NotFoundHandler()).ServeHTTP(w, r)
		var body struct{ Detail, Reason string }
		if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || w.Code != 403 || body.Reason != "origin-mismatch" {
			t.Fatalf("%d %s", w.Code, w.Body)
		}
		want := name
		if want == "" {
			want = "TrustedOrigins"
		}
		if !strings.Contains(body.Detail, "add the origin to "+want+".") {
			t.Errorf("detail %q does not name %s", body.Detail, want)
		}
	}
}

// TestConfigErrorTokenFields checks the field errors of the token layer.
func TestConfigErrorTokenFields(t *testing.T) {
	_, err := forgeproof.New(forgeproof.Config{TokenMaxAge: time.Millisecond, CookieName: "a b", MaxFormBytes: -1})
	var ce *forgeproof.ConfigError
	if !errors.As(err, &ce) || len(ce.Errors) != 3 {
		t.Fatalf("New error %v, want 3 field errors", err)
	}
	for i, want := range []struct{ field, msg string }{
		{"CookieName", `"a b" is not a cookie name`},
		{"TokenMaxAge", "TokenMaxAge is 1ms"},
		{"MaxFormBytes", "MaxFormBytes is -1"},
	} {
		if fe := ce.Errors[i]; fe.Field != want.field || fe.Msg != want.msg || fe.Hint == "" {
			t.Errorf("error %d = %+v, want field %s, message %q and a hint", i, fe, want.field, want.msg)
		}
	}
}
