package gateway

import (
	"bytes"
	"compress/gzip"
	"flag"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"testing/iotest"
)

func TestHardenCookie(t *testing.T) {
	rules := []CookieRule{
		{Name: "strict", SameSite: http.SameSiteStrictMode},
		{Name: "cross", SameSite: http.SameSiteNoneMode},
		{Name: "asis", SameSite: http.SameSiteDefaultMode, Secure: FlagKeep},
		{Name: "js", HttpOnly: FlagSet, Secure: FlagSet},
		{Name: "keepsid", HttpOnly: FlagKeep},
		{Name: "skip", Skip: true},
	}
	tests := []struct {
		name  string
		line  string
		https bool
		want  string
		warn  bool
	}{
		{"SameSite added over HTTP", "a=1; Path=/", false, "a=1; Path=/; SameSite=Lax", false},
		{"Secure added over HTTPS", "a=1", true, "a=1; SameSite=Lax; Secure", false},
		{"backend's SameSite kept", "a=1; samesite=strict; Secure", true, "a=1; samesite=strict; Secure", false},
		{"backend's SameSite=None gets Secure", "a=1; SameSite=None", false, "a=1; SameSite=None; Secure", false},
		{"already hard: unchanged bytes", "a=1;Path=/;SameSite=Lax;Secure;HttpOnly", true, "a=1;Path=/;SameSite=Lax;Secure;HttpOnly", false},
		{"session cookie gets HttpOnly", "sid=s3cr3t; Path=/", true, "sid=s3cr3t; Path=/; SameSite=Lax; Secure; HttpOnly", false},
		{"session cookie rule may keep HttpOnly off", "keepsid=1", false, "keepsid=1; SameSite=Lax", false},
		{"rule forces Strict", "strict=1; SameSite=None", false, "strict=1; SameSite=Strict", false},
		{"rule forces None with Secure", "cross=1; SameSite=Lax", false, "cross=1; SameSite=None; Secure", false},
		{"rule keeps everything", "asis=1", true, "asis=1", false},
		{"rule sets HttpOnly and Secure", "js=1", false, "js=1; SameSite=Lax; Secure; HttpOnly", false},
		{"skip", "skip=1", true, "skip=1", false},
		{"__Host- gets Secure and Path", "__Host-id=1", false, "__Host-id=1; SameSite=Lax; Secure; Path=/", false},
		{"__Host- with Domain is logged", "__Host-id=1; Domain=example.com; Path=/", true, "__Host-id=1; Domain=example.com; Path=/; SameSite=Lax; Secure", true},
		{"__Secure- gets Secure", "__Secure-id=1", false, "__Secure-id=1; SameSite=Lax; Secure", false},
		{"unknown attributes survive", "a=1; Partitioned; Priority=High; Max-Age=60", false, "a=1; Partitioned; Priority=High; Max-Age=60; SameSite=Lax", false},
		{"quoted value", `a="x y"`, false, `a="x y"; SameSite=Lax`, false},
		{"no pair: passed through", "garbage", true, "garbage", true},
		{"bad name: passed through", "a b=1", true, "a b=1", true},
		{"control byte: passed through", "a=1\x00; Secure", true, "a=1\x00; Secure", true},
		{"empty: passed through", "", true, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, warn := hardenCookie(tt.line, rules, "sid", tt.https)
			if got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
			if (warn != "") != tt.warn {
				t.Errorf("warning %q, want one: %v", warn, tt.warn)
			}
			if again, _ := hardenCookie(got, rules, "sid", tt.https); again != got {
				t.Errorf("not idempotent: %q then %q", got, again)
			}
		})
	}
}

