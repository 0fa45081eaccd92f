package forgeproof

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"time"
)

// ErrNotFound is returned by a [Store] for a key it does not hold.
var ErrNotFound = errors.New("forgeproof: not found in store")

// A Store keeps short-lived values: synchronizer tokens, one-time token
// nonces and re-authentication proofs. Every method takes a context that
// bounds the call. Any error other than [ErrNotFound] is treated as the
// store being unavailable, and the request it served fails closed.
type Store interface {
	// Get returns the value stored under key, or ErrNotFound.
	Get(ctx context.Context, key string) ([]byte, error)
	// Put stores value under key for ttl, replacing any earlier value.
	Put(ctx context.Context, key string, value []byte, ttl time.Duration) error
	// Take returns the value stored under key and deletes it in one atomic
	// step, or returns ErrNotFound. Of several concurrent Takes of one key,
	// exactly one succeeds.
	Take(ctx context.Context, key string) ([]byte, error)
	// Delete removes key. Deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
}

// AnonymousKeyPrefix begins the keys of the entries that the library
// stores for requests without a session: the synchronizer token of a
// visitor before login, and the one-time tokens handed to such visitors.
// Anyone can have these created at will, one per request, so a Store must
// keep them apart from the other entries (synchronizer tokens and one-time
// tokens of sessions, re-authentication proofs) and bound them on their
// own: a flood of anonymous requests may then displace other anonymous
// entries, but never a session's. [MemoryStore] and the redisstore
// package do so.
const AnonymousKeyPrefix = "forgeproof:anon:"

// Store keys. The synchronizer key is a hash of the session identifier,
// never the identifier itself, so that a store dump reveals no session.
// Keys of pre-session bindings (see preSessionID) begin with
// AnonymousKeyPrefix.
const (
	syncKeyPrefix     = "forgeproof:sync:"
	onceKeyPrefix     = "forgeproof:once:"
	anonSyncKeyPrefix = AnonymousKeyPrefix + "sync:"
	anonOnceKeyPrefix = AnonymousKeyPrefix + "once:"
)

// anonymous reports whether binding is a pre-session identifier, whose
// first byte is NUL (see preSessionID), rather than a session's.
func anonymous(binding string) bool {
	return len(binding) > 0 && binding[0] == 0
}

// syncKey returns the store key of the synchronizer token of a binding (a
// session identifier, or a pre-session identifier; see bindingID).
func syncKey(binding string) string {
	var in [128]byte
	h := sha256.Sum256(append(append(in[:0], "forgeproof/v1/sync\x00"...), binding...))
	prefix := syncKeyPrefix
	if anonymous(binding) {
		prefix = anonSyncKeyPrefix
	}
	var key [len(anonSyncKeyPrefix) + 2*sha256.Size]byte
	n := copy(key[:], prefix)
	hex.Encode(key[n:], h[:])
	return string(key[:n+2*sha256.Size])
}

// onceKey returns the store key of the nonce of a one-time token bound to
// binding.
func onceKey(binding string, nonce []byte) string {
	if anonymous(binding) {
		return anonOnceKeyPrefix + hex.EncodeToString(nonce)
	}
	return onceKeyPrefix + hex.EncodeToString(nonce)
}
