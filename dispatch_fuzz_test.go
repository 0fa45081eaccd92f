package forgeproof

import (
	"bufio"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// fuzzRoutes is the configuration of the dispatch fuzzers.
var fuzzRoutes = []Route{
	{Pattern: "POST /transfer", JSONOnly: true},
	{Pattern: "/admin/", RequireHeader: "X-Admin"},
	{Pattern: "DELETE /items/{id}", RequireHeader: "X-Items"},
	{Pattern: "/files/{path...}", ReauthMaxAge: 60e9},
	{Pattern: "/hooks/", InsecureBypass: true},
}

// FuzzPathCandidates feeds arbitrary request-targets to the candidate
// search and checks that it never panics, that a bypass route is a
// candidate only for a plain path, and that spelling a plain path
// differently (case, trailing slash or dot, ;params, a dot segment) never
// loses the route that governs the plain path.
func FuzzPathCandidates(f *testing.F) {
	for _, s := range []string{"/transfer", "/admin/users", "/items/7", "/files/a/b", "/hooks/x", "/hooks/..;/admin/x", "/a%2fb/../transfer", "/x/%c0%ae%c0%ae/transfer"} {
		f.Add(s)
	}
	p, err := New(Config{Tokens: TokensOff, Routes: fuzzRoutes, ErrorLog: discardLog})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, target string) {
		r, err := http.ReadRequest(bufio.NewReader(strings.NewReader("POST " + target + " HTTP/1.1\r\nHost: x\r\n\r\n")))
		if err != nil || r.URL.Path == "" {
			return
		}
		ms := methodSet{}
		ms.add("POST")
		ms.add("DELETE")
		var cs candidateSet
		p.candidates(&ms, r.URL.Path, r.URL.RawPath, &cs)
		plain, _ := plainPath(r.URL.Path, r.URL.RawPath)
		for i := 0; i < cs.len(); i++ {
			if c := cs.at(i); c.rt != nil && c.rt.InsecureBypass && !plain {
				t.Fatalf("%q (path %q, raw %q) is ambiguous but may be bypassed", target, r.URL.Path, r.URL.RawPath)
			}
		}
		if !plain {
			return
		}
		strict := p.match("DELETE", r.URL.Path, true)
		if strict == nil || strict.InsecureBypass {
			return
		}
		for _, v := range []string{strings.ToUpper(target), target + "/", target + ".", target + ";x", "/x/.." + target, "/x/..;" + target, "/hooks/..;" + target} {
			r, err := http.ReadRequest(bufio.NewReader(strings.NewReader("POST " + v + " HTTP/1.1\r\nHost: x\r\n\r\n")))
			if err != nil {
				continue
			}
			var cs candidateSet
			p.candidates(&ms, r.URL.Path, r.URL.RawPath, &cs)
			found := false
			for i := 0; i < cs.len(); i++ {
				found = found || cs.at(i).rt == strict
			}
			if !found {
				t.Errorf("%q is governed by %q, but its spelling %q loses that route", target, strict.Pattern, v)
			}
		}
	})
}

