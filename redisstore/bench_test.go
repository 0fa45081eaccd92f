package redisstore_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/forgeproof/forgeproof/internal/testenv"
	"github.com/forgeproof/forgeproof/redisstore"
)

// The cost of one store call on loopback, as a synchronizer-token check
// (Get) or a one-time token's use (Put at issue, Take at use) pays it.
func BenchmarkGet(b *testing.B) {
	srv := testenv.StartRedis(b)
	s := redisstore.New(newClient(b, srv.Addr), redisstore.Options{})
	ctx := context.Background()
	if err := s.Put(ctx, "forgeproof:sync:bench", make([]byte, 33), time.Minute); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Get(ctx, "forgeproof:sync:bench"); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkPutTake(b *testing.B) {
	srv := testenv.StartRedis(b)
	s := redisstore.New(newClient(b, srv.Addr), redisstore.Options{})
	ctx := context.Background()
	value := []byte{1}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		key := "forgeproof:once:" + strconv.Itoa(i)
		i++
		if err := s.Put(ctx, key, value, time.Minute); err != nil {
			b.Fatal(err)
		}
		if _, err := s.Take(ctx, key); err != nil {
			b.Fatal(err)
		}
	}
}
