package httpsyntax

import (
	"strings"
	"testing"
)

// TestIsToken checks names that are tokens and names that are not.
func TestIsToken(t *testing.T) {
	for s, want := range map[string]bool{
		"X-Requested-With":    true,
		"__Host-csrf":         true,
		"GET":                 true,
		"!#$%&'*+-.^_`|~09az": true,
		"":                    false,
		"X Header":            false,
		"X-Header:":           false,
		"a/b":                 false,
		`"quoted"`:            false,
		"tab\t":               false,
		"del\x7f":             false,
		"naïve":               false,
		"a=b":                 false,
		"{x}":                 false,
	} {
		if got := IsToken(s); got != want {
			t.Errorf("IsToken(%q) = %v, want %v", s, got, want)
		}
	}
}

// TestTcharIsVisibleLessDelimiters checks the tchar set byte by byte
// against RFC 9110's other wording of it: the visible ASCII characters
// less the delimiters "(),/:;<=>?@[\]{} and the double quote.
func TestTcharIsVisibleLessDelimiters(t *testing.T) {
	for c := 0; c < 256; c++ {
		want := c > ' ' && c < 0x7f && !strings.ContainsRune(`"(),/:;<=>?@[\]{}`, rune(c))
		if got := isTchar(byte(c)); got != want {
			t.Errorf("isTchar(%q) = %v, want %v", byte(c), got, want)
		}
	}
}