func TestSessionChange(t *testing.T) {
	tests := []struct {
		name    string
		old     string // the request's session cookie, "" for none
		set     []string
		sid     string
		changed bool
	}{
		{"login", "", []string{"sid=new; Path=/; HttpOnly"}, "new", true},
		{"new session", "old", []string{"sid=new"}, "new", true},
		{"same session again", "same", []string{"sid=same; Max-Age=3600"}, "", false},
		{"quoted value", "", []string{`sid="q"`}, "q", true},
		{"logout by Max-Age", "old", []string{"sid=; Max-Age=0"}, "", true},
		{"logout by Expires", "old", []string{"sid=x; Expires=Thu, 01 Jan 1970 00:00:00 GMT"}, "", true},
		{"logout without a session", "", []string{"sid=; Max-Age=0"}, "", false},
		{"other cookie", "old", []string{"theme=dark"}, "", false},
		{"last one wins", "", []string{"sid=a", "sid=b"}, "b", true},
		{"unparseable ignored", "old", []string{"sid"}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := http.NewRequest("GET", "/", nil)
			if tt.old != "" {
				r.AddCookie(&http.Cookie{Name: "sid", Value: tt.old})
			}
			h := http.Header{"Set-Cookie": tt.set}
			sid, changed := sessionChange(h, r, "sid")
			if sid != tt.sid || changed != tt.changed {
				t.Errorf("got (%q, %v), want (%q, %v)", sid, changed, tt.sid, tt.changed)
			}
		})
	}
}

func TestInjector(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"head", "<html><head><title>x</title>", "<html><head>H<title>x</title>"},
		{"head with attributes and odd case", `<HeAd profile="a>b">`, `<HeAd profile="a>b">H`},
		{"only first head", "<head></head><head>", "<head>H</head><head>"},
		{"body when no head", "<body class=x><p>", "<body class=x>H<p>"},
		{"not a head in a template", "<template><head></template><head>", "<template><head></template><head>H"},
		{"post form", "<form method=post></form>", "<form method=post>F</form>"},
		{"post form, quoted, spaces", `<form  action = ""  method = 'PoSt' ></form>`, `<form  action = ""  method = 'PoSt' >F</form>`},
		{"method with spaces is GET", `<form method=" post"></form>`, `<form method=" post"></form>`},
		{"get form", "<form></form>", "<form></form>"},
		{"unclosed form", "<form method=post><input name=a>", "<form method=post><input name=a>"},
		{"cross-origin action", `<form method=post action="https://evil.example/"></form>`, `<form method=post action="https://evil.example/"></form>`},
		{"scheme-relative action", `<form method=post action="//evil.example/"></form>`, `<form method=post action="//evil.example/"></form>`},
		{"backslash action", `<form method=post action="\\evil.example/"></form>`, `<form method=post action="\\evil.example/"></form>`},
		{"same-origin absolute action", `<form method=post action="https://bank.example/t"></form>`, `<form method=post action="https://bank.example/t">F</form>`},
		{"same-origin with default port", `<form method=post action="https://BANK.example:443/t"></form>`, `<form method=post action="https://BANK.example:443/t">F</form>`},
		{"other port", `<form method=post action="https://bank.example:8443/t"></form>`, `<form method=post action="https://bank.example:8443/t"></form>`},
		{"javascript action", `<form method=post action="javascript:go()"></form>`, `<form method=post action="javascript:go()"></form>`},
		{"entity in method", `<form method="p&#111;st"></form>`, `<form method="p&#111;st">F</form>`},
		{"first attribute wins", `<form method=get method=post></form>`, `<form method=get method=post></form>`},
		{"form with an id", `<form id=f method=post></form>`, `<form id=f method=post></form>`},
		{"relative action, base unknown", `<form method=post action="/t"></form>`, `<form method=post action="/t"></form>`},
		{"relative action, same-origin base", `<base href="/app/"><form method=post action="t"></form>`, `<base href="/app/"><form method=post action="t">F</form>`},
		{"relative action, base elsewhere", `<base href="https://evil.example/"><form method=post action="t"></form>`, `<base href="https://evil.example/"><form method=post action="t"></form>`},
		{"empty action ignores base", `<base href="https://evil.example/"><form method=post action=""></form>`, `<base href="https://evil.example/"><form method=post action="">F</form>`},
		{"base in a template is inert", `<template><base href="/x/"></template><form method=post action="t"></form>`, `<template><base href="/x/"></template><form method=post action="t"></form>`},
		{"formaction elsewhere", `<form method=post><button formaction="https://evil.example/">x</button></form>`, `<form method=post><button formaction="https://evil.example/">x</button></form>`},
		{"formaction same origin", `<form method=post><button formaction="https://bank.example/b">x</button></form>`, `<form method=post><button formaction="https://bank.example/b">x</button>F</form>`},
		{"formaction on a plain button", `<form method=post><button type=button formaction="https://evil.example/">x</button></form>`, `<form method=post><button type=button formaction="https://evil.example/">x</button>F</form>`},
		{"formmethod get", `<form method=post><input type=submit formmethod=get></form>`, `<form method=post><input type=submit formmethod=get></form>`},
		{"formmethod dialog", `<form method=post><input type=image formmethod=dialog></form>`, `<form method=post><input type=image formmethod=dialog>F</form>`},
		{"nested form is ignored", `<form method=post><form method=post action="https://evil.example/"></form>`, `<form method=post><form method=post action="https://evil.example/">F</form>`},
		{"nested form inside elsewhere form", `<form method=post action="https://evil.example/"><form method=post></form>`, `<form method=post action="https://evil.example/"><form method=post></form>`},
		{"form in select is ignored", `<select><form method=post></form></select>`, `<select><form method=post></form></select>`},
		{"form in svg", `<svg><form method=post></form></svg>`, `<svg><form method=post></form></svg>`},
		{"svg style is not raw text", `<svg><style><form method=post></form></style></svg><form method=post></form>`, `<svg><style><form method=post></form></style></svg><form method=post>F</form>`},
		{"noscript with a form stops fields", `<noscript><form action="https://evil.example/"></noscript><form method=post></form>`, `<noscript><form action="https://evil.example/"></noscript><form method=post></form>`},
		{"comment", "<!-- <head> <form method=post></form> -->", "<!-- <head> <form method=post></form> -->"},
		{"comment with dashes", "<!-- a -- b --->x<head>", "<!-- a -- b --->x<head>H"},
		{"script content", "<script>if (a<b) x='<form method=post></form>'</script><form method=post></form>", "<script>if (a<b) x='<form method=post></form>'</script><form method=post>F</form>"},
		{"legacy comment in script", "<script><!-- document.write('<script>x</script><form method=post></form>') --></script><head>", "<script><!-- document.write('<script>x</script><form method=post></form>') --></script><head>H"},
		{"script end tag in another case", "<SCRIPT>x</ScRiPt ><head>", "<SCRIPT>x</ScRiPt ><head>H"},
		{"not the end tag", "<script></scripts><head></script><head>", "<script></scripts><head></script><head>H"},
		{"textarea", "<textarea><form method=post></form></textarea>", "<textarea><form method=post></form></textarea>"},
		{"less-than in text", "a < b <3 <form method=post></form>", "a < b <3 <form method=post>F</form>"},
		{"doctype", "<!DOCTYPE html><head>", "<!DOCTYPE html><head>H"},
		{"unterminated tag", "<head", "<head"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, size := range []int{1, 2, 3, 7, 1 << 20} {
				got := runInjector(tt.in, size, false)
				if got != tt.want {
					t.Fatalf("in chunks of %d:\ngot  %q\nwant %q", size, got, tt.want)
				}
			}
		})
	}
}

