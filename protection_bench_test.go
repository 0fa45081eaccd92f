package forgeproof_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/forgeproof/forgeproof"
)

// BenchmarkDecision measures the middleware with tokens off on the paths
// that every request takes, beside the bare handler and
// net/http.CrossOriginProtection. The comparison with gorilla/csrf and
// nosurf lives in the bench module.
func BenchmarkDecision(b *testing.B) {
	p, err := forgeproof.New(forgeproof.Config{
		Tokens:         forgeproof.TokensOff,
		TrustedOrigins: []string{"https://partner.example", "https://*.example.com"},
		Routes: []forgeproof.Route{
			{Pattern: "/api/", JSONOnly: true},
			{Pattern: "/hooks/", InsecureBypass: true},
		},
	})
	if err != nil {
		b.Fatal(err)
	}
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	req := func(method, target string, hdr ...string) *http.Request {
		r := httptest.NewRequest(method, target, nil)
		for i := 0; i < len(hdr); i += 2 {
			r.Header.Set(hdr[i], hdr[i+1])
		}
		return r
	}
	cases := []struct {
		name   string
		r      *http.Request
		status int
	}{
		{"SafeGET", req("GET", "https://bank.test/account?id=7", "Sec-Fetch-Site", "cross-site"), 200},
		{"SameOriginPOST", req("POST", "https://bank.test/transfer", "Sec-Fetch-Site", "same-origin"), 200},
		{"OriginPOST", req("POST", "https://bank.test/transfer", "Origin", "https://bank.test"), 200},
		{"TrustedPatternPOST", req("POST", "https://bank.test/api/x", "Origin", "https://a.example.com", "Sec-Fetch-Site", "cross-site", "Content-Type", "application/json"), 200},
		{"RefererPOST", req("POST", "https://bank.test/transfer", "Referer", "https://bank.test/form?x=1"), 200},
		{"RejectedCrossSite", req("POST", "https://bank.test/transfer", "Sec-Fetch-Site", "cross-site"), 403},
		{"RejectedOrigin", req("POST", "https://bank.test/transfer", "Origin", "https://evil.example"), 403},
	}
	stdlib := http.NewCrossOriginProtection()
	stdlib.AddTrustedOrigin("https://a.example.com") // it has no patterns
	w := &discard{h: make(http.Header)}
	for _, c := range cases {
		for _, h := range []struct {
			name string
			h    http.Handler
		}{{"bare", next}, {"stdlib", stdlib.Handler(next)}, {"forgeproof", p.Handler(next)}} {
			b.Run(c.name+"/"+h.name, func(b *testing.B) {
				if h.name != "bare" {
					h.h.ServeHTTP(w, c.r)
					if w.code != c.status {
						b.Fatalf("status %d, want %d", w.code, c.status)
					}
				}
				b.ReportAllocs()
				for b.Loop() {
					clear(w.h)
					h.h.ServeHTTP(w, c.r)
				}
			})
		}
	}
}
