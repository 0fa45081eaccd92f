package forgeproof

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"
	"sync"
)

// minKeySize is the shortest key that [NewKeyRing] accepts.
const minKeySize = 32

// A KeyRing holds the secret keys that sign and verify tokens. The first
// key signs new tokens; every key verifies, so a key is retired by putting
// a new key in front of it, and removed once the tokens it signed have
// expired ([Config.TokenMaxAge]). Rotation this way logs nobody out.
//
// A KeyRing is immutable and safe for concurrent use. It never reveals its
// keys: its String and GoString methods print only how many keys it holds.
type KeyRing struct {
	keys []*ringKey // keys[0] signs
}

// A ringKey is one key of a ring, kept only as the keyed hash states
// derived from it.
type ringKey struct {
	id  uint32
	mac sync.Pool // of *macState keyed for token MACs
	tag sync.Pool // of *macState keyed for session tags
}

// A macState is a reusable HMAC-SHA256 state with scratch space, so that
// verifying a token does not allocate.
type macState struct {
	h   hash.Hash
	in  []byte
	sum [sha256.Size]byte
}

// Domain-separation labels: each purpose gets its own key derived from the
// ring's key, so that no MAC made for one purpose verifies for another.
const (
	labelKeyID      = "forgeproof/v1/key-id"
	labelTokenMAC   = "forgeproof/v1/token-mac"
	labelSessionTag = "forgeproof/v1/session-tag"
)

// NewKeyRing returns a ring whose first key signs and whose every key
// verifies. Each key must be at least 32 bytes of secret random data, such
// as [GenerateKey] returns, and the keys must be distinct. NewKeyRing copies
// nothing that it does not need: the ring keeps only keys derived from
// them.
func NewKeyRing(keys ...[]byte) (*KeyRing, error) {
	if len(keys) == 0 {
		return nil, errors.New("forgeproof: NewKeyRing needs at least one key; create one with GenerateKey or \"forgeproof keygen\"")
	}
	kr := &KeyRing{keys: make([]*ringKey, 0, len(keys))}
	for i, key := range keys {
		if len(key) < minKeySize {
			return nil, fmt.Errorf("forgeproof: key %d is %d bytes; keys must be at least %d bytes of random data (use GenerateKey or \"forgeproof keygen\")", i, len(key), minKeySize)
		}
		id := binary.BigEndian.Uint32(derive(key, labelKeyID))
		for j, k := range kr.keys {
			if k.id == id {
				return nil, fmt.Errorf("forgeproof: keys %d and %d are the same key; remove one of them", j, i)
			}
		}
		kr.keys = append(kr.keys, &ringKey{
			id:  id,
			mac: macPool(derive(key, labelTokenMAC)),
			tag: macPool(derive(key, labelSessionTag)),
		})
	}
	return kr, nil
}

// derive returns HMAC-SHA256(key, label).
func derive(key []byte, label string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(label))
	return m.Sum(nil)
}

// macPool returns a pool of HMAC-SHA256 states keyed with key.
func macPool(key []byte) sync.Pool {
	return sync.Pool{New: func() any {
		return &macState{h: hmac.New(sha256.New, key), in: make([]byte, 0, 128)}
	}}
}

// signer returns the key that signs new tokens.
func (kr *KeyRing) signer() *ringKey { return kr.keys[0] }

// lookup returns the key with the given ID, or nil.
func (kr *KeyRing) lookup(id uint32) *ringKey {
	for _, k := range kr.keys {
		if k.id == id {
			return k
		}
	}
	return nil
}

// Len returns the number of keys in the ring.
func (kr *KeyRing) Len() int { return len(kr.keys) }

// String returns a description of the ring that reveals no key.
func (kr KeyRing) String() string {
	return "forgeproof.KeyRing{" + strconv.Itoa(len(kr.keys)) + " keys: [redacted]}"
}

// GoString is like String, so that %#v reveals no key either.
func (kr KeyRing) GoString() string { return kr.String() }

// sum computes the HMAC of the concatenation of a and b with the states of
// pool into dst.
func sum(pool *sync.Pool, dst *[sha256.Size]byte, a []byte, b string) {
	st := pool.Get().(*macState)
	st.in = append(append(st.in[:0], a...), b...)
	st.h.Reset()
	st.h.Write(st.in)
	*dst = [sha256.Size]byte(st.h.Sum(st.sum[:0]))
	pool.Put(st)
}

// tokenMAC computes the MAC of a token body bound to a session.
func (k *ringKey) tokenMAC(dst *[sha256.Size]byte, body []byte, session string) {
	sum(&k.mac, dst, body, session)
}

// sessionTag computes the session tag of a session identifier.
func (k *ringKey) sessionTag(dst *[sha256.Size]byte, session string) {
	sum(&k.tag, dst, nil, session)
}

// GenerateKey returns a new random 32-byte key from crypto/rand, for
// [NewKeyRing].
func GenerateKey() []byte {
	key := make([]byte, minKeySize)
	rand.Read(key) // never fails; see crypto/rand.Read
	return key
}

// ParseKey decodes a key written as text, such as a line of a key file or
// an environment variable: standard or URL-safe base64, with or without
// padding, or hexadecimal (64 or more hexadecimal digits are read as
// hexadecimal). Surrounding white space is ignored. The key
// must decode to at least 32 bytes. The error never repeats the text.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("forgeproof: key is empty; create one with \"forgeproof keygen\"")
	}
	var key []byte
	var err error
	switch {
	case len(s)%2 == 0 && len(s) >= 2*minKeySize && isHexString(s):
		key, err = hex.DecodeString(s)
	case strings.ContainsAny(s, "-_"):
		key, err = base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	default:
		key, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "="))
	}
	if err != nil {
		return nil, errors.New("forgeproof: key is not base64 or hexadecimal; write it as \"forgeproof keygen\" prints it")
	}
	if len(key) < minKeySize {
		return nil, fmt.Errorf("forgeproof: key is %d bytes; keys must be at least %d bytes (create one with \"forgeproof keygen\")", len(key), minKeySize)
	}
	return key, nil
}

// isHexString reports whether s is made of hexadecimal digits only.
func isHexString(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20
		if !('0' <= s[i] && s[i] <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