// FuzzMethodOverride feeds arbitrary override values, in each place a
// framework reads one, and checks that an override never makes a refused
// request pass: it is refused as method-override-invalid, or judged at
// least as strictly as without it.
func FuzzMethodOverride(f *testing.F) {
	for _, s := range []string{"DELETE", "delete", " PUT ", "FOO", "+PUT", "PUT;x", "PUT, DELETE", "", "GET", "M-SEARCH", "-", "DELETE\x00"} {
		f.Add(s, uint8(0))
	}
	p, err := New(Config{Tokens: TokensOff, Routes: fuzzRoutes, ErrorLog: discardLog})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, value string, where uint8) {
		for _, target := range []string{"/transfer", "/items/7", "/admin/x", "/account"} {
			base := func() *http.Request {
				r := httptest.NewRequest("POST", "https://bank.test"+target, strings.NewReader("a=1"))
				r.Header.Set("Sec-Fetch-Site", "same-origin")
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				return r
			}
			without := p.decide(base(), false).reason
			r := base()
			switch where % 3 {
			case 0:
				r.Header["X-Http-Method-Override"] = []string{value}
			case 1:
				r.URL.RawQuery = "_method=" + url.QueryEscape(value)
			case 2:
				r.Body = io.NopCloser(strings.NewReader("_method=" + url.QueryEscape(value)))
			}
			with := p.decide(r, false).reason
			if without != ReasonNone && with == ReasonNone {
				t.Fatalf("POST %s is refused (%s) but passes with the override %q (in %d)", target, without, value, where%3)
			}
			if with == ReasonMethodOverrideInvalid && methodName(strings.Trim(value, " \t")) {
				t.Fatalf("the well-formed override %q is refused", value)
			}
		}
	})
}

// indexRoutes have first literals whose case folding leaves ASCII: the
// long s folds to "s", the Kelvin sign to "k", and foldEqual reads the
// Turkish dotless and dotted i as "i".
var indexRoutes = []Route{
	{Pattern: "/ſecret/", JSONOnly: true},
	{Pattern: "POST /\u212Aeys", JSONOnly: true},
	{Pattern: "/ıd/{id}", JSONOnly: true},
	{Pattern: "/İnbox", JSONOnly: true},
	{Pattern: "/API/{$}", JSONOnly: true},
	{Pattern: "/été/", JSONOnly: true},
	{Pattern: "/hooks/", InsecureBypass: true},
}

// FuzzFirstIndex checks that the first-byte index never skips a route
// that matches a plain path in some way.
func FuzzFirstIndex(f *testing.F) {
	for _, s := range []string{"/secret/x", "/SECRET", "/keys", "/KEYS/", "/id/7", "/ID/7", "/inbox", "/api/", "/Api", "/hooks/x", "/x", "/"} {
		f.Add(s)
	}
	p, err := New(Config{Tokens: TokensOff, Routes: indexRoutes, ErrorLog: discardLog})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, path string) {
		if plain, _ := plainPath(path, ""); !plain || p.firsts.mayMatch(path) {
			return
		}
		for _, m := range []string{"GET", "POST"} {
			var cs candidateSet
			p.addMatches(&cs, m, path, true, modesAll)
			for i := 0; i < cs.len(); i++ {
				if rt := cs.at(i).rt; rt != nil {
					t.Fatalf("%s %q matches %q, but the index skips it", m, path, rt.Pattern)
				}
			}
		}
	})
}

// TestFirstIndex checks which plain paths the first-byte index lets
// through to the route table: every path that a route matches in some way
// (FuzzFirstIndex checks that property at large), and no path whose
// first byte no route's first literal can match.
func TestFirstIndex(t *testing.T) {
	p, err := New(Config{Tokens: TokensOff, Routes: indexRoutes, ErrorLog: discardLog})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path string
		want bool
	}{
		{"/secret/x", true}, {"/SECRET", true}, {"/keys", true}, {"/KEYS/", true},
		{"/id/7", true}, {"/ID/7", true}, {"/inbox", true}, {"/api/", true}, {"/Api", true},
		{"/hooks/x", true}, {"/x", false}, {"/transfer", false}, {"/", false},
	} {
		if got := p.firsts.mayMatch(c.path); got != c.want {
			t.Errorf("mayMatch(%q) = %v, want %v", c.path, got, c.want)
		}
	}
	wild, err := New(Config{Tokens: TokensOff, Routes: []Route{{Pattern: "/{tenant}/admin", JSONOnly: true}}, ErrorLog: discardLog})
	if err != nil {
		t.Fatal(err)
	}
	if !wild.firsts.mayMatch("/x/admin") {
		t.Error("a route starting with a wildcard must let every path through")
	}
}
