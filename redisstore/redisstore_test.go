package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/forgeproof/forgeproof"
	"github.com/forgeproof/forgeproof/internal/testenv"
	"github.com/forgeproof/forgeproof/redisstore"
	"github.com/redis/go-redis/v9"
)

func newClient(t testing.TB, addr string) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: time.Second, ReadTimeout: time.Second})
	t.Cleanup(func() { c.Close() })
	return c
}

// open opens a store on the deployment d with opts, closed when the test
// ends.
func open(t testing.TB, d deployment, opts redisstore.Options) *redisstore.Store {
	t.Helper()
	s, err := redisstore.Open(d.url, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestSemantics(t *testing.T) {
	forEachDeployment(t, testSemantics)
}

func testSemantics(t *testing.T, d deployment) {
	ctx := context.Background()
	type step struct {
		op      string // get, put, take, delete
		key     string
		value   string // for put; the expected value for get and take
		missing bool   // get and take must return ErrNotFound
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"get missing", []step{{op: "get", key: "k", missing: true}}},
		{"put then get", []step{{op: "put", key: "k", value: "v1"}, {op: "get", key: "k", value: "v1"}, {op: "get", key: "k", value: "v1"}}},
		{"put replaces", []step{{op: "put", key: "k", value: "v1"}, {op: "put", key: "k", value: "v2"}, {op: "get", key: "k", value: "v2"}}},
		{"take once", []step{{op: "put", key: "k", value: "v"}, {op: "take", key: "k", value: "v"}, {op: "take", key: "k", missing: true}, {op: "get", key: "k", missing: true}}},
		{"take missing", []step{{op: "take", key: "k", missing: true}}},
		{"delete", []step{{op: "put", key: "k", value: "v"}, {op: "delete", key: "k"}, {op: "get", key: "k", missing: true}}},
		{"delete missing", []step{{op: "delete", key: "k"}, {op: "delete", key: "k"}}},
		{"binary value", []step{{op: "put", key: "k", value: "\x00\xff\r\n"}, {op: "take", key: "k", value: "\x00\xff\r\n"}}},
		{"empty value", []step{{op: "put", key: "k", value: ""}, {op: "get", key: "k", value: ""}}},
		{"keys apart", []step{{op: "put", key: "a", value: "1"}, {op: "put", key: "b", value: "2"}, {op: "take", key: "a", value: "1"}, {op: "get", key: "b", value: "2"}}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t, d, redisstore.Options{Prefix: fmt.Sprintf("semantics%d:", i)})
			for j, st := range tt.steps {
				var got []byte
				var err error
				switch st.op {
				case "get":
					got, err = s.Get(ctx, st.key)
				case "take":
					got, err = s.Take(ctx, st.key)
				case "put":
					err = s.Put(ctx, st.key, []byte(st.value), time.Minute)
				case "delete":
					err = s.Delete(ctx, st.key)
				}
				switch {
				case st.missing:
					if !errors.Is(err, forgeproof.ErrNotFound) {
						t.Fatalf("step %d: %s(%q) = %q, %v; want ErrNotFound", j, st.op, st.key, got, err)
					}
				case err != nil:
					t.Fatalf("step %d: %s(%q): %v", j, st.op, st.key, err)
				case (st.op == "get" || st.op == "take") && string(got) != st.value:
					t.Fatalf("step %d: %s(%q) = %q, want %q", j, st.op, st.key, got, st.value)
				}
			}
		})
	}
}

func TestPrefix(t *testing.T) {
	forEachDeployment(t, testPrefix)
}

