package forgeproof

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func newClockedStore(max int) (*MemoryStore, *testClock) {
	clock := &testClock{time.Date(2026, 11, 28, 1, 0, 0, 0, time.UTC)}
	s := NewMemoryStore(max)
	s.now = clock.now
	return s, clock
}

func TestMemoryStore(t *testing.T) {
	ctx := context.Background()
	s, clock := newClockedStore(10)
	if _, err := s.Get(ctx, "k"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get of a missing key: %v, want ErrNotFound", err)
	}
	v := []byte("value")
	s.Put(ctx, "k", v, time.Minute)
	v[0] = 'X'
	got, err := s.Get(ctx, "k")
	if err != nil || string(got) != "value" {
		t.Fatalf("Get = %q, %v; want the value as put", got, err)
	}
	got[0] = 'Y'
	if again, _ := s.Get(ctx, "k"); string(again) != "value" {
		t.Errorf("changing a returned value changed the store: %q", again)
	}
	s.Put(ctx, "k", []byte("second"), time.Minute)
	if got, _ := s.Get(ctx, "k"); string(got) != "second" {
		t.Errorf("Put did not replace: %q", got)
	}
	clock.t = clock.t.Add(time.Minute)
	if _, err := s.Get(ctx, "k"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get after the TTL: %v, want ErrNotFound", err)
	}
	if s.Len() != 0 {
		t.Errorf("expired entry still held: Len = %d", s.Len())
	}
	s.Put(ctx, "forever", []byte("v"), 0)
	clock.t = clock.t.Add(1000 * time.Hour)
	if _, err := s.Get(ctx, "forever"); err != nil {
		t.Errorf("Get of an entry without TTL: %v", err)
	}
	if got, err := s.Take(ctx, "forever"); err != nil || string(got) != "v" {
		t.Errorf("Take = %q, %v", got, err)
	}
	if _, err := s.Take(ctx, "forever"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second Take: %v, want ErrNotFound", err)
	}
	s.Put(ctx, "d", []byte("v"), time.Minute)
	if err := s.Delete(ctx, "d"); err != nil {
		t.Error(err)
	}
	if err := s.Delete(ctx, "d"); err != nil {
		t.Errorf("Delete of a missing key: %v", err)
	}
	if _, err := s.Get(ctx, "d"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get after Delete: %v", err)
	}
	if _, err := s.Take(ctx, "gone"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Take of a missing key: %v", err)
	}
}

func TestMemoryStoreCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s := NewMemoryStore(1)
	if err := s.Put(ctx, "k", nil, time.Minute); !errors.Is(err, context.Canceled) {
		t.Errorf("Put: %v", err)
	}
	if _, err := s.Get(ctx, "k"); !errors.Is(err, context.Canceled) {
		t.Errorf("Get: %v", err)
	}
	if _, err := s.Take(ctx, "k"); !errors.Is(err, context.Canceled) {
		t.Errorf("Take: %v", err)
	}
	if err := s.Delete(ctx, "k"); !errors.Is(err, context.Canceled) {
		t.Errorf("Delete: %v", err)
	}
}

func TestMemoryStoreBound(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		fill    func(s *MemoryStore, clock *testClock)
		gone    []string // keys evicted by the next Put
		present []string
	}{
		{"oldest goes first", func(s *MemoryStore, _ *testClock) {
			for i := range 3 {
				s.Put(ctx, fmt.Sprint(i), nil, time.Hour)
			}
		}, []string{"0"}, []string{"1", "2", "new"}},
		{"expired go before the oldest", func(s *MemoryStore, clock *testClock) {
			s.Put(ctx, "0", nil, time.Hour)
			s.Put(ctx, "1", nil, time.Minute)
			s.Put(ctx, "2", nil, time.Minute)
			clock.t = clock.t.Add(2 * time.Minute)
		}, []string{"1", "2"}, []string{"0", "new"}},
		{"replacing makes an entry the newest", func(s *MemoryStore, _ *testClock) {
			s.Put(ctx, "0", nil, time.Hour)
			s.Put(ctx, "1", nil, time.Hour)
			s.Put(ctx, "2", nil, time.Hour)
			s.Put(ctx, "0", nil, time.Hour)
		}, []string{"1"}, []string{"0", "2", "new"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, clock := newClockedStore(3)
			tt.fill(s, clock)
			s.Put(ctx, "new", nil, time.Hour)
			if s.Len() > 3 {
				t.Errorf("Len = %d, want at most 3", s.Len())
			}
			for _, k := range tt.gone {
				if _, err := s.Get(ctx, k); !errors.Is(err, ErrNotFound) {
					t.Errorf("%q still held", k)
				}
			}
			for _, k := range tt.present {
				if _, err := s.Get(ctx, k); err != nil {
					t.Errorf("%q: %v", k, err)
				}
			}
		})
	}
	if got := NewMemoryStore(0).max[partSession]; got != defaultStoreEntries {
		t.Errorf("NewMemoryStore(0) bound %d, want %d", got, defaultStoreEntries)
	}
}

