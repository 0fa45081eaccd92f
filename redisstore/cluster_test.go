package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/forgeproof/forgeproof"
	"github.com/forgeproof/forgeproof/internal/testenv"
	"github.com/forgeproof/forgeproof/redisstore"
	"github.com/redis/go-redis/v9"
)

// failoverBound is how long after a primary is killed the store may
// answer unavailable: the cluster-node-timeout (2s), the replica's
// election, and the client learning the new map, with room for a loaded
// machine.
const failoverBound = 20 * time.Second

// TestClusterFailover kills the primary that holds a token on a real
// Redis Cluster with one replica per primary. The store answers
// unavailable (never "not found", so the library refuses with 503
// store-unavailable rather than token-invalid) until the replica is
// promoted, then serves every token written before the kill: none is lost,
// and a one-time token is still taken exactly once.
func TestClusterFailover(t *testing.T) {
	c := testenv.StartCluster(t, 1)
	ctx := context.Background()
	url := "redis+cluster://" + c.Addrs[0] + "?addr=" + strings.Join(c.Addrs[1:], "&addr=")
	s, err := redisstore.Open(url, redisstore.Options{Prefix: "app:"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	raw := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs})
	defer raw.Close()

	const tokens = 300
	for i := range tokens {
		if err := s.Put(ctx, "forgeproof:sync:"+strconv.Itoa(i), []byte("t"+strconv.Itoa(i)), time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Put(ctx, "forgeproof:once:x", []byte("once"), time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, forgeproof.AnonymousKeyPrefix+"once:y", []byte("anon"), time.Hour); err != nil {
		t.Fatal(err)
	}

	// The victim is the primary of the one-time token. Replication is
	// asynchronous: wait until its replica has everything, as a
	// deployment with min-replicas-to-write would.
	primary, err := raw.MasterForKey(ctx, "app:forgeproof:once:x")
	if err != nil {
		t.Fatal(err)
	}
	victim := primary.Options().Addr
	waitReplicated(t, primary)
	start := time.Now()
	c.Kill(victim)

	var unavailable int
	for {
		v, err := s.Get(ctx, "forgeproof:once:x")
		if err == nil {
			if string(v) != "once" {
				t.Fatalf("after the failover: %q", v)
			}
			break
		}
		if errors.Is(err, forgeproof.ErrNotFound) {
			t.Fatalf("%v after the kill: the token is reported missing, want unavailable until the failover", time.Since(start))
		}
		unavailable++
		if time.Since(start) > failoverBound {
			t.Fatalf("the store still fails %v after the kill: %v", failoverBound, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("primary %s killed: the store answered unavailable %d times, for %v", victim, unavailable, time.Since(start).Round(time.Millisecond))

	for i := range tokens {
		v, err := s.Get(ctx, "forgeproof:sync:"+strconv.Itoa(i))
		if err != nil || string(v) != "t"+strconv.Itoa(i) {
			t.Fatalf("token %d after the failover: %q, %v; want it kept", i, v, err)
		}
	}
	for key, want := range map[string]string{"forgeproof:once:x": "once", forgeproof.AnonymousKeyPrefix + "once:y": "anon"} {
		if v, err := s.Take(ctx, key); err != nil || string(v) != want {
			t.Fatalf("Take(%s) after the failover: %q, %v", key, v, err)
		}
		if _, err := s.Take(ctx, key); !errors.Is(err, forgeproof.ErrNotFound) {
			t.Fatalf("second Take(%s) after the failover: %v, want ErrNotFound", key, err)
		}
	}
	// New writes land too, on every slot.
	for i := range 30 {
		if err := s.Put(ctx, fmt.Sprintf("forgeproof:sync:new%d", i), []byte("v"), time.Minute); err != nil {
			t.Fatalf("Put after the failover: %v", err)
		}
	}
}

// waitReplicated waits until every replica of primary has acknowledged
// all of its writes.
func waitReplicated(t *testing.T, primary *redis.Client) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(10 * time.Second)
	for {
		info, err := primary.Info(ctx, "replication").Result()
		if err != nil {
			t.Fatal(err)
		}
		if replicasCaughtUp(info) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("replicas did not catch up:\n%s", info)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// replicasCaughtUp reports whether an INFO replication text shows at least
// one replica, every one at the primary's offset.
func replicasCaughtUp(info string) bool {
	var offset string
	var replicas []string
	for line := range strings.SplitSeq(info, "\n") {
		line = strings.TrimSpace(line)
		if v, ok := strings.CutPrefix(line, "master_repl_offset:"); ok {
			offset = v
		}
		if strings.HasPrefix(line, "slave") && strings.Contains(line, "offset=") {
			_, rest, _ := strings.Cut(line, "offset=")
			o, _, _ := strings.Cut(rest, ",")
			replicas = append(replicas, o)
		}
	}
	for _, o := range replicas {
		if o != offset {
			return false
		}
	}
	return len(replicas) > 0 && offset != ""
}