func testPrefix(t *testing.T, d deployment) {
	ctx := context.Background()
	raw := d.raw
	shop := open(t, d, redisstore.Options{Prefix: "shop:"})
	blog := open(t, d, redisstore.Options{Prefix: "blog:"})
	if err := shop.Put(ctx, "forgeproof:sync:abc", []byte("v"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if v, err := raw.Get(ctx, "shop:forgeproof:sync:abc").Result(); err != nil || v != "v" {
		t.Errorf("raw key: %q, %v; want the value under the prefix", v, err)
	}
	if _, err := blog.Get(ctx, "forgeproof:sync:abc"); !errors.Is(err, forgeproof.ErrNotFound) {
		t.Errorf("another prefix sees the key: %v", err)
	}
}

func TestTTL(t *testing.T) {
	forEachDeployment(t, testTTL)
}

func testTTL(t *testing.T, d deployment) {
	ctx := context.Background()
	raw := d.raw
	s := open(t, d, redisstore.Options{})

	if err := s.Put(ctx, "long", []byte("v"), time.Hour); err != nil {
		t.Fatal(err)
	}
	if ttl := raw.PTTL(ctx, "long").Val(); ttl <= 59*time.Minute || ttl > time.Hour {
		t.Errorf("PTTL = %v, want just under 1h", ttl)
	}
	if err := s.Put(ctx, "short", []byte("v"), 150*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "short"); err != nil {
		t.Fatalf("value gone before its ttl: %v", err)
	}
	time.Sleep(300 * time.Millisecond)
	if _, err := s.Get(ctx, "short"); !errors.Is(err, forgeproof.ErrNotFound) {
		t.Errorf("Get after ttl: %v, want ErrNotFound", err)
	}
	if err := s.Put(ctx, "tiny", []byte("v"), time.Microsecond); err != nil {
		t.Errorf("sub-millisecond ttl: %v, want it rounded up", err)
	}
	for _, ttl := range []time.Duration{0, -time.Second} {
		if err := s.Put(ctx, "forever", []byte("v"), ttl); err == nil {
			t.Errorf("Put with ttl %v succeeded, want an error", ttl)
		}
	}
	if n := raw.Exists(ctx, "forever").Val(); n != 0 {
		t.Errorf("a value without expiry was stored")
	}
}

// Of many concurrent Takes of one key, from several clients, exactly one
// gets the value: a one-time token or a re-authentication proof is used
// once even when two gateway instances race.
func TestConcurrentTake(t *testing.T) {
	forEachDeployment(t, testConcurrentTake)
}

func testConcurrentTake(t *testing.T, d deployment) {
	ctx := context.Background()
	stores := make([]*redisstore.Store, 4)
	for i := range stores {
		stores[i] = open(t, d, redisstore.Options{})
	}
	const keys, racers = 50, 16
	for k := range keys {
		key := fmt.Sprintf("once:%d", k)
		if err := stores[0].Put(ctx, key, []byte("proof"), time.Minute); err != nil {
			t.Fatal(err)
		}
		var wins, misses atomic.Int32
		var wg sync.WaitGroup
		for i := range racers {
			wg.Go(func() {
				v, err := stores[i%len(stores)].Take(ctx, key)
				switch {
				case err == nil && string(v) == "proof":
					wins.Add(1)
				case errors.Is(err, forgeproof.ErrNotFound):
					misses.Add(1)
				default:
					t.Errorf("Take: %q, %v", v, err)
				}
			})
		}
		wg.Wait()
		if wins.Load() != 1 || misses.Load() != racers-1 {
			t.Fatalf("key %s: %d wins and %d misses, want 1 and %d", key, wins.Load(), misses.Load(), racers-1)
		}
	}
}

// While Redis is down every call fails with an error that is not
// ErrNotFound (so the library answers 503 store-unavailable rather than
// "token invalid"), and the same client works again when Redis returns.
func TestOutageAndRecovery(t *testing.T) {
	srv := testenv.StartRedis(t)
	ctx := context.Background()
	s, err := redisstore.Open("redis://"+srv.Addr, redisstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Put(ctx, "k", []byte("v"), time.Minute); err != nil {
		t.Fatal(err)
	}

	srv.Stop()
	calls := map[string]func(context.Context) error{
		"get":    func(ctx context.Context) error { _, err := s.Get(ctx, "k"); return err },
		"take":   func(ctx context.Context) error { _, err := s.Take(ctx, "k"); return err },
		"put":    func(ctx context.Context) error { return s.Put(ctx, "k", []byte("v"), time.Minute) },
		"delete": func(ctx context.Context) error { return s.Delete(ctx, "k") },
		"ping":   func(ctx context.Context) error { return s.Ping(ctx) },
	}
	for name, call := range calls {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		start := time.Now()
		err := call(ctx)
		cancel()
		t.Logf("%s during outage failed after %v", name, time.Since(start).Round(time.Millisecond))
		if err == nil || errors.Is(err, forgeproof.ErrNotFound) {
			t.Errorf("%s during outage: %v, want an unavailability error", name, err)
		}
		// Open's fail-fast defaults: a refused request must not hang.
		if d := time.Since(start); d > 500*time.Millisecond {
			t.Errorf("%s during outage took %v", name, d)
		}
	}

	srv.Start()
	// The client dials again on its own; after a run of failed dials it
	// waits up to a second between attempts.
	start := time.Now()
	for err := s.Ping(ctx); err != nil; err = s.Ping(ctx) {
		if time.Since(start) > 5*time.Second {
			t.Fatalf("Ping 5s after recovery: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("recovered %v after redis-server was back", time.Since(start).Round(time.Millisecond))
	if err := s.Put(ctx, "k2", []byte("v2"), time.Minute); err != nil {
		t.Fatalf("Put after recovery: %v", err)
	}
	if v, err := s.Take(ctx, "k2"); err != nil || string(v) != "v2" {
		t.Fatalf("Take after recovery: %q, %v", v, err)
	}
}

func TestContextCanceled(t *testing.T) {
	srv := testenv.StartRedis(t)
	s := redisstore.New(newClient(t, srv.Addr), redisstore.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Get(ctx, "k"); err == nil || errors.Is(err, forgeproof.ErrNotFound) {
		t.Errorf("Get with a canceled context: %v, want context.Canceled", err)
	} else if !errors.Is(err, context.Canceled) {
		t.Errorf("Get with a canceled context: %v, want it to wrap context.Canceled", err)
	}
}

func TestOpen(t *testing.T) {
	srv := testenv.StartRedis(t)
	s, err := redisstore.Open("redis://"+srv.Addr+"/2", redisstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Ping(context.Background()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	for _, bad := range []string{"http://127.0.0.1:6379", "redis://host:notaport", "::"} {
		if _, err := redisstore.Open(bad, redisstore.Options{}); err == nil {
			t.Errorf("Open(%q) succeeded, want an error", bad)
		}
	}
}

// TestOpenSentinel opens a store through a real redis-sentinel watching a
// real redis-server, and refuses sentinel URLs it cannot use.
func TestOpenSentinel(t *testing.T) {
	srv := testenv.StartRedis(t)
	sen := testenv.StartSentinel(t, "mymaster", srv.Addr)
	s, err := redisstore.Open("redis+sentinel://"+sen.Addr+"/1?master_name=mymaster", redisstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Ping(context.Background()); err != nil {
		t.Fatalf("Ping through the sentinel: %v", err)
	}
	for _, bad := range []string{
		"redis+sentinel://" + sen.Addr + "/1",                                // no master_name
		"redis+sentinel://" + sen.Addr + "/1?master_name=m&no_such_option=1", // unknown option
		"http+sentinel://" + sen.Addr + "/1?master_name=mymaster",            // not redis
	} {
		if _, err := redisstore.Open(bad, redisstore.Options{}); err == nil {
			t.Errorf("Open(%q) succeeded, want an error", bad)
		}
	}
}

// TestOpenCluster opens a store on a real Redis Cluster through one node
// and through several, and refuses cluster URLs it cannot use.
func TestOpenCluster(t *testing.T) {
	c := testenv.StartCluster(t, 0)
	for _, url := range []string{
		"redis+cluster://" + c.Addrs[0],
		"redis+cluster://" + c.Addrs[0] + "/0?addr=" + c.Addrs[1] + "&addr=" + c.Addrs[2] + "&read_timeout=2s",
	} {
		s, err := redisstore.Open(url, redisstore.Options{})
		if err != nil {
			t.Fatalf("Open(%q): %v", url, err)
		}
		defer s.Close()
		// Keys in every slot range reach their node: the client learned the
		// cluster's map from the node it was given.
		for i := range 30 {
			key := fmt.Sprintf("forgeproof:sync:%d", i)
			if err := s.Put(context.Background(), key, []byte("v"), time.Minute); err != nil {
				t.Fatalf("Open(%q): Put: %v", url, err)
			}
		}
		if err := redisstore.CheckURL(url); err != nil {
			t.Errorf("CheckURL(%q) = %v, want nil", url, err)
		}
	}
	for _, tt := range []struct{ url, want string }{
		{"redis+cluster://" + c.Addrs[0] + "/1", "only database 0"},
		{"redis+cluster://" + c.Addrs[0] + "?addr=" + c.Addrs[1] + "&no_such_option=1", "unexpected option: no_such_option"},
		{"redis+cluster://" + c.Addrs[0] + "?addr=nohostport", "unable to parse addr param"},
		{"redis+cluster://" + c.Addrs[0] + "?master_name=m", "unexpected option: master_name"},
		{"http+cluster://" + c.Addrs[0], "invalid URL scheme"},
		{"redis+cluster://" + c.Addrs[0] + ":x", "invalid port"},
	} {
		_, err := redisstore.Open(tt.url, redisstore.Options{})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Open(%q) = %v, want an error saying %q", tt.url, err, tt.want)
		}
		if cerr := redisstore.CheckURL(tt.url); fmt.Sprint(cerr) != fmt.Sprint(err) {
			t.Errorf("CheckURL(%q) = %v, want Open's error %v", tt.url, cerr, err)
		}
	}
}
