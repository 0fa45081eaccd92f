package checks

import (
	"net/url"
	"testing"
)

// TestSameOrigin checks that the scanner decides "same origin" by the
// library's rule: case and default ports do not count, scheme and port do.
func TestSameOrigin(t *testing.T) {
	target, _ := url.Parse("https://bank.test/app")
	for origin, want := range map[string]bool{
		"https://bank.test":      true,
		"HTTPS://Bank.Test":      true,
		"https://bank.test:443":  true,
		"http://bank.test":       false,
		"https://bank.test:8443": false,
		"https://evil.test":      false,
		"https://bank.test/":     false, // not an origin
		"null":                   false,
	} {
		if got := sameOriginString(origin, target); got != want {
			t.Errorf("sameOriginString(%q) = %v, want %v", origin, got, want)
		}
	}
}
