package forgeproof

import (
	"crypto/subtle"
	"encoding/binary"
)

// equal reports whether a and b are equal, in a time that depends on their
// lengths only, like crypto/subtle.ConstantTimeCompare; it compares eight
// bytes at a time, which halves the cost of a token check's comparisons.
func equal(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	var v uint64
	for len(a) >= 8 && len(b) >= 8 {
		v |= binary.LittleEndian.Uint64(a) ^ binary.LittleEndian.Uint64(b)
		a, b = a[8:], b[8:]
	}
	for i := 0; i < len(a) && i < len(b); i++ {
		v |= uint64(a[i] ^ b[i])
	}
	return subtle.ConstantTimeEq(int32(uint32(v)|uint32(v>>32)), 0) == 1
}

// equalString is equal for a string b.
func equalString(a []byte, b string) bool {
	if len(a) != len(b) {
		return false
	}
	var v byte
	for i := 0; i < len(a) && i < len(b); i++ {
		v |= a[i] ^ b[i]
	}
	return subtle.ConstantTimeByteEq(v, 0) == 1
}
