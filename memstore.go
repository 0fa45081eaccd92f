package forgeproof

import (
	"bytes"
	"container/list"
	"context"
	"strings"
	"sync"
	"time"
)

// defaultStoreEntries is the size of the MemoryStore that [New] creates
// when [Config.Store] is nil, and of one created with a bound of zero.
const defaultStoreEntries = 1 << 16

// MemoryStore is a [Store] that keeps values in memory, for a single
// instance of an application. Values expire after their TTL, and the store
// holds a bounded number of them: when it is full, expired values go first,
// then the oldest. A MemoryStore is safe for concurrent use.
//
// Values under [AnonymousKeyPrefix], which any visitor without a session
// can have created at will, are held in a partition of their own with a
// bound of its own, a quarter of the store's: a flood of anonymous token
// requests evicts only other anonymous values, never a session's
// synchronizer token, one-time tokens or re-authentication proofs.
//
// Its values do not survive a restart and are not shared between
// instances; deployments with several instances need a shared store.
type MemoryStore struct {
	max [2]int           // by partition
	now func() time.Time // time.Now, but tests set it

	mu    sync.Mutex
	items map[string]*list.Element // of *memEntry
	order [2]list.List             // by partition, of *memEntry, least recently put first
}

// Partitions of a MemoryStore.
const (
	partSession   = 0 // every key not under AnonymousKeyPrefix
	partAnonymous = 1
)

type memEntry struct {
	key     string
	value   []byte
	expires time.Time // zero: never
	part    int
}

// NewMemoryStore returns a store holding at most maxEntries values, and
// besides them at most maxEntries/4 (at least one) values under
// [AnonymousKeyPrefix]. If maxEntries is zero or negative, the bound is
// 65536.
func NewMemoryStore(maxEntries int) *MemoryStore {
	if maxEntries <= 0 {
		maxEntries = defaultStoreEntries
	}
	return &MemoryStore{
		max:   [2]int{maxEntries, max(1, maxEntries/4)},
		now:   time.Now,
		items: make(map[string]*list.Element),
	}
}

// partition returns the partition that holds key.
func partition(key string) int {
	if strings.HasPrefix(key, AnonymousKeyPrefix) {
		return partAnonymous
	}
	return partSession
}

// Get returns a copy of the value stored under key, or [ErrNotFound].
func (s *MemoryStore) Get(ctx context.Context, key string) ([]byte, error) {
	return s.lookup(ctx, key, false)
}

// Put stores a copy of value under key for ttl, replacing any earlier
// value. A ttl of zero or less means the value does not expire (it can
// still be evicted when the store is full).
func (s *MemoryStore) Put(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	e := &memEntry{key: key, value: bytes.Clone(value), part: partition(key)}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if ttl > 0 {
		e.expires = now.Add(ttl)
	}
	s.remove(key)
	order := &s.order[e.part]
	for order.Len() >= s.max[e.part] {
		s.evict(order, now)
	}
	s.items[key] = order.PushBack(e)
	return nil
}

// Take returns the value stored under key and deletes it, in one step: of
// several concurrent Takes of one key, exactly one gets the value, and the
// others get [ErrNotFound].
func (s *MemoryStore) Take(ctx context.Context, key string) ([]byte, error) {
	return s.lookup(ctx, key, true)
}

// lookup returns the live value under key, removing it when take is set.
// A taken value is no longer shared with the store, so only Get copies.
func (s *MemoryStore) lookup(ctx context.Context, key string, take bool) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.live(s.items[key], s.now())
	if e == nil {
		return nil, ErrNotFound
	}
	if take {
		s.remove(key)
		return e.value, nil
	}
	return bytes.Clone(e.value), nil
}

// getInto copies the value stored under key into dst, like Get but
// without allocating, and returns its length (see getInto). Whether the
// value has expired is judged at now, the caller's reading of the clock.
func (s *MemoryStore) getInto(ctx context.Context, key []byte, dst []byte, now time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.live(s.items[string(key)], now)
	if e == nil {
		return 0, ErrNotFound
	}
	copy(dst, e.value)
	return len(e.value), nil
}

// Delete removes key. Deleting a missing key is not an error.
func (s *MemoryStore) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.remove(key)
	return nil
}

// Len returns the number of values held, expired ones included until they
// are swept.
func (s *MemoryStore) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.items)
}

// live returns the entry that el holds if it has not expired at now, and
// removes it if it has. el may be nil, for a key not held. s.mu must be
// held.
func (s *MemoryStore) live(el *list.Element, now time.Time) *memEntry {
	if el == nil {
		return nil
	}
	e := el.Value.(*memEntry)
	if !e.expires.IsZero() && !now.Before(e.expires) {
		s.remove(e.key)
		return nil
	}
	return e
}

// remove deletes key. s.mu must be held.
func (s *MemoryStore) remove(key string) {
	if el, ok := s.items[key]; ok {
		s.order[el.Value.(*memEntry).part].Remove(el)
		delete(s.items, key)
	}
}

// evictScan is how many of the oldest entries evict looks at for expired
// ones before it evicts the oldest.
const evictScan = 16

// evict makes room for at least one entry in the partition whose entries
// order holds: it removes the expired entries among its oldest few, and
// its oldest entry if none of them had expired. s.mu must be held.
func (s *MemoryStore) evict(order *list.List, now time.Time) {
	n := len(s.items)
	el := order.Front()
	for i := 0; el != nil && i < evictScan; i++ {
		next := el.Next()
		if e := el.Value.(*memEntry); !e.expires.IsZero() && !now.Before(e.expires) {
			s.remove(e.key)
		}
		el = next
	}
	if len(s.items) == n {
		s.remove(order.Front().Value.(*memEntry).key)
	}
}