func TestInjectorCSPLocksBase(t *testing.T) {
	in := `<form method=post action="/t"></form><base href="https://evil.example/">`
	if got, want := runInjector(in, 5, true), `<form method=post action="/t">F</form><base href="https://evil.example/">`; got != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
	for _, tt := range []struct {
		policies []string
		want     bool
	}{
		{[]string{"frame-ancestors 'self'; base-uri 'self'"}, true},
		{[]string{"default-src 'self'", "base-uri 'none'"}, true},
		{[]string{"base-uri 'self' https://cdn.example"}, false},
		{[]string{"default-src 'self'"}, false},
		{nil, false},
	} {
		if got := cspLocksBase(tt.policies); got != tt.want {
			t.Errorf("cspLocksBase(%q) = %v, want %v", tt.policies, got, tt.want)
		}
	}
}

// runInjector feeds in to an injector in chunks of size bytes; the snippets
// are "H" and "F", the page origin https://bank.example.
func runInjector(in string, size int, baseLocked bool) string {
	r := iotest.HalfReader(&chunkReader{s: in, size: size})
	out, err := io.ReadAll(newInjector(r, []byte("H"), []byte("F"), "https://bank.example", baseLocked))
	if err != nil {
		return "error: " + err.Error()
	}
	return string(out)
}

// chunkReader returns s at most size bytes at a time.
type chunkReader struct {
	s    string
	size int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if c.s == "" {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), c.size)], c.s)
	c.s = c.s[n:]
	return n, nil
}

