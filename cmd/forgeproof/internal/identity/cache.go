package identity

import (
	"crypto/sha256"
	"sync"
	"time"
)

// Verified tokens are cached, so that a client sending the same token on
// every request pays for its signature and claims once.
//
// An entry is keyed by the SHA-256 of the raw token (the token itself is
// never stored) and holds the roles it grants, the generation of the key
// set that verified it, and the time it stops being believed: the token's
// exp, or cacheTTL after its verification if that comes first. Only
// tokens that verified are cached, and only when they are valid without
// the leeway (exp still ahead, nbf and iat not in the future), so the
// cache never accepts what a fresh verification would refuse: a token in
// its leeway is verified on every request. Entries verified with an older
// key set (a JWKS URL whose document changed) are not believed.
//
// Filling the cache takes valid tokens, which only the identity provider
// can issue, so it is bounded by issuance; a flood of invalid tokens never
// touches it. Its size is bounded all the same: cacheShards shards, each
// holding two generations of at most cacheShardGen entries; when the
// current generation is full, the older one is dropped whole (O(1)) and
// the current one becomes the older.

const (
	// cacheTTL is the longest time a verification is believed.
	cacheTTL = 5 * time.Minute
	// cacheShards spreads the cache over locks; a power of two.
	cacheShards = 16
	// cacheShardGen is the number of entries of one generation of a
	// shard: the cache holds at most cacheShards*2*cacheShardGen
	// (10,240) entries.
	cacheShardGen = 320
	// cacheSize is the most verified tokens a Verifier remembers.
	cacheSize = cacheShards * 2 * cacheShardGen
)

// cacheKey is the SHA-256 of a raw token.
type cacheKey [sha256.Size]byte

// tokenBufs holds buffers to hash tokens in without allocating.
var tokenBufs = sync.Pool{New: func() any { return new([]byte) }}

// keyOf returns the cache key of raw.
func keyOf(raw string) cacheKey {
	p := tokenBufs.Get().(*[]byte)
	b := append((*p)[:0], raw...)
	k := cacheKey(sha256.Sum256(b))
	clear(b) // no copy of the token outlives the request
	*p = b
	tokenBufs.Put(p)
	return k
}

// cacheEntry is one verified token.
type cacheEntry struct {
	roles    []string
	notAfter time.Time // believed while now is before notAfter
	keyGen   uint64    // generation of the key set that verified it
}

// tokenCache remembers verified tokens. It is safe for concurrent use.
type tokenCache struct {
	shards [cacheShards]cacheShard
}

type cacheShard struct {
	mu       sync.Mutex
	cur, old map[cacheKey]cacheEntry
	_        [40]byte // keeps shards on separate cache lines
}

// get returns the entry of k, if any.
func (c *tokenCache) get(k *cacheKey) (cacheEntry, bool) {
	s := &c.shards[k[0]%cacheShards]
	s.mu.Lock()
	e, ok := s.cur[*k]
	if !ok {
		e, ok = s.old[*k]
	}
	s.mu.Unlock()
	return e, ok
}

// put remembers e as the entry of k.
func (c *tokenCache) put(k *cacheKey, e cacheEntry) {
	s := &c.shards[k[0]%cacheShards]
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur == nil || len(s.cur) >= cacheShardGen {
		s.old, s.cur = s.cur, make(map[cacheKey]cacheEntry, cacheShardGen)
	}
	s.cur[*k] = e
}
