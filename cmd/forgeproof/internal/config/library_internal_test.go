package config

import (
	"strings"
	"testing"
)

func TestKeyPath(t *testing.T) {
	for field, want := range map[string]string{
		"TrustedOrigins[2]":       "protection.trusted_origins[2]",
		"PublicOrigins[0]":        "protection.public_origins[0]",
		"TrustedProxies[1]":       "protection.trusted_proxies[1]",
		"HeaderName":              "protection.header_name",
		"Routes[1].Pattern":       "routes[1].pattern",
		"Routes[3].OneTimeTokens": "routes[3].one_time_tokens",
		"Routes[0]":               "routes[0]",
		"Routes[0].Unknown":       "routes[0]",
		"SessionID":               "protection",
		"":                        "protection",
	} {
		if got := keyPath(field); got != want {
			t.Errorf("keyPath(%q) = %q, want %q", field, got, want)
		}
	}
}

func TestUserWords(t *testing.T) {
	for in, want := range map[string]string{
		`route "/a/" sets OneTimeTokens but its tokens are off; set Tokens to SignedTokens or SynchronizerTokens, or drop OneTimeTokens`: `route "/a/" sets one_time_tokens but its tokens are off; set tokens to signed or synchronizer, or drop one_time_tokens`,
		`"/Tokens/" repeats Routes[0]`:     `"/Tokens/" repeats routes[0]`,
		`add the origin to TrustedOrigins`: `add the origin to protection.trusted_origins`,
		`unterminated "HeaderName`:         `unterminated "HeaderName`,
	} {
		if got := userWords(in); got != want {
			t.Errorf("userWords(%q)\n = %q\nwant %q", in, got, want)
		}
	}
}

func FuzzUserWords(f *testing.F) {
	f.Add(`set Tokens to SignedTokens; "x\"Tokens" Routes[1]`)
	f.Add(`"\`)
	f.Fuzz(func(t *testing.T, s string) {
		got := userWords(s)
		// Quoted values and everything but the library's names are kept:
		// the text outside letters is unchanged.
		strip := func(s string) string {
			return strings.Map(func(r rune) rune {
				if r < 0x80 && isLetter(byte(r)) || r == '_' || r == '.' {
					return -1
				}
				return r
			}, s)
		}
		if strip(got) != strip(s) {
			t.Fatalf("userWords(%q) = %q changed more than names", s, got)
		}
	})
}
