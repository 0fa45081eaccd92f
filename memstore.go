package forgeproof

import (
	"context"
	"time"
)

// MemoryStore is an in-memory [Store]. (core-token owns this file.)
type MemoryStore struct{}

// NewMemoryStore returns a store holding at most maxEntries values.
func NewMemoryStore(maxEntries int) *MemoryStore { panic("SKELETON") }

func (s *MemoryStore) Get(ctx context.Context, key string) ([]byte, error) { panic("SKELETON") }
func (s *MemoryStore) Put(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	panic("SKELETON")
}
func (s *MemoryStore) Take(ctx context.Context, key string) ([]byte, error) { panic("SKELETON") }
func (s *MemoryStore) Delete(ctx context.Context, key string) error         { panic("SKELETON") }
