package forgeproof

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"hash/maphash"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// discardLog swallows the warnings of Protections made in tests.
var discardLog = log.New(io.Discard, "", 0)

// A testClock is a settable clock for the token layer and the store.
type testClock struct{ t time.Time }

func (c *testClock) now() time.Time { return c.t }

// newTokenProtection returns a Protection for cfg whose token layer and
// memory store read the time from clock.
func newTokenProtection(t testing.TB, cfg Config, clock *testClock) *Protection {
	t.Helper()
	if cfg.ErrorLog == nil {
		cfg.ErrorLog = discardLog
	}
	if cfg.Store == nil {
		ms := NewMemoryStore(0)
		ms.now = clock.now
		cfg.Store = ms
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	p.tok.now = clock.now
	return p
}

// A browser is the client side of a test: it keeps the cookies that
// responses set and sends them back.
type browser struct {
	origin  string // "https://bank.test"
	session string // the session cookie's value, or ""
	jar     map[string]string
}

func newBrowser(origin, session string) *browser {
	return &browser{origin: origin, session: session, jar: map[string]string{}}
}

// request returns a request from the browser's own origin.
func (b *browser) request(method, path string, body io.Reader) *http.Request {
	r := httptest.NewRequest(method, b.origin+path, body)
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	if b.session != "" {
		r.AddCookie(&http.Cookie{Name: "session", Value: b.session})
	}
	for name, value := range b.jar {
		r.AddCookie(&http.Cookie{Name: name, Value: value})
	}
	return r
}

// keep stores the cookies set by a response.
func (b *browser) keep(w *httptest.ResponseRecorder) {
	for _, c := range w.Result().Cookies() {
		b.jar[c.Name] = c.Value
	}
}

// token fetches a page and returns the token it carries.
func (b *browser) token(t testing.TB, p *Protection) string {
	t.Helper()
	w := httptest.NewRecorder()
	tok, err := p.Token(w, b.request("GET", "/", nil))
	if err != nil {
		t.Fatalf("Token: %v", err)
	}
	b.keep(w)
	return tok
}

// post returns a POST carrying tok in the header (if not "").
func (b *browser) post(tok string) *http.Request {
	r := b.request("POST", "/transfer", nil)
	if tok != "" {
		r.Header.Set("X-Forgeproof-Token", tok)
	}
	return r
}

func TestSignedTokens(t *testing.T) {
	start := time.Date(2026, 11, 28, 1, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		// run obtains a token as the browser b, may change the world, and
		// returns the request to verify.
		run  func(t *testing.T, p *Protection, b *browser, clock *testClock) *http.Request
		want Reason
	}{
		{"valid token in header", func(t *testing.T, p *Protection, b *browser, _ *testClock) *http.Request {
			return b.post(b.token(t, p))
		}, ReasonNone},
		{"second masked copy of the token", func(t *testing.T, p *Protection, b *browser, _ *testClock) *http.Request {
			b.token(t, p)
			return b.post(b.token(t, p))
		}, ReasonNone},
		{"valid token in urlencoded field", func(t *testing.T, p *Protection, b *browser, _ *testClock) *http.Request {
			tok := b.token(t, p)
			r := b.request("POST", "/transfer", strings.NewReader("to=mallory&forgeproof_token="+url.QueryEscape(tok)))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return r
		}, ReasonNone},
		{"valid token in multipart field", func(t *testing.T, p *Protection, b *browser, _ *testClock) *http.Request {
			tok := b.token(t, p)
			body := "--XX\r\nContent-Disposition: form-data; name=\"forgeproof_token\"\r\n\r\n" + tok + "\r\n--XX--\r\n"
			r := b.request("POST", "/transfer", strings.NewReader(body))
			r.Header.Set("Content-Type", "multipart/form-data; boundary=XX")
			return r
		}, ReasonNone},
		{"no token", func(t *testing.T, p *Protection, b *browser, _ *testClock) *http.Request {
			b.token(t, p)
			return b.post("")
		}, ReasonTokenMissing},
		{"empty header and no form", func(t *testing.T, p *Protection, b *browser, _ *testClock) *http.Request {
			b.token(t, p)
			r := b.post("")
			r.Header["X-Csrf-Token"] = []string{""}
			return r
		}, ReasonTokenMissing},
		{"no cookie", func(t *testing.T, p *Protection, b *browser, _ *testClock) *http.Request {
			tok := b.token(t, p)
			clear(b.jar)
			return b.post(tok)
		}, ReasonCookieMissing},
		{"token of another browser", func(t *testing.T, p *Protection, b *browser, _ *testClock) *http.Request {
			other := newBrowser(b.origin, b.session)
			tok := other.token(t, p)
			b.token(t, p)
			return b.post(tok)
		}, ReasonTokenInvalid},
		{"cookie value sent unmasked", func(t *testing.T, p *Protection, b *browser, _ *testClock) *http.Request {
			b.token(t, p)
			return b.post(b.jar[secureCookieName])
		}, ReasonTokenInvalid},
		{"garbage", func(t *testing.T, p *Protection, b *browser, _ *testClock) *http.Request {
			b.token(t, p)
			return b.post("not-a-token")
		}, ReasonTokenInvalid},
		{"right length, not base64url", func(t *testing.T, p *Protection, b *browser, _ *testClock) *http.Request {
			b.token(t, p)
			return b.post(strings.Repeat("+", maskedSignedLen))
		}, ReasonTokenInvalid},
		{"forged pair: cookie and token agree, MAC wrong", func(t *testing.T, p *Protection, b *browser, _ *testClock) *http.Request {
			var forged signedToken
			forged[0] = versionSigned
			copy(forged[offKeyID:], "\x00\x00\x00\x00")
			c := p.tok.mint(versionSigned, b.session, nil)
			copy(forged[:offMAC], c[:offMAC])
			b.jar[secureCookieName] = base64.RawURLEncoding.EncodeToString(forged[:])
			return b.post(mask(forged[:]))
		}, ReasonTokenInvalid},
		{"token of another session", func(t *testing.T, p *Protection, b *browser, _ *testClock) *http.Request {
			tok := b.token(t, p)
			b.session = "eve-session"
			return b.post(tok)
		}, ReasonTokenSessionMismatch},
		{"token from before login", func(t *testing.T, p *Protection, b *browser, _ *testClock) *http.Request {
			b.session = ""
			tok := b.token(t, p)
			b.session = "alice-session"
			return b.post(tok)
		}, ReasonTokenSessionMismatch},
		{"just before expiry", func(t *testing.T, p *Protection, b *browser, clock *testClock) *http.Request {
			tok := b.token(t, p)
			clock.t = clock.t.Add(12*time.Hour - time.Second)
			return b.post(tok)
		}, ReasonNone},
		{"page rendered before the cookie was renewed", func(t *testing.T, p *Protection, b *browser, clock *testClock) *http.Request {
			tok := b.token(t, p)
			old := b.jar[secureCookieName]
			clock.t = clock.t.Add(7 * time.Hour)
			b.token(t, p)
			if b.jar[secureCookieName] == old {
				t.Fatal("token cookie not renewed past half its age")
			}
			return b.post(tok)
		}, ReasonNone},
		{"expired", func(t *testing.T, p *Protection, b *browser, clock *testClock) *http.Request {
			tok := b.token(t, p)
			clock.t = clock.t.Add(12 * time.Hour)
			return b.post(tok)
		}, ReasonTokenExpired},
		{"issued in the future", func(t *testing.T, p *Protection, b *browser, clock *testClock) *http.Request {
			clock.t = clock.t.Add(time.Hour)
			tok := b.token(t, p)
			clock.t = start
			return b.post(tok)
		}, ReasonTokenInvalid},
		{"signed by a key not in the ring", func(t *testing.T, p *Protection, b *browser, clock *testClock) *http.Request {
			other := newTokenProtection(t, Config{SessionCookie: "session"}, clock)
			return b.post(b.token(t, other))
		}, ReasonTokenInvalid},
		{"plain cookie on HTTPS", func(t *testing.T, p *Protection, b *browser, _ *testClock) *http.Request {
			tok := b.token(t, p)
			b.jar[plainCookieName] = b.jar[secureCookieName]
			delete(b.jar, secureCookieName)
			return b.post(tok)
		}, ReasonCookieMissing},
		{"planted cookie beside the genuine one", func(t *testing.T, p *Protection, b *browser, _ *testClock) *http.Request {
			tok := b.token(t, p)
			r := b.post(tok)
			r.Header["Cookie"] = append([]string{secureCookieName + "=planted"}, r.Header["Cookie"]...)
			return r
		}, ReasonCookieConflict},
		{"planted plain-HTTP cookie beside the genuine one", func(t *testing.T, p *Protection, b *browser, _ *testClock) *http.Request {
			tok := b.token(t, p)
			r := b.post(tok)
			r.Header.Add("Cookie", plainCookieName+"=a; "+plainCookieName+"=b")
			return r
		}, ReasonCookieConflict},
		{"planted session cookie beside the genuine one", func(t *testing.T, p *Protection, b *browser, _ *testClock) *http.Request {
			tok := b.token(t, p)
			r := b.post(tok)
			r.Header["Cookie"] = append([]string{"session=planted"}, r.Header["Cookie"]...)
			return r
		}, ReasonCookieConflict},
		{"the same cookie twice", func(t *testing.T, p *Protection, b *browser, _ *testClock) *http.Request {
			tok := b.token(t, p)
			r := b.post(tok)
			r.Header["Cookie"] = append(r.Header["Cookie"], r.Header["Cookie"]...)
			return r
		}, ReasonNone},
		{"invalid header wins over a valid field", func(t *testing.T, p *Protection, b *browser, _ *testClock) *http.Request {
			tok := b.token(t, p)
			r := b.request("POST", "/transfer", strings.NewReader("forgeproof_token="+tok))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.Header.Set("X-Forgeproof-Token", "bad")
			return r
		}, ReasonTokenInvalid},
		{"token in a JSON body is not looked for", func(t *testing.T, p *Protection, b *browser, _ *testClock) *http.Request {
			tok := b.token(t, p)
			r := b.request("POST", "/transfer", strings.NewReader(`{"forgeproof_token":"`+tok+`"}`))
			r.Header.Set("Content-Type", "application/json")
			return r
		}, ReasonTokenMissing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := &testClock{start}
			p := newTokenProtection(t, Config{SessionCookie: "session"}, clock)
			b := newBrowser("https://bank.test", "alice-session")
			r := tt.run(t, p, b, clock)
			if got := p.verifyToken(r, SignedTokens, false); got != tt.want {
				t.Errorf("verifyToken = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPlainHTTPCookie(t *testing.T) {
	var logged bytes.Buffer
	clock := &testClock{time.Now()}
	p := newTokenProtection(t, Config{ErrorLog: log.New(&logged, "", 0)}, clock)
	b := newBrowser("http://localhost:8080", "")
	tok := b.token(t, p)
	b.token(t, p)
	if _, ok := b.jar[plainCookieName]; !ok || len(b.jar) != 1 {
		t.Fatalf("cookies set over plain HTTP = %v, want only %q", b.jar, plainCookieName)
	}
	if n := strings.Count(logged.String(), "warning"); n != 1 {
		t.Errorf("warnings logged = %d, want 1:\n%s", n, logged.String())
	}
	if got := p.verifyToken(b.post(tok), SignedTokens, false); got != ReasonNone {
		t.Errorf("verifyToken over plain HTTP = %q, want allowed", got)
	}
}

func TestTokenResponse(t *testing.T) {
	clock := &testClock{time.Date(2026, 11, 28, 1, 0, 0, 0, time.UTC)}
	p := newTokenProtection(t, Config{SessionCookie: "session"}, clock)
	b := newBrowser("https://bank.test", "alice")

	w := httptest.NewRecorder()
	w.Header().Set("Vary", "Accept-Encoding, origin")
	r := b.request("GET", "/", nil)
	t1, _ := p.Token(w, r)
	t2, _ := p.Token(w, r)
	if t1 == t2 {
		t.Error("two calls returned the same masked token; want a fresh mask each time")
	}
	if n := len(w.Header()["Set-Cookie"]); n != 1 {
		t.Errorf("Set-Cookie headers = %d, want 1", n)
	}
	if got := w.Header().Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", got)
	}
	if got := strings.Join(w.Header().Values("Vary"), "|"); got != "Accept-Encoding, origin|Cookie|Sec-Fetch-Site" {
		t.Errorf("Vary = %q, want Accept-Encoding, origin|Cookie|Sec-Fetch-Site", got)
	}
	c := w.Result().Cookies()[0]
	if c.Name != secureCookieName || !c.Secure || !c.HttpOnly || c.Path != "/" || c.SameSite != http.SameSiteLaxMode || c.Domain != "" {
		t.Errorf("cookie = %+v, want __Host-forgeproof; Secure; HttpOnly; Path=/; SameSite=Lax", c)
	}
	b.keep(w)
	for _, tok := range []string{t1, t2} {
		if got := p.verifyToken(b.post(tok), SignedTokens, false); got != ReasonNone {
			t.Errorf("verifyToken(masked copy) = %q, want allowed", got)
		}
	}

	// A request that carries a fresh, genuine cookie gets no new one.
	w = httptest.NewRecorder()
	p.Token(w, b.request("GET", "/", nil))
	if n := len(w.Header()["Set-Cookie"]); n != 0 {
		t.Errorf("Set-Cookie headers with a valid cookie = %d, want 0", n)
	}
	// Past half its age, the cookie is renewed, and old pages still work.
	clock.t = clock.t.Add(7 * time.Hour)
	w = httptest.NewRecorder()
	p.Token(w, b.request("GET", "/", nil))
	if n := len(w.Header()["Set-Cookie"]); n != 1 {
		t.Errorf("Set-Cookie headers with an old cookie = %d, want 1", n)
	}
	// After login, the pre-login cookie is replaced.
	w = httptest.NewRecorder()
	b.session = "alice-2"
	p.Token(w, b.request("GET", "/", nil))
	if n := len(w.Header()["Set-Cookie"]); n != 1 {
		t.Errorf("Set-Cookie headers after a session change = %d, want 1", n)
	}
}

func TestKeyRotation(t *testing.T) {
	clock := &testClock{time.Now()}
	oldKey, newKey := GenerateKey(), GenerateKey()
	before, _ := NewKeyRing(oldKey)
	during, _ := NewKeyRing(newKey, oldKey)
	after, _ := NewKeyRing(newKey)

	p1 := newTokenProtection(t, Config{Keys: before}, clock)
	b := newBrowser("https://bank.test", "")
	oldTok := b.token(t, p1)
	oldCookie := b.jar[secureCookieName]

	p2 := newTokenProtection(t, Config{Keys: during}, clock)
	if got := p2.verifyToken(b.post(oldTok), SignedTokens, false); got != ReasonNone {
		t.Errorf("token of the retired key = %q, want allowed", got)
	}
	b2 := newBrowser("https://bank.test", "")
	newTok := b2.token(t, p2)
	var c signedToken
	if !decodeBase64(c[:], b2.jar[secureCookieName]) || c.keyID() != during.signer().id {
		t.Errorf("new token not signed by the first key of the ring")
	}
	p3 := newTokenProtection(t, Config{Keys: after}, clock)
	if got := p3.verifyToken(b2.post(newTok), SignedTokens, false); got != ReasonNone {
		t.Errorf("token of the new key after retirement = %q, want allowed", got)
	}
	b.jar[secureCookieName] = oldCookie
	if got := p3.verifyToken(b.post(oldTok), SignedTokens, false); got != ReasonTokenInvalid {
		t.Errorf("token of a removed key = %q, want token-invalid", got)
	}
}

// outageStore is a MemoryStore that fails while down is set, as a shared
// store does during an outage.
type outageStore struct {
	*MemoryStore
	down atomic.Bool
}

var errOutage = errors.New("connection refused")

func (s *outageStore) Get(ctx context.Context, key string) ([]byte, error) {
	if s.down.Load() {
		return nil, errOutage
	}
	return s.MemoryStore.Get(ctx, key)
}

func (s *outageStore) Put(ctx context.Context, key string, v []byte, ttl time.Duration) error {
	if s.down.Load() {
		return errOutage
	}
	return s.MemoryStore.Put(ctx, key, v, ttl)
}

func (s *outageStore) Take(ctx context.Context, key string) ([]byte, error) {
	if s.down.Load() {
		return nil, errOutage
	}
	return s.MemoryStore.Take(ctx, key)
}

func (s *outageStore) Delete(ctx context.Context, key string) error {
	if s.down.Load() {
		return errOutage
	}
	return s.MemoryStore.Delete(ctx, key)
}

func TestSynchronizerTokens(t *testing.T) {
	tests := []struct {
		name    string
		session string
		run     func(t *testing.T, p *Protection, s *outageStore, b *browser, clock *testClock) *http.Request
		want    Reason
	}{
		{"valid", "alice", func(t *testing.T, p *Protection, s *outageStore, b *browser, _ *testClock) *http.Request {
			return b.post(b.token(t, p))
		}, ReasonNone},
		{"valid before login", "", func(t *testing.T, p *Protection, s *outageStore, b *browser, _ *testClock) *http.Request {
			return b.post(b.token(t, p))
		}, ReasonNone},
		{"refused after the token cookie was lost, with a session", "alice", func(t *testing.T, p *Protection, s *outageStore, b *browser, _ *testClock) *http.Request {
			tok := b.token(t, p)
			clear(b.jar)
			return b.post(tok)
		}, ReasonCookieMissing},
		{"refused with another browser's token cookie", "alice", func(t *testing.T, p *Protection, s *outageStore, b *browser, _ *testClock) *http.Request {
			// A sibling subdomain planted its own token cookie for the
			// victim's session (which it learnt or fixed): the
			// victim's page token does not go with it.
			tok := b.token(t, p)
			other := newBrowser(b.origin, b.session)
			other.token(t, p)
			b.jar = other.jar
			return b.post(tok)
		}, ReasonTokenInvalid},
		{"refused with two session cookies", "alice", func(t *testing.T, p *Protection, s *outageStore, b *browser, _ *testClock) *http.Request {
			r := b.post(b.token(t, p))
			r.Header.Set("Cookie", "session=planted; "+r.Header.Get("Cookie"))
			return r
		}, ReasonCookieConflict},
		{"refused with two token cookies", "alice", func(t *testing.T, p *Protection, s *outageStore, b *browser, _ *testClock) *http.Request {
			r := b.post(b.token(t, p))
			r.Header.Add("Cookie", secureCookieName+"=planted")
			return r
		}, ReasonCookieConflict},
		{"the same session cookie twice", "alice", func(t *testing.T, p *Protection, s *outageStore, b *browser, _ *testClock) *http.Request {
			r := b.post(b.token(t, p))
			r.Header.Add("Cookie", "session=alice")
			return r
		}, ReasonNone},
		{"before login without the token cookie", "", func(t *testing.T, p *Protection, s *outageStore, b *browser, _ *testClock) *http.Request {
			tok := b.token(t, p)
			clear(b.jar)
			return b.post(tok)
		}, ReasonCookieMissing},
		{"a signed-only token", "alice", func(t *testing.T, p *Protection, s *outageStore, b *browser, _ *testClock) *http.Request {
			b.token(t, p)
			var c signedToken
			decodeBase64(c[:], b.jar[secureCookieName])
			return b.post(mask(c[:]))
		}, ReasonTokenInvalid},
		{"token of another session", "alice", func(t *testing.T, p *Protection, s *outageStore, b *browser, _ *testClock) *http.Request {
			tok := b.token(t, p)
			eve := newBrowser(b.origin, "eve")
			eve.token(t, p)
			return eve.post(tok)
		}, ReasonTokenInvalid},
		{"expired from the store", "alice", func(t *testing.T, p *Protection, s *outageStore, b *browser, clock *testClock) *http.Request {
			tok := b.token(t, p)
			clock.t = clock.t.Add(12 * time.Hour)
			return b.post(tok)
		}, ReasonTokenInvalid},
		{"kept alive by a page past half its age", "alice", func(t *testing.T, p *Protection, s *outageStore, b *browser, clock *testClock) *http.Request {
			tok := b.token(t, p)
			clock.t = clock.t.Add(7 * time.Hour)
			b.token(t, p)
			clock.t = clock.t.Add(6 * time.Hour)
			return b.post(tok)
		}, ReasonNone},
		{"not renewed before half its age", "alice", func(t *testing.T, p *Protection, s *outageStore, b *browser, clock *testClock) *http.Request {
			tok := b.token(t, p)
			clock.t = clock.t.Add(5 * time.Hour)
			b.token(t, p)
			clock.t = clock.t.Add(7 * time.Hour)
			return b.post(tok)
		}, ReasonTokenInvalid},
		{"before login, across a renewal of the token cookie", "", func(t *testing.T, p *Protection, s *outageStore, b *browser, clock *testClock) *http.Request {
			tok := b.token(t, p)
			old := b.jar[secureCookieName]
			clock.t = clock.t.Add(7 * time.Hour)
			b.token(t, p)
			if b.jar[secureCookieName] == old {
				t.Fatal("token cookie not renewed past half its age")
			}
			return b.post(tok)
		}, ReasonNone},
		{"store down", "alice", func(t *testing.T, p *Protection, s *outageStore, b *browser, _ *testClock) *http.Request {
			tok := b.token(t, p)
			s.down.Store(true)
			return b.post(tok)
		}, ReasonStoreUnavailable},
		{"no token", "alice", func(t *testing.T, p *Protection, s *outageStore, b *browser, _ *testClock) *http.Request {
			b.token(t, p)
			return b.post("")
		}, ReasonTokenMissing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := &testClock{time.Date(2026, 11, 28, 1, 0, 0, 0, time.UTC)}
			ms := NewMemoryStore(100)
			ms.now = clock.now
			s := &outageStore{MemoryStore: ms}
			p := newTokenProtection(t, Config{Tokens: SynchronizerTokens, SessionCookie: "session", Store: s}, clock)
			b := newBrowser("https://bank.test", tt.session)
			r := tt.run(t, p, s, b, clock)
			if got := p.verifyToken(r, TokensDefault, false); got != tt.want {
				t.Errorf("verifyToken = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSynchronizerStoreErrors(t *testing.T) {
	clock := &testClock{time.Now()}
	s := &outageStore{MemoryStore: NewMemoryStore(10)}
	p := newTokenProtection(t, Config{Tokens: SynchronizerTokens, SessionCookie: "session", Store: s}, clock)
	b := newBrowser("https://bank.test", "alice-secret-session")
	s.down.Store(true)
	for name, call := range map[string]func(http.ResponseWriter, *http.Request) (string, error){
		"Token":        p.Token,
		"OneTimeToken": p.OneTimeToken,
		"Rotate": func(w http.ResponseWriter, r *http.Request) (string, error) {
			return p.Rotate(w, r, "bob-secret-session")
		},
	} {
		w := httptest.NewRecorder()
		tok, err := call(w, b.request("GET", "/", nil))
		for _, c := range w.Result().Cookies() {
			if err != nil && strings.Contains(err.Error(), c.Value) {
				t.Errorf("%s error %q reveals the token cookie", name, err)
			}
		}
		if err == nil || tok != "" {
			t.Errorf("%s with the store down = %q, %v; want an error", name, tok, err)
			continue
		}
		if !errors.Is(err, errOutage) {
			t.Errorf("%s error %q does not wrap the store's error", name, err)
		}
		if strings.Contains(err.Error(), "secret-session") {
			t.Errorf("%s error %q reveals the session", name, err)
		}
	}
	w := httptest.NewRecorder()
	p.TokenHandler().ServeHTTP(w, b.request("GET", "/.forgeproof/token", nil))
	if w.Code != http.StatusServiceUnavailable {
		t.Errorf("TokenHandler with the store down: status %d, want 503", w.Code)
	}
}

func TestMixedModes(t *testing.T) {
	// Pages get one token that serves routes of either mode.
	clock := &testClock{time.Now()}
	p := newTokenProtection(t, Config{
		SessionCookie: "session",
		Routes:        []Route{{Pattern: "/admin/", Tokens: SynchronizerTokens}},
	}, clock)
	b := newBrowser("https://bank.test", "alice")
	tok := b.token(t, p)
	if len(tok) != maskedBothLen {
		t.Fatalf("token length %d, want %d", len(tok), maskedBothLen)
	}
	for _, mode := range []TokenMode{SignedTokens, SynchronizerTokens} {
		if got := p.verifyToken(b.post(tok), mode, false); got != ReasonNone {
			t.Errorf("verifyToken(%v) = %q, want allowed", mode, got)
		}
	}
	if got := p.verifyToken(b.post("x"), TokensOff, false); got != ReasonNone {
		t.Errorf("verifyToken(off) = %q, want allowed", got)
	}
}

func TestRotate(t *testing.T) {
	for _, mode := range []TokenMode{SignedTokens, SynchronizerTokens} {
		t.Run(mode.String(), func(t *testing.T) {
			clock := &testClock{time.Now()}
			ms := NewMemoryStore(100)
			p := newTokenProtection(t, Config{Tokens: mode, SessionCookie: "session", Store: ms}, clock)
			b := newBrowser("https://bank.test", "")
			anon := b.token(t, p)

			// Login: the application sets its session cookie and rotates.
			w := httptest.NewRecorder()
			p.Token(w, b.request("POST", "/login", nil)) // a cookie set earlier in the response
			fresh, err := p.Rotate(w, b.request("POST", "/login", nil), "alice")
			if err != nil {
				t.Fatal(err)
			}
			if n := len(w.Header()["Set-Cookie"]); n != 1 {
				t.Errorf("Set-Cookie headers after Rotate = %d, want 1", n)
			}
			b.keep(w)
			b.session = "alice"
			if got := p.verifyToken(b.post(fresh), mode, false); got != ReasonNone {
				t.Errorf("rotated token = %q, want allowed", got)
			}
			if got := p.verifyToken(b.post(anon), mode, false); got == ReasonNone {
				t.Error("pre-login token still accepted after login")
			}
			if mode == SynchronizerTokens && ms.Len() != 1 {
				t.Errorf("store holds %d entries after login, want 1 (the pre-session entry deleted)", ms.Len())
			}

			// Logout.
			w = httptest.NewRecorder()
			out, err := p.Rotate(w, b.request("POST", "/logout", nil), "")
			if err != nil {
				t.Fatal(err)
			}
			b.keep(w)
			b.session = ""
			if got := p.verifyToken(b.post(fresh), mode, false); got == ReasonNone {
				t.Error("session token still accepted after logout")
			}
			if got := p.verifyToken(b.post(out), mode, false); got != ReasonNone {
				t.Errorf("post-logout token = %q, want allowed", got)
			}
		})
	}
}

func TestOneTimeTokens(t *testing.T) {
	for _, session := range []string{"alice", ""} {
		t.Run("session="+session, func(t *testing.T) {
			clock := &testClock{time.Now()}
			s := &outageStore{MemoryStore: NewMemoryStore(100)}
			s.now = clock.now
			p := newTokenProtection(t, Config{SessionCookie: "session", Store: s}, clock)
			b := newBrowser("https://bank.test", session)
			regular := b.token(t, p)
			once := func() string {
				w := httptest.NewRecorder()
				tok, err := p.OneTimeToken(w, b.request("GET", "/", nil))
				if err != nil {
					t.Fatal(err)
				}
				b.keep(w)
				return tok
			}
			tok := once()
			if got := p.verifyToken(b.post(tok), SignedTokens, true); got != ReasonNone {
				t.Errorf("first use = %q, want allowed", got)
			}
			if got := p.verifyToken(b.post(tok), SignedTokens, true); got != ReasonTokenReused {
				t.Errorf("second use = %q, want token-reused", got)
			}
			if got := p.verifyToken(b.post(regular), SignedTokens, true); got != ReasonTokenInvalid {
				t.Errorf("regular token on a one-time route = %q, want token-invalid", got)
			}
			if got := p.verifyToken(b.post(once()), SignedTokens, false); got != ReasonTokenInvalid {
				t.Errorf("one-time token on a regular route = %q, want token-invalid", got)
			}
			eve := newBrowser(b.origin, "eve")
			eve.token(t, p)
			if got := p.verifyToken(eve.post(once()), SignedTokens, true); got == ReasonNone {
				t.Error("one-time token accepted from another session")
			}
			tok = once()
			clock.t = clock.t.Add(13 * time.Hour)
			if got := p.verifyToken(b.post(tok), SignedTokens, true); got != ReasonTokenExpired {
				t.Errorf("old one-time token = %q, want token-expired", got)
			}
			clock.t = clock.t.Add(-13 * time.Hour)
			tok = once()
			s.down.Store(true)
			if got := p.verifyToken(b.post(tok), SignedTokens, true); got != ReasonStoreUnavailable {
				t.Errorf("store down = %q, want store-unavailable", got)
			}
		})
	}
}

func TestTokenHandler(t *testing.T) {
	clock := &testClock{time.Now()}
	p := newTokenProtection(t, Config{SessionCookie: "session"}, clock)
	b := newBrowser("https://bank.test", "alice")
	w := httptest.NewRecorder()
	p.TokenHandler().ServeHTTP(w, b.request("GET", "/.forgeproof/token", nil))
	if w.Code != 200 || w.Header().Get("Content-Type") != "application/json" || w.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("GET: %d %v", w.Code, w.Header())
	}
	var got struct{ Token, Header, Field string }
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.Header != "X-Forgeproof-Token" || got.Field != "forgeproof_token" {
		t.Errorf("header, field = %q, %q", got.Header, got.Field)
	}
	b.keep(w)
	if reason := p.verifyToken(b.post(got.Token), SignedTokens, false); reason != ReasonNone {
		t.Errorf("token from the handler = %q, want allowed", reason)
	}
	w = httptest.NewRecorder()
	p.TokenHandler().ServeHTTP(w, b.request("POST", "/.forgeproof/token", nil))
	if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != "GET, HEAD" {
		t.Errorf("POST: %d, Allow %q; want 405, GET, HEAD", w.Code, w.Header().Get("Allow"))
	}
}

func TestTemplateField(t *testing.T) {
	clock := &testClock{time.Now()}
	p := newTokenProtection(t, Config{FieldName: `a"b`}, clock)
	b := newBrowser("https://bank.test", "")
	w := httptest.NewRecorder()
	field, err := p.TemplateField(w, b.request("GET", "/", nil))
	if err != nil {
		t.Fatal(err)
	}
	b.keep(w)
	const prefix = `<input type="hidden" name="a&#34;b" value="`
	s := string(field)
	if !strings.HasPrefix(s, prefix) || !strings.HasSuffix(s, `">`) {
		t.Fatalf("TemplateField = %s", s)
	}
	tok := strings.TrimSuffix(strings.TrimPrefix(s, prefix), `">`)
	if reason := p.verifyToken(b.post(tok), SignedTokens, false); reason != ReasonNone {
		t.Errorf("token of the field = %q, want allowed", reason)
	}
}

func TestSessionID(t *testing.T) {
	clock := &testClock{time.Now()}
	byCookie := newTokenProtection(t, Config{SessionCookie: "sid"}, clock)
	byFunc := newTokenProtection(t, Config{SessionCookie: "sid", SessionID: func(r *http.Request) string { return r.Header.Get("X-User") }}, clock)
	none := newTokenProtection(t, Config{}, clock)
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Cookie", `a=1; sid="abc"; b=2`)
	r.Header.Set("X-User", "u1")
	for _, tt := range []struct {
		name string
		p    *Protection
		want string
	}{
		{"session cookie", byCookie, "abc"},
		{"callback wins", byFunc, "u1"},
		{"none configured", none, ""},
	} {
		if got := tt.p.sessionID(r); got != tt.want {
			t.Errorf("%s: sessionID = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestTokenConfig(t *testing.T) {
	shortRing := &KeyRing{}
	tests := []struct {
		name string
		cfg  Config
		want string // a part of the error, or "" for none
	}{
		{"zero config", Config{}, ""},
		{"empty key ring", Config{Keys: shortRing}, "Keys holds no key"},
		{"bad header name", Config{HeaderName: "X CSRF"}, "HeaderName"},
		{"control character in field name", Config{FieldName: "a\nb"}, "FieldName"},
		{"bad cookie name", Config{CookieName: "a;b"}, "CookieName"},
		{"bad session cookie", Config{SessionCookie: "a b"}, "SessionCookie"},
		{"session cookie is the token cookie", Config{SessionCookie: "__Host-forgeproof"}, "SessionCookie"},
		{"negative max age", Config{TokenMaxAge: -time.Second}, "TokenMaxAge"},
		{"sub-second max age", Config{TokenMaxAge: time.Millisecond}, "TokenMaxAge"},
		{"negative form bound", Config{MaxFormBytes: -1}, "MaxFormBytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tok tokens
			cfg := tt.cfg
			err := tok.init(&cfg)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("init: %v", err)
				}
				if cfg.Keys == nil || cfg.Store == nil || cfg.HeaderName != "X-Forgeproof-Token" || cfg.FieldName != "forgeproof_token" ||
					cfg.TokenMaxAge != 12*time.Hour || cfg.MaxFormBytes != 1<<20 {
					t.Errorf("defaults not filled in: %+v", cfg)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "forgeproof: ") {
				t.Errorf("init error = %v, want one naming %s", err, tt.want)
			}
		})
	}
}

// TestNoSecretInErrors checks that no error or printed value carries a
// token, a cookie or a key.
func TestNoSecretInErrors(t *testing.T) {
	key := GenerateKey()
	kr, _ := NewKeyRing(key)
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		for _, v := range []any{kr, *kr} {
			s := fmt.Sprintf(format, v)
			if !strings.Contains(s, "redacted") || strings.Contains(s, fmt.Sprintf("%x", key[:4])) {
				t.Errorf("Sprintf(%q, KeyRing) = %q, want it redacted", format, s)
			}
		}
	}
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("config", "keys", kr, "config", Config{Keys: kr})
	if !strings.Contains(logged.String(), "redacted") || strings.Contains(logged.String(), fmt.Sprintf("%x", key[:4])) {
		t.Errorf("slog output %q, want the key ring redacted", logged.String())
	}
	for _, text := range []string{"c2hvcnQ=", "not base64!!", strings.Repeat("Z", 30)} {
		_, err := ParseKey(text)
		if err == nil || strings.Contains(err.Error(), text) {
			t.Errorf("ParseKey(%q) error = %v, want one that does not repeat the text", text, err)
		}
	}
}

// TestConstantTimeCompare checks that the functions that compare secrets
// do so with equal, which takes constant time (see FuzzEqual for its
// results), and that none compares bytes with bytes.Equal or its kin.
func TestConstantTimeCompare(t *testing.T) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "token.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"check": false, "verifySigned": false, "verifySync": false}
	ast.Inspect(f, func(n ast.Node) bool {
		fn, ok := n.(*ast.FuncDecl)
		if !ok {
			return true
		}
		ast.Inspect(fn.Body, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CallExpr:
				if id, ok := n.Fun.(*ast.Ident); ok && (id.Name == "equal" || id.Name == "hasNonce") {
					if _, ok := want[fn.Name.Name]; ok {
						want[fn.Name.Name] = true
					}
				}
			case *ast.SelectorExpr:
				if id, ok := n.X.(*ast.Ident); ok {
					switch id.Name + "." + n.Sel.Name {
					case "bytes.Equal", "hmac.Equal", "strings.Compare", "slices.Equal":
						t.Errorf("%s: %s compares with %s.%s; use equal, which takes constant time", fset.Position(n.Pos()), fn.Name.Name, id.Name, n.Sel.Name)
					}
				}
			}
			return true
		})
		return false
	})
	for name, used := range want {
		if !used {
			t.Errorf("%s does not compare with equal or hasNonce", name)
		}
	}
}

// FuzzHasNonce checks hasNonce against decoding the cookie with
// encoding/base64 and comparing the nonces.
func FuzzHasNonce(f *testing.F) {
	var tok signedToken
	rand.Read(tok[:])
	cookie := base64.RawURLEncoding.EncodeToString(tok[:])
	f.Add(cookie, tok[:])
	other := tok
	other[offMAC] ^= 1 // the last nonce group holds MAC bytes: they don't count
	f.Add(base64.RawURLEncoding.EncodeToString(other[:]), tok[:])
	for _, i := range []int{offNonce, offNonce + nonceLen - 1, offNonce - 1} {
		other := tok
		other[i] ^= 0x80
		f.Add(base64.RawURLEncoding.EncodeToString(other[:]), tok[:])
	}
	f.Add(cookie[:40]+"*"+cookie[41:], tok[:])
	f.Add(cookie[:len(cookie)-1], tok[:])
	f.Fuzz(func(t *testing.T, v string, raw []byte) {
		var tok signedToken
		copy(tok[:], raw)
		// Only the groups that hold the nonce are read.
		const start = offNonce / 3 * 4
		want := false
		if len(v) == signedLen/3*4 {
			c, err := base64.RawURLEncoding.Strict().DecodeString(v[start : start+cookieNonceLen/3*4])
			want = err == nil && bytes.Equal(c[:nonceLen], tok.nonce())
		}
		if got := hasNonce(v, &tok); got != want {
			t.Fatalf("hasNonce(%q, %x) = %v, want %v", v, tok.nonce(), got, want)
		}
	})
}

// FuzzDecodeToken feeds arbitrary header tokens and cookies to the
// verification of every mode. It must not panic, must name a token reason
// for every rejection, and must accept nothing but the genuine cookie with
// a masked copy of it.
func FuzzDecodeToken(f *testing.F) {
	clock := &testClock{time.Date(2026, 11, 28, 1, 0, 0, 0, time.UTC)}
	key := bytes.Repeat([]byte{42}, 32)
	kr, _ := NewKeyRing(key)
	p := newTokenProtection(f, Config{Keys: kr, SessionCookie: "session"}, clock)
	b := newBrowser("https://bank.test", "alice")
	genuine := b.token(f, p)
	cookie := b.jar[secureCookieName]
	// A token signed by another ring, for the same session.
	other, _ := NewKeyRing(bytes.Repeat([]byte{7}, 32))
	p.tok.keys, other = other, p.tok.keys
	forged := p.tok.mint(versionSigned, "alice", nil)
	p.tok.keys = other
	f.Add(mask(forged[:]), base64.RawURLEncoding.EncodeToString(forged[:]))
	f.Add(genuine, cookie)
	f.Add(genuine[:len(genuine)-1]+"A", cookie)
	f.Add(cookie, cookie)
	f.Add(genuine, cookie[:len(cookie)-4])
	f.Add(strings.Repeat("A", maskedSignedLen), strings.Repeat("A", signedLen/3*4))
	f.Add(strings.Repeat("_", maskedBothLen), `"`+cookie+`"`)
	f.Add("", "")
	f.Add(genuine+"=", cookie+"=")
	f.Fuzz(func(t *testing.T, header, cookie string) {
		// The decoder agrees with encoding/base64.
		for _, n := range []int{signedLen, 2 * signedLen, 2 * (signedLen + syncLen)} {
			dst := make([]byte, n)
			ok := decodeBase64(dst, header)
			want, err := base64.RawURLEncoding.Strict().DecodeString(header)
			// encoding/base64 skips CR and LF; tokens never hold them.
			stdOK := err == nil && len(want) == n && !strings.ContainsAny(header, "\r\n")
			if ok != stdOK || ok && !bytes.Equal(dst, want) {
				t.Fatalf("decodeBase64(%d bytes) = %v, encoding/base64: %d bytes, %v", n, ok, len(want), err)
			}
		}
		// So does unmask, which decodes and XORs the halves in one pass.
		for _, n := range []int{signedLen, signedLen + syncLen} {
			dst := make([]byte, n)
			ok := unmask(dst, header)
			both, err := base64.RawURLEncoding.Strict().DecodeString(header)
			stdOK := err == nil && len(both) == 2*n && !strings.ContainsAny(header, "\r\n")
			if ok != stdOK {
				t.Fatalf("unmask(%d bytes) = %v, encoding/base64: %d bytes, %v", n, ok, len(both), err)
			}
			if ok {
				want := make([]byte, n)
				subtle.XORBytes(want, both[:n], both[n:])
				if !bytes.Equal(dst, want) {
					t.Fatalf("unmask(%d bytes) = %x, want %x", n, dst, want)
				}
			}
		}
		r := httptest.NewRequest("POST", "https://bank.test/transfer", nil)
		r.Header.Set("X-Forgeproof-Token", header)
		r.Header["Cookie"] = []string{"session=alice; " + secureCookieName + "=" + cookie}
		for _, tt := range []struct {
			mode    TokenMode
			oneTime bool
		}{{SignedTokens, false}, {SynchronizerTokens, false}, {SignedTokens, true}} {
			reason := p.verifyToken(r, tt.mode, tt.oneTime)
			switch reason {
			case ReasonNone:
				// Only a token signed by the ring for the session, with the
				// nonce of the cookie, passes. (The seeds are minted in each
				// fuzzing process anew, so the genuine cookie may be
				// another process's.)
				// Only the cookie's nonce is read (see hasNonce).
				var raw signedToken
				cv, _ := cookieValue(r.Header, secureCookieName)
				const start = offNonce / 3 * 4
				var nonce []byte
				if len(cv) == signedLen/3*4 {
					nonce, _ = base64.RawURLEncoding.Strict().DecodeString(cv[start : start+cookieNonceLen/3*4])
				}
				if tt.mode != SignedTokens || tt.oneTime || !unmask(raw[:], header) || p.tok.check(&raw, "alice", p.tok.now().Unix()) != ReasonNone ||
					len(nonce) != cookieNonceLen || !bytes.Equal(raw.nonce(), nonce[:nonceLen]) {
					t.Fatalf("accepted a token (mode %v, one-time %v) that is not genuine or lacks the cookie's nonce", tt.mode, tt.oneTime)
				}
			case ReasonTokenMissing, ReasonTokenInvalid, ReasonTokenExpired, ReasonTokenSessionMismatch,
				ReasonCookieMissing, ReasonTokenReused:
			default:
				t.Fatalf("verifyToken = %q, not a token reason", reason)
			}
		}
	})
}

func TestStoreKeysHideSessions(t *testing.T) {
	long := strings.Repeat("s", 300)
	keys := map[string]bool{}
	for _, sid := range []string{"alice-session", "bob-session", long, preSessionID(&signedToken{})} {
		k := syncKey(sid)
		prefix := syncKeyPrefix
		if anonymous(sid) { // before login: kept apart in the store
			prefix = anonSyncKeyPrefix
		}
		if strings.Contains(k, sid) || !strings.HasPrefix(k, prefix) || len(k) != len(prefix)+64 || k != syncKey(sid) {
			t.Errorf("syncKey(%.20q) = %q, want the prefix and a fixed-length hash", sid, k)
		}
		keys[k] = true
	}
	if len(keys) != 4 {
		t.Errorf("%d distinct keys for 4 sessions", len(keys))
	}
}

// TestSyncKeyCache checks that the cache of synchronizer keys gives the key
// that appendSyncKey computes, for identifiers that share slots, that are
// too long to keep, and that differ in one byte from a kept one, from
// several goroutines at once.
func TestSyncKeyCache(t *testing.T) {
	c := newSyncKeyCache()
	var sids []string
	for i := range 3 * syncKeyCacheSlots { // more than the slots: they are shared
		sids = append(sids, fmt.Sprintf("session-%d", i))
	}
	long := strings.Repeat("s", syncKeyCacheMaxBinding+1)
	sids = append(sids, long, long[:syncKeyCacheMaxBinding], "session-0\x00", "session-1", "", "\x00")
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for round := range 2 {
				for i := range sids {
					sid := sids[(i*(g+1)+round)%len(sids)]
					var buf [syncKeyMaxLen]byte
					if got, want := string(c.appendKey(buf[:0], sid)), syncKey(sid); got != want {
						t.Errorf("key of %.20q = %q, want %q", sid, got, want)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	// The long identifier is not kept; the other is.
	for sid, kept := range map[string]bool{long: false, long[:syncKeyCacheMaxBinding]: true} {
		c.appendKey(nil, sid)
		e := c.slots[maphash.String(c.seed, sid)%syncKeyCacheSlots].Load()
		if got := e != nil && string(e.session) == sid; got != kept {
			t.Errorf("identifier of %d bytes kept: %v, want %v", len(sid), got, kept)
		}
	}
	var nilCache *syncKeyCache
	if got, want := string(nilCache.appendKey(nil, "alice")), syncKey("alice"); got != want {
		t.Errorf("nil cache: key %q, want %q", got, want)
	}
}
