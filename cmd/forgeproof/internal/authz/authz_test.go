package authz_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/authz"
)

// subrequest returns a decision subrequest to path with the given headers
// (pairs of name and value).
func subrequest(method, path, host string, kv ...string) *http.Request {
	r := httptest.NewRequest(method, path, nil)
	r.Host = host
	for i := 0; i+1 < len(kv); i += 2 {
		r.Header.Add(kv[i], kv[i+1])
	}
	return r
}

// TestOriginal rebuilds the browser's request from the subrequests that
// each proxy sends, as its documentation describes them.
func TestOriginal(t *testing.T) {
	tests := []struct {
		name, proxy string
		r           *http.Request
		method, url string // the URL as scheme://host/path?query
	}{
		{"nginx", authz.Nginx, subrequest("GET", "/auth/nginx", "authz:8080",
			"X-Original-Method", "POST", "X-Original-URI", "/api/transfer?x=1",
			"X-Forwarded-Host", "bank.example", "X-Forwarded-Proto", "https"),
			"POST", "https://bank.example/api/transfer?x=1"},
		{"nginx without X-Forwarded-Host takes Host", authz.Nginx, subrequest("GET", "/auth/nginx", "bank.example",
			"X-Original-Method", "DELETE", "X-Original-URI", "/a", "X-Forwarded-Proto", "http"),
			"DELETE", "http://bank.example/a"},
		{"traefik", authz.Traefik, subrequest("GET", "/auth/traefik", "authz:8080",
			"X-Forwarded-Method", "PUT", "X-Forwarded-Uri", "/api/x", "X-Forwarded-Host", "bank.example:8443",
			"X-Forwarded-Proto", "https", "X-Forwarded-For", "203.0.113.9"),
			"PUT", "https://bank.example:8443/api/x"},
		{"caddy", authz.Caddy, subrequest("GET", "/auth/caddy", "authz:8080",
			"X-Forwarded-Method", "PATCH", "X-Forwarded-Uri", "/api/x?y=2", "X-Forwarded-Host", "bank.example",
			"X-Forwarded-Proto", "https"),
			"PATCH", "https://bank.example/api/x?y=2"},
		{"envoy", authz.Envoy, subrequest("POST", "/auth/envoy/api/transfer?z=3", "bank.example",
			"X-Forwarded-Proto", "https"),
			"POST", "https://bank.example/api/transfer?z=3"},
		{"envoy root", authz.Envoy, subrequest("DELETE", "/auth/envoy", "bank.example", "X-Forwarded-Proto", "https"),
			"DELETE", "https://bank.example/"},
		{"absolute-form URI keeps its path only", authz.Nginx, subrequest("GET", "/auth/nginx", "bank.example",
			"X-Original-Method", "POST", "X-Original-URI", "http://other.example/p", "X-Forwarded-Proto", "https"),
			"POST", "https://bank.example/p"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := authz.Original(tt.proxy, tt.r)
			if err != nil {
				t.Fatal(err)
			}
			scheme := "http"
			if o.TLS != nil {
				scheme = "https"
			}
			got := scheme + "://" + o.Host + o.URL.RequestURI()
			if o.Method != tt.method || got != tt.url {
				t.Errorf("rebuilt %s %s; want %s %s", o.Method, got, tt.method, tt.url)
			}
			for _, k := range []string{"X-Original-Method", "X-Forwarded-Method", "X-Forwarded-Uri", "X-Forwarded-Host"} {
				if o.Header.Get(k) != "" {
					t.Errorf("rebuilt request keeps %s", k)
				}
			}
		})
	}
}

// TestOriginalRefuses: a subrequest that does not say what the browser
// sent is refused, with a message that names what is missing.
func TestOriginalRefuses(t *testing.T) {
	tests := []struct {
		name, proxy string
		r           *http.Request
		want        string
	}{
		{"nginx without X-Original-Method", authz.Nginx, subrequest("GET", "/auth/nginx", "h",
			"X-Original-URI", "/", "X-Forwarded-Proto", "https"), "no X-Original-Method header"},
		{"two methods", authz.Nginx, subrequest("GET", "/auth/nginx", "h", "X-Original-Method", "GET",
			"X-Original-Method", "POST", "X-Original-URI", "/", "X-Forwarded-Proto", "https"), "2 X-Original-Method headers"},
		{"traefik without host", authz.Traefik, subrequest("GET", "/auth/traefik", "h",
			"X-Forwarded-Method", "POST", "X-Forwarded-Uri", "/", "X-Forwarded-Proto", "https"), "no X-Forwarded-Host"},
		{"no scheme", authz.Caddy, subrequest("GET", "/auth/caddy", "h",
			"X-Forwarded-Method", "POST", "X-Forwarded-Uri", "/", "X-Forwarded-Host", "h"), "no X-Forwarded-Proto"},
		{"odd scheme", authz.Envoy, subrequest("POST", "/auth/envoy/", "h", "X-Forwarded-Proto", "gopher"), "neither http nor https"},
		{"bad method", authz.Nginx, subrequest("GET", "/auth/nginx", "h", "X-Original-Method", "PO ST",
			"X-Original-URI", "/", "X-Forwarded-Proto", "https"), "not an HTTP method"},
		{"relative URI", authz.Nginx, subrequest("GET", "/auth/nginx", "h", "X-Original-Method", "POST",
			"X-Original-URI", "api/x", "X-Forwarded-Proto", "https"), "not an absolute path"},
		{"unknown proxy", "haproxy", subrequest("GET", "/", "h"), "unknown proxy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := authz.Original(tt.proxy, tt.r)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v; want one containing %q", err, tt.want)
			}
		})
	}
}