func TestInjectorLongTokenPassesThrough(t *testing.T) {
	in := "<form method=post " + strings.Repeat("a", maxTokenBytes+10) + "></form><head>"
	if got := runInjector(in, 4096, false); got != in {
		t.Fatalf("long tag: got %d bytes, want %d unchanged", len(got), len(in))
	}
}

func TestRewriteBody(t *testing.T) {
	page, err := os.ReadFile("testdata/page.html")
	if err != nil {
		t.Fatal(err)
	}
	want := runInjector(string(page), 1<<20, false)
	for _, gz := range []bool{false, true} {
		src := page
		if gz {
			var b bytes.Buffer
			zw := gzip.NewWriter(&b)
			zw.Write(page)
			zw.Close()
			src = b.Bytes()
		}
		var r io.Reader = iotest.OneByteReader(bytes.NewReader(src))
		if gz {
			zr, err := gzip.NewReader(r)
			if err != nil {
				t.Fatal(err)
			}
			r = zr
		}
		body := newRewriteBody(io.NopCloser(nil), newInjector(r, []byte("H"), []byte("F"), "https://bank.example", false), gz)
		out, err := io.ReadAll(body)
		if err != nil {
			t.Fatal(err)
		}
		if gz {
			zr, err := gzip.NewReader(bytes.NewReader(out))
			if err != nil {
				t.Fatal(err)
			}
			if out, err = io.ReadAll(zr); err != nil {
				t.Fatal(err)
			}
		}
		if string(out) != want {
			t.Errorf("gzip=%v: rewritten body differs from the injector's output", gz)
		}
		if !strings.Contains(string(out), "<head>H") {
			t.Errorf("gzip=%v: nothing injected", gz)
		}
	}
}

func TestRewriteBodyPassesErrors(t *testing.T) {
	body := newRewriteBody(io.NopCloser(nil), newInjector(iotest.ErrReader(io.ErrUnexpectedEOF), nil, nil, "", false), false)
	if _, err := io.ReadAll(body); err != io.ErrUnexpectedEOF {
		t.Fatalf("error %v, want the upstream's", err)
	}
}

// FuzzHardenCookie checks that the Set-Cookie rewriter never panics, keeps
// a cookie's name and value, only adds or replaces attributes, and is
// idempotent.
func FuzzHardenCookie(f *testing.F) {
	for _, s := range []string{
		"sid=abc; Path=/; HttpOnly", "a=1; SameSite=None", "__Host-x=1; Domain=a.example",
		`q="a b"; Expires=Thu, 01 Jan 1970 00:00:00 GMT`, "garbage", "a=1;;; ;Secure;samesite=strict",
		"=1", "a=", "__Secure-a=1; Path=/x", "a=1; Partitioned",
	} {
		f.Add(s, true)
	}
	rules := []CookieRule{{Name: "strict", SameSite: http.SameSiteStrictMode}, {Name: "none", SameSite: http.SameSiteNoneMode}}
	f.Fuzz(func(t *testing.T, line string, https bool) {
		out, _ := hardenCookie(line, rules, "sid", https)
		in, ok := parseSetCookie(line)
		if !ok {
			if out != line {
				t.Fatalf("unparseable %q changed to %q", line, out)
			}
			return
		}
		got, ok := parseSetCookie(out)
		if !ok || got.name != in.name || got.value != in.value {
			t.Fatalf("%q became %q: name or value lost", line, out)
		}
		if len(got.attrs) < len(in.attrs) {
			t.Fatalf("%q became %q: attributes lost", line, out)
		}
		if again, _ := hardenCookie(out, rules, "sid", https); again != out {
			t.Fatalf("not idempotent: %q -> %q -> %q", line, out, again)
		}
	})
}

