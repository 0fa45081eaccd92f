package forgeproof

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
)

// A signed token is
//
//	version(1) | keyID(4) | issuedAt(8) | sessionTag(8) | nonce(16) | MAC(32)
//
// where issuedAt is in Unix seconds, sessionTag is the first 8 bytes of an
// HMAC of the session identifier, nonce comes from crypto/rand, and MAC is
// HMAC-SHA256 over the 37 bytes before it followed by the session
// identifier. The token cookie carries it in base64url; pages get it masked.
const (
	versionSigned  = 1 // a double-submit token, also the token cookie
	versionOneTime = 3 // a token minted by OneTimeToken

	offKeyID  = 1
	offIssued = offKeyID + 4
	offTag    = offIssued + 8
	offNonce  = offTag + 8
	offMAC    = offNonce + 16
	signedLen = offMAC + sha256.Size // 69 bytes

	tagLen   = 8
	nonceLen = 16

	// A synchronizer token is version(1) | random(32). Pages get it masked
	// together with the signed cookie token (see pageToken); the store
	// keeps it with the time it was put (see syncToken).
	versionSync   = 2
	syncLen       = 1 + 32
	syncStoredLen = syncLen + 8 // the token and the Unix time it was put

	// The lengths of masked tokens in base64url: a signed token alone, and
	// a signed token followed by a synchronizer token. All raw lengths are
	// multiples of 3, so the encodings have no partial group.
	maskedSignedLen = 2 * signedLen / 3 * 4             // 184 characters
	maskedBothLen   = 2 * (signedLen + syncLen) / 3 * 4 // 272 characters
)

type signedToken [signedLen]byte

func (t *signedToken) keyID() uint32 { return binary.BigEndian.Uint32(t[offKeyID:]) }

func (t *signedToken) issued() int64 { return int64(binary.BigEndian.Uint64(t[offIssued:])) }

func (t *signedToken) body() []byte { return t[:offMAC] }

func (t *signedToken) tag() []byte { return t[offTag : offTag+tagLen] }

func (t *signedToken) nonce() []byte { return t[offNonce : offNonce+nonceLen] }

func (t *signedToken) mac() []byte { return t[offMAC:] }

// cookieNonceLen is the length of the whole base64 groups of a token
// cookie that hold the nonce: the nonce starts a group (offNonce is a
// multiple of 3), and its 16 bytes take 6 groups.
const cookieNonceLen = (nonceLen + 2) / 3 * 3

// cookieNonce decodes the nonce of the base64url token cookie v into
// dst[:nonceLen], decoding only the groups that hold it, and reports
// whether v has a cookie's length and the groups are valid base64url.
func cookieNonce(dst *[cookieNonceLen]byte, v string) bool {
	const start = offNonce / 3 * 4
	if offNonce%3 != 0 || len(v) != signedLen/3*4 {
		return false
	}
	return decodeBase64(dst[:], v[start:start+cookieNonceLen/3*4])
}

// mask returns base64url(pad ‖ raw⊕pad) with a fresh random pad, so that
// the token a page carries differs on every response (BREACH).
func mask(raw []byte) string {
	buf := make([]byte, 2*len(raw))
	pad, masked := buf[:len(raw)], buf[len(raw):]
	rand.Read(pad)
	for i, b := range raw {
		masked[i] = b ^ pad[i]
	}
	return base64.RawURLEncoding.EncodeToString(buf)
}

// unmask decodes a masked token of exactly len(dst) raw bytes into dst and
// reports whether it was well-formed. It does not allocate.
func unmask(dst []byte, s string) bool {
	var buf [2 * (signedLen + syncLen)]byte
	n := 2 * len(dst)
	if n > len(buf) || !decodeBase64(buf[:n], s) {
		return false
	}
	subtle.XORBytes(dst, buf[:len(dst)], buf[len(dst):n])
	return true
}

// b64 maps a base64url character to its 6-bit value, or to 0xff.
var b64 = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for i := 0; i < len(alphabet); i++ {
		t[alphabet[i]] = byte(i)
	}
	return t
}()

// decodeBase64 decodes the unpadded base64url string s into dst, whose
// length must be a multiple of 3, and reports whether s was exactly the
// encoding of len(dst) bytes. Unlike encoding/base64 it reads a string and
// does not allocate.
func decodeBase64(dst []byte, s string) bool {
	if len(dst)%3 != 0 || len(s) != len(dst)/3*4 {
		return false
	}
	var bad byte // 0xff marks a character outside the alphabet
	for len(s) >= 8 && len(dst) >= 6 {
		a, b, c, d := b64[s[0]], b64[s[1]], b64[s[2]], b64[s[3]]
		e, f, g, h := b64[s[4]], b64[s[5]], b64[s[6]], b64[s[7]]
		bad |= a | b | c | d | e | f | g | h
		v := uint64(a)<<42 | uint64(b)<<36 | uint64(c)<<30 | uint64(d)<<24 |
			uint64(e)<<18 | uint64(f)<<12 | uint64(g)<<6 | uint64(h)
		dst[0], dst[1], dst[2], dst[3], dst[4], dst[5] = byte(v>>40), byte(v>>32), byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
		s, dst = s[8:], dst[6:]
	}
	if len(s) >= 4 && len(dst) >= 3 {
		a, b, c, d := b64[s[0]], b64[s[1]], b64[s[2]], b64[s[3]]
		bad |= a | b | c | d
		dst[0], dst[1], dst[2] = a<<2|b>>4, b<<4|c>>2, c<<6|d
	}
	return bad&0xc0 == 0
}
