package forgeproof

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash/maphash"
	"sync/atomic"
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
func anonymous[T string | []byte](binding T) bool {
	return len(binding) > 0 && binding[0] == 0
}

// syncKeyMaxLen is the length of the longest synchronizer key.
const syncKeyMaxLen = len(anonSyncKeyPrefix) + 2*sha256.Size

// syncKey returns the store key of the synchronizer token of a binding (a
// session identifier, or a pre-session identifier; see preSessionID).
func syncKey(binding string) string {
	var key [syncKeyMaxLen]byte
	return string(appendSyncKey(key[:0], binding))
}

// appendSyncKey appends the store key of the synchronizer token of a
// binding to dst, like syncKey.
func appendSyncKey[T string | []byte](dst []byte, binding T) []byte {
	var in [128]byte
	h := sha256.Sum256(append(append(in[:0], "forgeproof/v1/sync\x00"...), binding...))
	if anonymous(binding) {
		dst = append(dst, anonSyncKeyPrefix...)
	} else {
		dst = append(dst, syncKeyPrefix...)
	}
	return hex.AppendEncode(dst, h[:])
}

// A syncKeyCache remembers the synchronizer keys of recent sessions, so
// that a session's every request does not hash its identifier again: the
// SHA-256 of appendSyncKey costs a synchronizer verification a fifth of its
// time. It is direct-mapped: a seeded hash of the session identifier picks
// its slot, and a newer session takes the slot from an older one. Entries
// are immutable and swapped atomically, so readers take no lock, and a hit
// does not allocate. Identifiers are compared in constant time, so that the
// time of a lookup tells nothing about the identifier a slot holds, and
// long identifiers are not kept, so that the cache stays under a bounded
// size. A syncKeyCache is safe for concurrent use; its zero value is not:
// create one with newSyncKeyCache. A nil *syncKeyCache computes every key.
type syncKeyCache struct {
	seed  maphash.Seed
	slots [syncKeyCacheSlots]atomic.Pointer[syncKeyEntry]
}

const (
	syncKeyCacheSlots      = 1024
	syncKeyCacheMaxBinding = 128 // longer session identifiers are not kept
)

// A syncKeyEntry is one slot's session identifier and its key.
type syncKeyEntry struct {
	session []byte
	key     []byte
}

func newSyncKeyCache() *syncKeyCache {
	return &syncKeyCache{seed: maphash.MakeSeed()}
}

// appendKey appends the synchronizer key of the session identifier sid to
// dst, as appendSyncKey does, from the cache if it holds sid. A nil cache
// holds nothing.
func (c *syncKeyCache) appendKey(dst []byte, sid string) []byte {
	if c == nil {
		return appendSyncKey(dst, sid)
	}
	slot := &c.slots[maphash.String(c.seed, sid)%syncKeyCacheSlots]
	if e := slot.Load(); e != nil && equalString(e.session, sid) {
		return append(dst, e.key...)
	}
	n := len(dst)
	dst = appendSyncKey(dst, sid)
	if len(sid) <= syncKeyCacheMaxBinding {
		key := dst[n:]
		buf := make([]byte, len(sid)+len(key))
		slot.Store(&syncKeyEntry{session: buf[:copy(buf, sid)], key: buf[len(sid):][:copy(buf[len(sid):], key)]})
	}
	return dst
}

// getInto reads the value that s stores under key into dst, and returns
// its length, or an error as Get does. A value longer than dst is cut short
// (its length is still returned). It does not allocate if s is a
// MemoryStore, which then judges expiry at now, so that one verification
// reads the clock once; any other Store, including one that embeds a
// MemoryStore to wrap it, is read with Get.
func getInto(ctx context.Context, s Store, key []byte, dst []byte, now time.Time) (int, error) {
	if ms, ok := s.(*MemoryStore); ok {
		return ms.getInto(ctx, key, dst, now)
	}
	v, err := s.Get(ctx, string(key))
	if err != nil {
		return 0, err
	}
	copy(dst, v)
	return len(v), nil
}

// onceKey returns the store key of the nonce of a one-time token bound to
// binding.
func onceKey(binding string, nonce []byte) string {
	if anonymous(binding) {
		return anonOnceKeyPrefix + hex.EncodeToString(nonce)
	}
	return onceKeyPrefix + hex.EncodeToString(nonce)
}
