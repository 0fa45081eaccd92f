package redisstore_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/forgeproof/forgeproof/internal/testenv"
	"github.com/redis/go-redis/v9"
)

// A deployment is a real Redis deployment that the store runs on: its URL
// for redisstore.Open and a client of it for looking at the keys.
type deployment struct {
	url string
	raw redis.UniversalClient
	// server is the single redis-server, which a test may stop and start
	// again; nil on the other deployments.
	server *testenv.Redis
}

// deployments start the Redis deployments that every store operation must
// work on, each stopped when its test ends.
var deployments = []struct {
	name  string
	start func(t *testing.T) deployment
}{
	{"single", func(t *testing.T) deployment {
		srv := testenv.StartRedis(t)
		return deployment{url: "redis://" + srv.Addr + "/0", raw: newClient(t, srv.Addr), server: srv}
	}},
	{"sentinel", func(t *testing.T) deployment {
		srv := testenv.StartRedis(t)
		sen := testenv.StartSentinel(t, "mymaster", srv.Addr)
		return deployment{url: "redis+sentinel://" + sen.Addr + "/0?master_name=mymaster", raw: newClient(t, srv.Addr)}
	}},
	{"cluster", func(t *testing.T) deployment {
		c := testenv.StartCluster(t, 0)
		raw := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs})
		t.Cleanup(func() { raw.Close() })
		return deployment{url: "redis+cluster://" + c.Addrs[0] + "?addr=" + strings.Join(c.Addrs[1:], "&addr="), raw: raw}
	}},
}

// matchingKeys returns the keys that match pattern, on every primary of a cluster.
func matchingKeys(t testing.TB, d deployment, pattern string) []string {
	t.Helper()
	ctx := context.Background()
	c, ok := d.raw.(*redis.ClusterClient)
	if !ok {
		return d.raw.Keys(ctx, pattern).Val()
	}
	var mu sync.Mutex
	var all []string
	err := c.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
		ks, err := node.Keys(ctx, pattern).Result()
		mu.Lock()
		all = append(all, ks...)
		mu.Unlock()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return all
}

// forEachDeployment runs test as a subtest on every deployment.
func forEachDeployment(t *testing.T, test func(t *testing.T, d deployment)) {
	for _, dep := range deployments {
		t.Run(dep.name, func(t *testing.T) { test(t, dep.start(t)) })
	}
}
