// Package bench measures forgeproof against its peers — Go's
// http.CrossOriginProtection, gorilla/csrf and justinas/nosurf — in one run.
// It is a separate module so that the main module never depends on them.
//
// Run it with:
//
//	cd bench && go test -run '^$' -bench . -benchmem -count 10 | tee new.txt
//	go run golang.org/x/perf/cmd/benchstat new.txt
//
// Every sub-benchmark first sends its request once and fails unless the
// middleware answered with the expected status, so a misconfigured peer can
// never produce a flattering number. Besides the wall-clock ns/op, each
// reports cpu-ns/op, the CPU time the process used per request, which
// waiting for a CPU on a busy machine does not inflate.
package bench

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"net/http"
	"strings"
	"testing"

	"github.com/forgeproof/forgeproof"
	"github.com/gorilla/csrf"
	"github.com/justinas/nosurf"
)

const host = "bank.example"

var (
	bare = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
	})
	authKey = []byte("0123456789abcdef0123456789abcdef")
)

// A subject is one middleware set up for one scenario: a handler, and the
// request that the scenario sends through it.
type subject struct {
	name string
	h    http.Handler
	req  *http.Request
	want int
}

// discard is a ResponseWriter that keeps nothing, so that the benchmarks
// measure the middleware and not a recorder.
type discard struct {
	h    http.Header
	code int
}

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(code int)        { d.code = code }

// request returns an HTTPS request to the bank with the given headers
// (pairs of name and value).
func request(method string, kv ...string) *http.Request {
	r, err := http.NewRequest(method, "https://"+host+"/transfer", nil)
	if err != nil {
		panic(err)
	}
	r.TLS = &tls.ConnectionState{}
	r.RemoteAddr = "192.0.2.1:1234"
	for i := 0; i+1 < len(kv); i += 2 {
		r.Header.Add(kv[i], kv[i+1])
	}
	return r
}

// scenario is one of the three request shapes the benchmarks send.
type scenario int

const (
	safeGET scenario = iota
	unsafeValid
	unsafeRejected
)

// tokenFrom runs a GET through h, whose inner handler puts a token in the
// X-Token response header, and returns that token and the cookies set.
func tokenFrom(h http.Handler) (token, cookies string) {
	w := &discard{h: http.Header{}}
	h.ServeHTTP(w, request("GET", "Sec-Fetch-Site", "same-origin"))
	var cs []string
	for _, c := range w.h.Values("Set-Cookie") {
		cs = append(cs, strings.SplitN(c, ";", 2)[0])
	}
	return w.h.Get("X-Token"), strings.Join(cs, "; ")
}

// build returns the request for scenario s, given how to obtain a valid
// token and cookies from the middleware under test (nil when it uses none).
func build(s scenario, mint http.Handler, extra ...string) *http.Request {
	switch s {
	case safeGET:
		return request("GET", append([]string{"Sec-Fetch-Site", "same-origin"}, extra...)...)
	case unsafeRejected:
		return request("POST", append([]string{"Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"}, extra...)...)
	}
	kv := append([]string{"Sec-Fetch-Site", "same-origin", "Origin", "https://" + host}, extra...)
	if mint != nil {
		token, cookies := tokenFrom(mint)
		kv = append(kv, "X-CSRF-Token", token)
		if cookies != "" {
			kv = append(kv, "Cookie", cookies)
		}
	}
	return request("POST", kv...)
}

