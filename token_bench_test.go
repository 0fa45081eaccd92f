package forgeproof

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// benchRequest returns a Protection and a same-origin POST carrying a
// valid token in the header, in the given mode.
func benchRequest(b *testing.B, mode TokenMode) (*Protection, *http.Request) {
	b.Helper()
	p, err := New(Config{Tokens: mode, SessionCookie: "session", ErrorLog: discardLog})
	if err != nil {
		b.Fatal(err)
	}
	page := httptest.NewRequest("GET", "https://bank.test/", nil)
	page.AddCookie(&http.Cookie{Name: "session", Value: "s3cr3t-session-id"})
	w := httptest.NewRecorder()
	tok, err := p.Token(w, page)
	if err != nil {
		b.Fatal(err)
	}
	r := httptest.NewRequest("POST", "https://bank.test/api/transfer", nil)
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	r.Header.Set("X-Forgeproof-Token", tok)
	r.AddCookie(&http.Cookie{Name: "session", Value: "s3cr3t-session-id"})
	for _, c := range w.Result().Cookies() {
		r.AddCookie(c)
	}
	if reason := p.verifyToken(r, mode, false); reason != ReasonNone {
		b.Fatalf("verifyToken = %v, want allowed", reason)
	}
	return p, r
}

func BenchmarkVerifySigned(b *testing.B) {
	p, r := benchRequest(b, SignedTokens)
	b.ReportAllocs()
	for b.Loop() {
		if p.verifyToken(r, SignedTokens, false) != ReasonNone {
			b.Fatal("rejected")
		}
	}
}

func BenchmarkVerifySync(b *testing.B) {
	p, r := benchRequest(b, SynchronizerTokens)
	b.ReportAllocs()
	for b.Loop() {
		if p.verifyToken(r, SynchronizerTokens, false) != ReasonNone {
			b.Fatal("rejected")
		}
	}
}

func BenchmarkCheckSigned(b *testing.B) {
	p, r := benchRequest(b, SignedTokens)
	b.ReportAllocs()
	for b.Loop() {
		if p.Check(r) != nil {
			b.Fatal("rejected")
		}
	}
}

func BenchmarkToken(b *testing.B) {
	p, r := benchRequest(b, SignedTokens)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		if _, err := p.Token(w, r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifySignedForm(b *testing.B) {
	p, r := benchRequest(b, SignedTokens)
	body := "to=bob&amount=10&forgeproof_token=" + r.Header.Get("X-Forgeproof-Token")
	r.Header.Del("X-Forgeproof-Token")
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	b.ReportAllocs()
	for b.Loop() {
		r.Body = io.NopCloser(strings.NewReader(body))
		if p.verifyToken(r, SignedTokens, false) != ReasonNone {
			b.Fatal("rejected")
		}
	}
}

func BenchmarkOneTimeToken(b *testing.B) {
	p, r := benchRequest(b, SignedTokens)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		tok, err := p.OneTimeToken(w, r)
		if err != nil {
			b.Fatal(err)
		}
		r.Header.Set("X-Forgeproof-Token", tok)
		if p.verifyToken(r, SignedTokens, true) != ReasonNone {
			b.Fatal("rejected")
		}
	}
}

// BenchmarkUnmask decodes a masked signed token, as every token check does.
func BenchmarkUnmask(b *testing.B) {
	var raw, dst [signedLen]byte
	for i := range raw {
		raw[i] = byte(i * 7)
	}
	s := mask(raw[:])
	for b.Loop() {
		if !unmask(dst[:], s) || dst != raw {
			b.Fatal("unmask failed")
		}
	}
}

// BenchmarkReadCookies reads a session cookie and a token cookie, as every
// token check does.
func BenchmarkReadCookies(b *testing.B) {
	var raw [signedLen]byte
	h := http.Header{"Cookie": {secureCookieName + "=" + mask(raw[:])[:signedLen/3*4] + "; session=s3ss10n"}}
	t := &tokens{sessionCookie: "session", readNames: [2]string{secureCookieName, plainCookieName}}
	for b.Loop() {
		if rc := t.readCookies(h); !rc.seen[0] || rc.session != "s3ss10n" || rc.conflict {
			b.Fatal("cookies not read")
		}
	}
}