// TestServiceProxies: the same forged and legitimate requests, as Traefik,
// Caddy and Envoy send them, get the same answers as through nginx.
func TestServiceProxies(t *testing.T) {
	svc, err := authz.New(authz.Options{Protection: protection()})
	if err != nil {
		t.Fatal(err)
	}
	// A token for https://bank.example, fetched through the proxy.
	tr := subrequest("GET", "/.forgeproof/token", "authz:8080", "X-Forwarded-Host", "bank.example", "X-Forwarded-Proto", "https")
	w := httptest.NewRecorder()
	svc.ServeHTTP(w, tr)
	var tok struct{ Token string }
	json.Unmarshal(w.Body.Bytes(), &tok)
	cookies := w.Result().Cookies()
	if len(cookies) != 1 || cookies[0].Name != "__Host-forgeproof" || !cookies[0].Secure || tok.Token == "" {
		t.Fatalf("token endpoint over https: cookies %v, body %s; want one __Host-forgeproof Secure cookie and a token", cookies, w.Body)
	}
	cookie := cookies[0].Name + "=" + cookies[0].Value

	as := func(proxy, method, uri string, kv ...string) *http.Request {
		kv = append(kv, "X-Forwarded-Proto", "https")
		switch proxy {
		case authz.Envoy:
			return subrequest(method, "/auth/envoy"+uri, "bank.example", kv...)
		default:
			kv = append(kv, "X-Forwarded-Method", method, "X-Forwarded-Uri", uri, "X-Forwarded-Host", "bank.example")
			return subrequest("GET", "/auth/"+proxy, "authz:8080", kv...)
		}
	}
	for _, proxy := range []string{authz.Traefik, authz.Caddy, authz.Envoy} {
		tests := []struct {
			name   string
			r      *http.Request
			want   int
			reason string
		}{
			{"page load", as(proxy, "GET", "/page"), 200, ""},
			{"same-origin POST with token", as(proxy, "POST", "/api/transfer", "Origin", "https://bank.example", "Cookie", cookie, "X-Forgeproof-Token", tok.Token), 200, ""},
			{"trusted origin", as(proxy, "POST", "/api/transfer", "Origin", "https://trusted.example", "Cookie", cookie, "X-Forgeproof-Token", tok.Token), 200, ""},
			{"cross-origin POST", as(proxy, "POST", "/api/transfer", "Origin", "https://evil.example", "Cookie", cookie, "X-Forgeproof-Token", tok.Token), 403, "origin-mismatch"},
			{"plain-HTTP page of the same host", as(proxy, "POST", "/api/transfer", "Origin", "http://bank.example", "Cookie", cookie, "X-Forgeproof-Token", tok.Token), 403, "origin-mismatch"},
			{"no token", as(proxy, "POST", "/api/transfer", "Origin", "https://bank.example", "Cookie", cookie), 403, "token-missing"},
			{"cross-site Fetch Metadata", as(proxy, "DELETE", "/api/x", "Sec-Fetch-Site", "cross-site", "Cookie", cookie, "X-Forgeproof-Token", tok.Token), 403, "sec-fetch-site-cross-site"},
		}
		for _, tt := range tests {
			t.Run(proxy+"/"+tt.name, func(t *testing.T) {
				w := httptest.NewRecorder()
				svc.ServeHTTP(w, tt.r)
				if w.Code != tt.want {
					t.Fatalf("%d %s; want %d", w.Code, w.Body, tt.want)
				}
				if tt.want != 200 {
					var p struct{ Reason string }
					json.Unmarshal(w.Body.Bytes(), &p)
					if p.Reason != tt.reason || w.Header().Get(authz.ReasonHeader) != tt.reason ||
						w.Header().Get("Content-Type") != "application/problem+json" {
						t.Errorf("refusal %s, %s %q; want problem+json and header with reason %q", w.Body, authz.ReasonHeader, w.Header().Get(authz.ReasonHeader), tt.reason)
					}
				}
			})
		}
	}
}

// FuzzOriginal: no subrequest makes Original panic, and what it returns is
// a request with a method, an absolute path and a host.
func FuzzOriginal(f *testing.F) {
	f.Add("nginx", "POST", "/api/x?y=1", "bank.example", "https")
	f.Add("traefik", "DELETE", "http://h/p", "h:8080", "http")
	f.Add("envoy", "PUT", "/../a//b", "", "HTTPS")
	f.Add("caddy", "", "%zz", "h", "https, http")
	f.Fuzz(func(t *testing.T, proxy, method, uri, host, proto string) {
		kv := []string{"X-Original-Method", method, "X-Original-Uri", uri, "X-Forwarded-Method", method,
			"X-Forwarded-Uri", uri, "X-Forwarded-Host", host, "X-Forwarded-Proto", proto}
		r := &http.Request{Method: "GET", URL: &urlPath, Host: host, Header: http.Header{}}
		if proxy == authz.Envoy {
			r.Method = method
		}
		for i := 0; i+1 < len(kv); i += 2 {
			r.Header[kv[i]] = []string{kv[i+1]}
		}
		o, err := authz.Original(proxy, r)
		if err != nil {
			return
		}
		if o.Method == "" || o.URL == nil || !strings.HasPrefix(o.URL.Path, "/") && o.URL.Path != "" {
			t.Errorf("Original gave %q %v", o.Method, o.URL)
		}
	})
}

var urlPath = *httptest.NewRequest("GET", "/auth/envoy/x", nil).URL
