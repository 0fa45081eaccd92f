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
// multiple of 3), and its 16 bytes take 6 groups, the last of which holds
// the nonce's last byte and the first two of the MAC.
const cookieNonceLen = (nonceLen + 2) / 3 * 3

// hasNonce reports whether the base64url token cookie v has a cookie's
// length and carries the nonce of tok, in a time that does not depend on
// the nonces. It reads only the groups of v that hold the nonce, and
// compares them without decoding them: the table entries of a group's
// characters, XORed, must equal the group's 24 bits in tok, which leaves no
// bit set, not even the bit above the 24 that marks a character outside the
// alphabet (see b64). The six groups are written out: as a loop, they take
// twice as long.
func hasNonce(v string, tok *signedToken) bool {
	const start = offNonce / 3 * 4
	if offNonce%3 != 0 || cookieNonceLen != 18 || len(v) != signedLen/3*4 {
		return false
	}
	s, n, t := v[start:start+cookieNonceLen/3*4], tok[offNonce:offNonce+cookieNonceLen], &b64[0]
	d := group(t, s) ^ uint24(n)
	d |= group(t, s[4:]) ^ uint24(n[3:])
	d |= group(t, s[8:]) ^ uint24(n[6:])
	d |= group(t, s[12:]) ^ uint24(n[9:])
	d |= group(t, s[16:]) ^ uint24(n[12:])
	d |= (group(t, s[20:]) ^ uint24(n[15:])) &^ (1<<16 - 1) // but the MAC's two bytes
	return subtle.ConstantTimeEq(int32(d), 0) == 1
}

// uint24 returns the big-endian 24-bit number in b[:3].
func uint24(b []byte) uint32 { return uint32(b[0])<<16 | uint32(b[1])<<8 | uint32(b[2]) }

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

// unmask decodes a masked token of exactly len(dst) raw bytes, a multiple
// of 3, into dst and reports whether it was well-formed. It does not
// allocate.
//
// The pad and the masked token have the same length, a multiple of 3, so
// each half of s encodes whole groups, and a raw 6-bit group is the XOR of
// the values of a character of the pad and the corresponding character of
// the masked half: unmask decodes both halves and XORs them in one pass.
func unmask(dst []byte, s string) bool {
	if len(dst)%3 != 0 || len(s) != 2*(len(dst)/3*4) {
		return false
	}
	pad, masked := s[:len(s)/2], s[len(s)/2:]
	var bad uint32
	for len(pad) >= 8 && len(masked) >= 8 && len(dst) >= 6 {
		v := group(&b64[0], pad) ^ group(&b64[1], masked)
		w := group(&b64[0], pad[4:]) ^ group(&b64[1], masked[4:])
		bad |= v | w
		put48(dst, v, w)
		pad, masked, dst = pad[8:], masked[8:], dst[6:]
	}
	if len(pad) >= 4 && len(masked) >= 4 && len(dst) >= 3 {
		v := group(&b64[0], pad) ^ group(&b64[1], masked)
		bad |= v
		dst[0], dst[1], dst[2] = byte(v>>16), byte(v>>8), byte(v)
	}
	return bad < 1<<24
}

// b64 decodes base64url by table. For each position k of a group of four
// characters, b64[h][k][c] is the 6-bit value of the character c shifted
// into its place in the group's 24 bits, so that XORing the entries of a
// group's characters yields its 24 bits. The tables of h = 0 and 1 are the
// same but for the characters outside the alphabet: each such entry is a
// bit of its own above the 24 (bit 24+4h+k), which no other entry of the
// two tables sets, so that XORing the entries of a group of each half (see
// unmask) cannot cancel it.
var b64 = func() (t [2][4][256]uint32) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for h := range t {
		for k := range t[h] {
			for c := range t[h][k] {
				t[h][k][c] = 1 << (24 + 4*h + k)
			}
			for v := 0; v < len(alphabet); v++ {
				t[h][k][alphabet[v]] = uint32(v) << (18 - 6*k)
			}
		}
	}
	return t
}()

// group returns the XOR of the entries of t for the first four characters
// of s: their 24 bits, and a bit above them for each character outside the
// alphabet.
func group(t *[4][256]uint32, s string) uint32 {
	return t[0][s[0]] ^ t[1][s[1]] ^ t[2][s[2]] ^ t[3][s[3]]
}

// put48 stores the low 24 bits of v and then of w in dst[:6], big-endian,
// in two stores rather than six.
func put48(dst []byte, v, w uint32) {
	x := uint64(v&0xffffff)<<24 | uint64(w&0xffffff)
	binary.BigEndian.PutUint32(dst, uint32(x>>16))
	binary.BigEndian.PutUint16(dst[4:], uint16(x))
}

// decodeBase64 decodes the unpadded base64url string s into dst, whose
// length must be a multiple of 3, and reports whether s was exactly the
// encoding of len(dst) bytes. Unlike encoding/base64 it reads a string and
// does not allocate.
func decodeBase64(dst []byte, s string) bool {
	if len(dst)%3 != 0 || len(s) != len(dst)/3*4 {
		return false
	}
	var bad uint32
	for len(s) >= 8 && len(dst) >= 6 {
		v, w := group(&b64[0], s), group(&b64[0], s[4:])
		bad |= v | w
		put48(dst, v, w)
		s, dst = s[8:], dst[6:]
	}
	if len(s) >= 4 && len(dst) >= 3 {
		v := group(&b64[0], s)
		bad |= v
		dst[0], dst[1], dst[2] = byte(v>>16), byte(v>>8), byte(v)
	}
	return bad < 1<<24
}