// FuzzInjector checks that the HTML injector never panics, changes nothing
// but its insertions, and gives the same output however the input is
// split.
func FuzzInjector(f *testing.F) {
	page, err := os.ReadFile("testdata/page.html")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(page), uint8(7))
	for _, s := range []string{
		"<head><form method=post></form>", "<!-- <head> -->", "<script></script ><form method=post action=/x></form>",
		`<form method="post" action="//a"></form>`, "<<<>>><!-->", "<textarea></textarea><body>", "<form method=post " + `a="'>'"></form>`,
		`<base href="/x/"><form method=post action=y><button formaction=z></button></form>`, "<svg><style></style></svg><form method=post></form>",
		"<script><!-- <script></script> --></script><form method=post></form>",
	} {
		f.Add(s, uint8(1))
	}
	const head, field = "\x00HEAD\x00", "\x00FIELD\x00"
	f.Fuzz(func(t *testing.T, in string, split uint8) {
		if strings.Contains(in, "\x00") {
			return // the markers must be unique
		}
		run := func(size int) string {
			out, err := io.ReadAll(newInjector(&chunkReader{s: in, size: size}, []byte(head), []byte(field), "https://bank.example", false))
			if err != nil {
				t.Fatal(err)
			}
			return string(out)
		}
		out := run(int(split) + 1)
		if strings.Count(out, head) > 1 {
			t.Fatalf("head snippet inserted more than once: %q", out)
		}
		stripped := strings.ReplaceAll(strings.ReplaceAll(out, head, ""), field, "")
		if stripped != in {
			t.Fatalf("input changed:\n in  %q\n out %q", in, out)
		}
		if whole := run(len(in) + 1); whole != out {
			t.Fatalf("output depends on the split:\n whole   %q\n chunked %q", whole, out)
		}
	})
}

// FuzzHeaderParsers checks the small parsers of request headers: origins
// (CORS), Accept-Encoding, Host, and form actions. None may
// panic; a normalized origin normalizes to itself, and an action judged
// same-origin never names another host.
func FuzzHeaderParsers(f *testing.F) {
	for _, s := range []string{
		"https://app.example", "HTTPS://App.Example:443", "http://[::1]:80", "null", "https://a.example/x",
		"gzip;q=0, br", "GZIP ; q=0.5", "bank.example:8080", "[::1]:443", "//evil.example/x", `\\evil.example`,
		"javascript:alert(1)", "/transfer?x=1", "https://bank.example:443/t",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if n, ok := normalizeOrigin(s); ok {
			if again, ok := normalizeOrigin(n); !ok || again != n {
				t.Fatalf("normalizeOrigin(%q) = %q, then %q, %v", s, n, again, ok)
			}
		}
		acceptsGzip(http.Header{"Accept-Encoding": {s}})
		hostname(s)
		in := &injector{origin: "https://bank.example"}
		if in.refSame(s, "") {
			u := strings.Map(func(r rune) rune {
				if r == '\t' || r == '\n' || r == '\r' {
					return -1
				}
				return r
			}, strings.TrimSpace(s))
			if strings.HasPrefix(u, "//") || strings.HasPrefix(u, `\\`) || strings.HasPrefix(u, `/\`) || strings.HasPrefix(u, `\/`) {
				if !strings.HasPrefix(strings.ToLower(strings.ReplaceAll(u, `\`, "/")), "//bank.example") {
					t.Fatalf("scheme-relative action %q judged same-origin", s)
				}
			}
		}
	})
}

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestInjectorGolden rewrites testdata/page.html with the gateway's real
// snippets (a fixed token) and compares the result with
// testdata/page.injected.html; run with -update to accept a change.
func TestInjectorGolden(t *testing.T) {
	page, err := os.ReadFile("testdata/page.html")
	if err != nil {
		t.Fatal(err)
	}
	g := &Gateway{scriptPath: "/.forgeproof/csrf.js", tokenField: "forgeproof_token"}
	const tok = "TOKEN"
	got, err := io.ReadAll(newInjector(bytes.NewReader(page), g.headSnippet(tok), g.fieldSnippet(tok), "https://bank.example", true))
	if err != nil {
		t.Fatal(err)
	}
	const golden = "testdata/page.injected.html"
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -run TestInjectorGolden -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("injected page differs from %s (run with -update to accept):\n%s", golden, got)
	}
}

func TestIsHTML(t *testing.T) {
	tests := []struct {
		ct   string
		want bool
	}{
		{"text/html", true},
		{"text/html; charset=utf-8", true},
		{"TEXT/HTML;charset=utf-8", true},
		{" text/html ", true},
		{"text/htmlx", false},
		{"text/plain", false},
		{"application/xhtml+xml", false},
		{"", false},
	}
	for _, tt := range tests {
		h := http.Header{}
		if tt.ct != "" {
			h.Set("Content-Type", tt.ct)
		}
		if got := isHTML(h); got != tt.want {
			t.Errorf("isHTML(%q) = %v, want %v", tt.ct, got, tt.want)
		}
	}
}