// TestMemoryStoreConcurrentTake races many Takes of each key: exactly one
// wins each. Run it with -race.
func TestMemoryStoreConcurrentTake(t *testing.T) {
	ctx := context.Background()
	s := NewMemoryStore(1000)
	const keys, takers = 50, 8
	for k := range keys {
		s.Put(ctx, fmt.Sprint(k), []byte{byte(k)}, time.Minute)
	}
	var wins [keys]atomic.Int32
	var wg sync.WaitGroup
	for range takers {
		wg.Go(func() {
			for k := range keys {
				v, err := s.Take(ctx, fmt.Sprint(k))
				switch {
				case err == nil && len(v) == 1 && v[0] == byte(k):
					wins[k].Add(1)
				case err == nil:
					t.Errorf("Take(%d) = %v", k, v)
				case !errors.Is(err, ErrNotFound):
					t.Errorf("Take(%d): %v", k, err)
				}
				// Interleave the other methods.
				s.Put(ctx, "other", []byte("x"), time.Minute)
				s.Get(ctx, "other")
				s.Delete(ctx, "other")
			}
		})
	}
	wg.Wait()
	for k := range keys {
		if n := wins[k].Load(); n != 1 {
			t.Errorf("key %d taken %d times, want exactly once", k, n)
		}
	}
}

// Values under AnonymousKeyPrefix have a partition and a bound of their
// own: filling it evicts only anonymous values.
func TestMemoryStorePartitions(t *testing.T) {
	ctx := context.Background()
	s, _ := newClockedStore(8) // 8 session values, 2 anonymous
	for i := range 8 {
		s.Put(ctx, fmt.Sprint("forgeproof:once:", i), nil, time.Hour)
	}
	for i := range 1000 {
		s.Put(ctx, fmt.Sprint(AnonymousKeyPrefix, "once:", i), nil, time.Hour)
	}
	if s.Len() != 10 {
		t.Errorf("Len = %d, want 8 session and 2 anonymous values", s.Len())
	}
	for i := range 8 {
		if _, err := s.Get(ctx, fmt.Sprint("forgeproof:once:", i)); err != nil {
			t.Errorf("session value %d evicted by anonymous ones: %v", i, err)
		}
	}
	for _, i := range []int{998, 999} {
		if _, err := s.Get(ctx, fmt.Sprint(AnonymousKeyPrefix, "once:", i)); err != nil {
			t.Errorf("newest anonymous value %d: %v", i, err)
		}
	}
	// Session values evict session values only.
	s.Put(ctx, "forgeproof:reauth:new", nil, time.Hour)
	if _, err := s.Get(ctx, "forgeproof:once:0"); !errors.Is(err, ErrNotFound) {
		t.Errorf("oldest session value kept past the session bound")
	}
	if _, err := s.Get(ctx, AnonymousKeyPrefix+"once:999"); err != nil {
		t.Errorf("a session value evicted an anonymous one: %v", err)
	}
	// Keys of sessions and of visitors before login land apart.
	if k := onceKey("alice", []byte{1}); strings.HasPrefix(k, AnonymousKeyPrefix) {
		t.Errorf("onceKey of a session = %q, in the anonymous partition", k)
	}
	if k := onceKey(preSessionID(&signedToken{}), []byte{1}); !strings.HasPrefix(k, AnonymousKeyPrefix) {
		t.Errorf("onceKey before login = %q, not in the anonymous partition", k)
	}
}
