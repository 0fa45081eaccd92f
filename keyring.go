package forgeproof

// A KeyRing holds the keys that sign and verify tokens. (core-token owns this file.)
type KeyRing struct{}

// NewKeyRing returns a ring whose first key signs and whose every key
// verifies. Each key must be at least 32 bytes.
func NewKeyRing(keys ...[]byte) (*KeyRing, error) { panic("SKELETON") }

// GenerateKey returns a new random 32-byte key from crypto/rand.
func GenerateKey() []byte { panic("SKELETON") }