// floorHMAC returns the cryptographic floor of a token check, the
// reference row floor-hmac: a handler that computes one HMAC-SHA256 over a
// 64-byte message from a pre-keyed state and compares it with the expected
// MAC in constant time, then answers 200, or 403 on a mismatch. crypto/hmac
// keeps the keyed inner and outer hash states after the first Reset and
// restores them on every later one, so no key is hashed per request. The
// handler is not safe for concurrent use, which the benchmarks do not need.
func floorHMAC() http.Handler {
	mac := hmac.New(sha256.New, authKey)
	msg := []byte(strings.Repeat("forgeproof token", 4)) // 64 bytes
	mac.Reset()
	mac.Write(msg)
	want := mac.Sum(nil)
	var sum [sha256.Size]byte
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mac.Reset()
		mac.Write(msg)
		if subtle.ConstantTimeCompare(mac.Sum(sum[:0]), want) != 1 {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
}

func subjects(b *testing.B, s scenario) []subject {
	status := func(reject int) int {
		if s == unsafeRejected {
			return reject
		}
		return http.StatusOK
	}
	var out []subject

	out = append(out, subject{"bare", bare, build(s, nil), http.StatusOK})
	if s == unsafeValid {
		out = append(out, subject{"floor-hmac", floorHMAC(), build(s, nil), http.StatusOK})
	}

	cop := http.NewCrossOriginProtection()
	out = append(out, subject{"stdlib", cop.Handler(bare), build(s, nil), status(http.StatusForbidden)})

	gorilla := csrf.Protect(authKey, csrf.Path("/"))
	gorillaMint := gorilla(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Token", csrf.Token(r))
	}))
	out = append(out, subject{"gorilla", gorilla(bare), build(s, gorillaMint), status(http.StatusForbidden)})

	ns := nosurf.New(bare)
	nsMint := nosurf.New(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Token", nosurf.Token(r))
	}))
	out = append(out, subject{"nosurf", ns, build(s, nsMint), status(http.StatusBadRequest)})

	for _, fp := range []struct {
		name string
		cfg  forgeproof.Config
	}{
		{"forgeproof-origin", forgeproof.Config{Tokens: forgeproof.TokensOff}},
		{"forgeproof-signed", forgeproof.Config{SessionCookie: "session", HeaderName: "X-CSRF-Token"}},
		{"forgeproof-sync", forgeproof.Config{Tokens: forgeproof.SynchronizerTokens, SessionCookie: "session", HeaderName: "X-CSRF-Token"}},
	} {
		p, err := forgeproof.New(fp.cfg)
		if err != nil {
			b.Fatalf("%s: %v", fp.name, err)
		}
		var mint http.Handler
		if fp.cfg.Tokens != forgeproof.TokensOff {
			mint = p.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				r.Header.Set("Cookie", "session=s3ss10n")
				tok, err := p.Token(w, r)
				if err != nil {
					b.Fatalf("%s: token: %v", fp.name, err)
				}
				w.Header().Set("X-Token", tok)
			}))
		}
		req := build(s, mint)
		if s == unsafeValid && mint != nil {
			req.Header.Set("Cookie", req.Header.Get("Cookie")+"; session=s3ss10n")
		}
		out = append(out, subject{fp.name, p.Handler(bare), req, status(http.StatusForbidden)})
	}
	return out
}

func run(b *testing.B, s scenario) {
	for _, sub := range subjects(b, s) {
		b.Run(sub.name, func(b *testing.B) {
			w := &discard{h: http.Header{}}
			sub.h.ServeHTTP(w, sub.req)
			if w.code == 0 {
				w.code = http.StatusOK
			}
			if w.code != sub.want {
				b.Fatalf("%s answered %d, want %d", sub.name, w.code, sub.want)
			}
			b.ReportAllocs()
			start, ok := cpuTime()
			for b.Loop() {
				clear(w.h)
				w.code = 0
				sub.h.ServeHTTP(w, sub.req)
			}
			if end, ok2 := cpuTime(); ok && ok2 {
				b.ReportMetric(float64(end-start)/float64(b.N), "cpu-ns/op")
			}
		})
	}
}

// BenchmarkSafeGET sends a same-origin GET whose handler asks for no token.
func BenchmarkSafeGET(b *testing.B) { run(b, safeGET) }

// BenchmarkUnsafeValid sends a same-origin POST with a valid token (for the
// middlewares that use tokens). Its row floor-hmac is the cryptographic
// floor of a token check (see floorHMAC), for the ratios to it.
func BenchmarkUnsafeValid(b *testing.B) { run(b, unsafeValid) }

// BenchmarkUnsafeRejected sends a cross-site POST without a token.
func BenchmarkUnsafeRejected(b *testing.B) { run(b, unsafeRejected) }
