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

// Store keys. The synchronizer key is a hash of the session identifier,
// never the identifier itself, so that a store dump reveals no session.
const (
	syncKeyPrefix = "forgeproof:sync:"
	onceKeyPrefix = "forgeproof:once:"
)

// syncKey returns the store key of the synchronizer token of a binding (a
// session identifier, or a pre-session identifier; see bindingID).
func syncKey(binding string) string {
	var in [128]byte
	h := sha256.Sum256(append(append(in[:0], "forgeproof/v1/sync\x00"...), binding...))
	var key [len(syncKeyPrefix) + 2*sha256.Size]byte
	copy(key[:], syncKeyPrefix)
	hex.Encode(key[len(syncKeyPrefix):], h[:])
	return string(key[:])
}

// onceKey returns the store key of a one-time token's nonce.
func onceKey(nonce []byte) string {
	return onceKeyPrefix + hex.EncodeToString(nonce)
}
