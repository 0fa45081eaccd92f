package forgeproof

import (
	"crypto/tls"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

func TestParseOrigin(t *testing.T) {
	tests := []struct {
		in   string
		want string // the normalized serialization, or "" when refused
	}{
		{"https://example.com", "https://example.com"},
		{"https://example.com:443", "https://example.com"},
		{"http://example.com:80", "http://example.com"},
		{"http://example.com:443", "http://example.com:443"},
		{"https://example.com:8443", "https://example.com:8443"},
		{"HTTPS://Example.COM", "HTTPS://Example.COM"},
		{"HTTPS://example.com:443", "HTTPS://example.com"},
		{"http://[::1]:8080", "http://[::1]:8080"},
		{"http://[2001:DB8::1]", "http://[2001:DB8::1]"},
		{"http://[::ffff:192.0.2.1]", "http://[::ffff:192.0.2.1]"},
		{"http://192.0.2.1:0", "http://192.0.2.1:0"},
		{"chrome-extension://abcdef", "chrome-extension://abcdef"},
		{"null", ""},
		{"", ""},
		{"https://", ""},
		{"https://:443", ""},
		{"https://example.com/", ""},
		{"https://example.com/path", ""},
		{"https://example.com?q", ""},
		{"https://example.com#f", ""},
		{"http://evil@example.com", ""},
		{"http://user:pass@example.com", ""},
		{"https://example.com:", ""},
		{"https://example.com:65536", ""},
		{"https://example.com:01", ""},
		{"https://example.com:+1", ""},
		{"https://exa mple.com", ""},
		{"https://exa%2Emple.com", ""},
		{"https://exämple.com", ""},
		{"https://[::1", ""},
		{"https://[::1]x", ""},
		{"https://[fe80::1%25eth0]", ""},
		{"https://[example.com]", ""},
		{"https://a:1:2", ""},
		{"//example.com", ""},
		{"1http://example.com", ""},
		{"example.com", ""},
		{"https:\\\\example.com", ""},
	}
	for _, tt := range tests {
		o, ok := parseOrigin(tt.in)
		got := ""
		if ok {
			got = o.String()
		}
		if got != tt.want {
			t.Errorf("parseOrigin(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestRefererOrigin(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://bank.test/form?x=1#y", "https://bank.test"},
		{"https://bank.test", "https://bank.test"},
		{"https://bank.test?x", "https://bank.test"},
		{"http://[::1]:8080/a", "http://[::1]:8080"},
		{"https://", ""},
		{"//bank.test/", ""},
		{"", ""},
		{"ØBöIß", ""},
	}
	for _, tt := range tests {
		if got := refererOrigin(tt.in); got != tt.want {
			t.Errorf("refererOrigin(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestForwarded(t *testing.T) {
	tests := []struct {
		name              string
		headers           [][2]string
		proto, host, port string
	}{
		{"none", nil, "", "", ""},
		{"x-forwarded", [][2]string{{"X-Forwarded-Proto", "https"}, {"X-Forwarded-Host", "bank.test"}}, "https", "bank.test", ""},
		{"x-forwarded list takes last", [][2]string{{"X-Forwarded-Proto", "http , https"}, {"X-Forwarded-Host", "evil.example, bank.test"}}, "https", "bank.test", ""},
		{"x-forwarded repeated header takes last", [][2]string{{"X-Forwarded-Proto", "http"}, {"X-Forwarded-Proto", "https"}}, "https", "", ""},
		{"forwarded tokens", [][2]string{{"Forwarded", "for=192.0.2.1;proto=https;host=bank.test"}}, "https", "bank.test", ""},
		{"forwarded case and spaces", [][2]string{{"Forwarded", "For=192.0.2.1 ; Proto=https ; Host=bank.test"}}, "https", "bank.test", ""},
		{"forwarded quoted", [][2]string{{"Forwarded", `proto="https";host="bank.test:8443"`}}, "https", "bank.test:8443", ""},
		{"forwarded quoted comma", [][2]string{{"Forwarded", `host="a,b", proto=https;host="bank.test"`}}, "https", "bank.test", ""},
		{"forwarded escape", [][2]string{{"Forwarded", `host="bank\.test"`}}, "", "bank.test", ""},
		{"forwarded unterminated", [][2]string{{"Forwarded", `host="bank.test`}}, "", "", ""},
		{"forwarded last element", [][2]string{{"Forwarded", "proto=http;host=a, proto=https;host=b"}}, "https", "b", ""},
		{"forwarded wins per parameter", [][2]string{{"Forwarded", "for=x;host=bank.test"}, {"X-Forwarded-Proto", "https"}, {"X-Forwarded-Host", "evil.example"}}, "https", "bank.test", ""},
		{"x-forwarded-port", [][2]string{{"X-Forwarded-Port", "8443, 443"}}, "", "", "443"},
	}
	for _, tt := range tests {
		h := make(http.Header)
		for _, kv := range tt.headers {
			h.Add(kv[0], kv[1])
		}
		proto, host, port := forwarded(h)
		if proto != tt.proto || host != tt.host || port != tt.port {
			t.Errorf("%s: forwarded = %q, %q, %q; want %q, %q, %q", tt.name, proto, host, port, tt.proto, tt.host, tt.port)
		}
	}
}

func TestIsHTTPS(t *testing.T) {
	p := &Protection{}
	var errs []error
	if p.proxies, errs = parseProxies([]string{"10.0.0.0/8", "::1"}); errs != nil {
		t.Fatal(errs)
	}
	pub := &Protection{}
	pub.public = []origin{{scheme: "http", host: "dev.test"}, {scheme: "https", host: "bank.test"}}
	tests := []struct {
		name   string
		p      *Protection
		tls    bool
		remote string
		host   string
		xfp    string
		want   bool
	}{
		{"plain", p, false, "192.0.2.1:1", "bank.test", "", false},
		{"tls", p, true, "192.0.2.1:1", "bank.test", "", true},
		{"untrusted xfp", p, false, "192.0.2.1:1", "bank.test", "https", false},
		{"trusted xfp", p, false, "10.0.0.1:1", "bank.test", "https", true},
		{"trusted ipv6 loopback", p, false, "[::1]:1", "bank.test", "https", true},
		{"trusted xfp http over tls", p, true, "10.0.0.1:1", "bank.test", "http", false},
		{"trusted xfp junk ignored", p, true, "10.0.0.1:1", "bank.test", "gopher", true},
		{"remote without port", p, false, "10.0.0.1", "bank.test", "https", true},
		{"remote unparseable", p, false, "@", "bank.test", "https", false},
		{"public origin by host", pub, false, "192.0.2.1:1", "bank.test", "", true},
		{"public origin other host", pub, true, "192.0.2.1:1", "dev.test", "", false},
		{"public origin default first", pub, true, "192.0.2.1:1", "unknown.test", "", false},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("POST", "http://x/", nil)
		r.Host = tt.host
		r.RemoteAddr = tt.remote
		if tt.tls {
			r.TLS = &tls.ConnectionState{}
		}
		if tt.xfp != "" {
			r.Header.Set("X-Forwarded-Proto", tt.xfp)
		}
		if got := tt.p.isHTTPS(r); got != tt.want {
			t.Errorf("%s: isHTTPS = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestCleanPath(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/", "/"},
		{"/a/b", "/a/b"},
		{"/a/b/", "/a/b/"},
		{"/a//b", "/a/b"},
		{"/a/./b/", "/a/b/"},
		{"/a/../b", "/b"},
		{"/..", "/"},
		{"/a/..", "/"},
		{"", "/"},
		{"a/b", "/a/b"},
	}
	for _, tt := range tests {
		if got := cleanPath(tt.in); got != tt.want {
			t.Errorf("cleanPath(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if isClean(tt.in) != (tt.in == tt.want) {
			t.Errorf("isClean(%q) = %v", tt.in, isClean(tt.in))
		}
	}
}

// vectorHeaderValues returns every value of the named header in the
// decision vectors, as fuzz seeds drawn from real fixtures.
func vectorHeaderValues(f *testing.F, name string) []string {
	data, err := os.ReadFile("testdata/decision/vectors.json")
	if err != nil {
		f.Fatal(err)
	}
	var vs []struct {
		Request struct {
			Headers [][2]string `json:"headers"`
		} `json:"request"`
	}
	if err := json.Unmarshal(data, &vs); err != nil {
		f.Fatal(err)
	}
	var out []string
	for _, v := range vs {
		for _, kv := range v.Request.Headers {
			if strings.EqualFold(kv[0], name) {
				out = append(out, kv[1])
			}
		}
	}
	return out
}

// FuzzParseOrigin checks that parseOrigin never panics, accepts nothing
// that could carry userinfo, a path, a query or a fragment, and that an
// accepted origin's serialization parses back to the same origin.
func FuzzParseOrigin(f *testing.F) {
	for _, s := range vectorHeaderValues(f, "Origin") {
		f.Add(s)
	}
	for _, s := range []string{"https://a.b:443", "http://[::1]:80", "HTTP://A:80", "x://y:65535", "https://a@b", "https://a/b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		o, ok := parseOrigin(s)
		if !ok {
			return
		}
		if strings.ContainsAny(s[strings.Index(s, "://")+3:], "@/?#%\\ ") {
			t.Fatalf("accepted %q, whose authority has a delimiter", s)
		}
		ser := o.String()
		o2, ok := parseOrigin(ser)
		if !ok || !o2.equal(o) || o2.String() != ser {
			t.Fatalf("%q → %q → %+v, %v", s, ser, o2, ok)
		}
		if !strings.EqualFold(ser, s) && len(ser) >= len(s) {
			t.Fatalf("%q serialized as %q: only a default port may be dropped", s, ser)
		}
	})
}

// FuzzParseReferer checks that Referer parsing never panics and agrees with
// the origin parser: the origin of an accepted Referer is a prefix of it
// and parses as an origin with the same value.
func FuzzParseReferer(f *testing.F) {
	for _, s := range vectorHeaderValues(f, "Referer") {
		f.Add(s)
	}
	for _, s := range []string{"https://bank.test/a?b#c", "https://bank.test?x", "http://[::1]:8080/", "https://u@bank.test/", "https:///x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ro := refererOrigin(s)
		_, _, partsOK := refererParts(s)
		if (ro != "") != partsOK {
			t.Fatalf("refererOrigin(%q) = %q but refererParts ok = %v", s, ro, partsOK)
		}
		if !strings.HasPrefix(s, ro) {
			t.Fatalf("refererOrigin(%q) = %q is not a prefix", s, ro)
		}
		o, ok := parseReferer(s)
		if !ok {
			return
		}
		o2, ok := parseOrigin(ro)
		if !ok || !o2.equal(o) {
			t.Fatalf("parseReferer(%q) = %+v but parseOrigin(%q) = %+v, %v", s, o, ro, o2, ok)
		}
	})
}

// FuzzForwarded checks that forwarding headers never make the parser panic
// and that what it returns comes from the headers.
func FuzzForwarded(f *testing.F) {
	f.Add(`for=192.0.2.60;proto=https;host="bank.test"`, "https", "bank.test")
	f.Add(`host="a,b", proto=https;host="x\"y"`, "http, https", "a, b")
	f.Add(`"`, ",", ";")
	f.Fuzz(func(t *testing.T, fwd, xfp, xfh string) {
		h := http.Header{"Forwarded": {fwd}, "X-Forwarded-Proto": {xfp}, "X-Forwarded-Host": {xfh}}
		proto, host, _ := forwarded(h)
		all := fwd + xfp + xfh
		if !strings.Contains(all, proto) && !strings.Contains(fwd, `\`) {
			t.Fatalf("proto %q not in the headers", proto)
		}
		if !strings.Contains(all, host) && !strings.Contains(fwd, `\`) {
			t.Fatalf("host %q not in the headers", host)
		}
	})
}
