package forgeproof

import (
	"bytes"
	"testing"
)

// FuzzEqual checks the constant-time comparisons against bytes.Equal.
func FuzzEqual(f *testing.F) {
	f.Add([]byte(""), []byte(""))
	f.Add([]byte("0123456789abcdef0123456789abcdef"), []byte("0123456789abcdef0123456789abcdeF"))
	f.Add([]byte("0123456789abcdef"), []byte("0123456789abcdef"))
	f.Add([]byte("\x80nonce-of-17-byte"), []byte("\x00nonce-of-17-byte"))
	f.Add([]byte("short"), []byte("longer"))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		want := bytes.Equal(a, b)
		if got := equal(a, b); got != want {
			t.Errorf("equal(%q, %q) = %v, want %v", a, b, got, want)
		}
		if got := equalString(a, string(b)); got != want {
			t.Errorf("equalString(%q, %q) = %v, want %v", a, b, got, want)
		}
		if !equal(a, a) || !equalString(a, string(a)) {
			t.Errorf("%q is not equal to itself", a)
		}
	})
}
