package forgeproof

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

// cookiePairs is the reference parse of Cookie header lines that the
// cookie scanner must agree with: pairs separated by ";", white space
// trimmed around each pair, the name up to the first "=", pairs without
// one skipped, and a value enclosed in double quotes unquoted.
func cookiePairs(lines []string) [][2]string {
	var pairs [][2]string
	for _, line := range lines {
		for _, part := range strings.Split(line, ";") {
			n, v, ok := strings.Cut(strings.Trim(part, " \t"), "=")
			if !ok {
				continue
			}
			if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
				v = v[1 : len(v)-1]
			}
			pairs = append(pairs, [2]string{n, v})
		}
	}
	return pairs
}

// FuzzCookieScanner checks the cookie scanner against the reference parse,
// and readCookies against the pairs it finds.
func FuzzCookieScanner(f *testing.F) {
	f.Add("session=abc; __Host-forgeproof=AAAA", "")
	f.Add(` a = b ;c="d"; ;=e;f`, "forgeproof=x; forgeproof=y")
	f.Add("session=a; session=a", "session=b")
	f.Add("\t__Host-forgeproof=\"\"\t;x", "==;;=")
	t := tokens{sessionCookie: "session", readNames: [2]string{secureCookieName, plainCookieName}}
	f.Fuzz(func(tt *testing.T, a, b string) {
		lines := []string{a, b}
		h := http.Header{"Cookie": lines}
		want := cookiePairs(lines)
		var got [][2]string
		sc := newCookieScanner(h)
		for {
			n, v, ok := sc.pair()
			if !ok {
				break
			}
			got = append(got, [2]string{n, v})
		}
		if !slices.Equal(got, want) {
			tt.Fatalf("pairs %q, want %q", got, want)
		}
		// readCookies keeps the first value of each name it reads, and
		// reports a conflict when one of them has two different values.
		var wantRC requestCookies
		var sessionSeen bool
		for _, p := range want {
			n, v := p[0], p[1]
			switch {
			case n == "session" && !sessionSeen:
				wantRC.session, sessionSeen = v, true
			case n == "session":
				wantRC.conflict = wantRC.conflict || v != wantRC.session
			}
			for i, name := range t.readNames {
				switch {
				case n == name && !wantRC.seen[i]:
					wantRC.token[i], wantRC.seen[i] = v, true
				case n == name:
					wantRC.conflict = wantRC.conflict || v != wantRC.token[i]
				}
			}
		}
		if rc := t.readCookies(h); rc != wantRC {
			tt.Fatalf("readCookies = %+v, want %+v", rc, wantRC)
		}
	})
}
