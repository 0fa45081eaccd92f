// Package redisstore is a [forgeproof.Store] on Redis, so that several
// instances of an application or of the forgeproof gateway share
// synchronizer tokens, one-time tokens and re-authentication proofs.
//
// # Usage
//
//	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
//	p, err := forgeproof.New(forgeproof.Config{
//		Keys:  keys, // the same key ring on every instance
//		Store: redisstore.New(client, redisstore.Options{}),
//		Tokens: forgeproof.SynchronizerTokens,
//	})
//
// Any [redis.UniversalClient] works: a single server, Sentinel, or Cluster;
// [Open] makes one from a URL. Keys are the library's keys (hashes, never a
// raw session id) behind an optional prefix, and every value is written
// with its time to live, so that Redis forgets what the library no longer
// needs.
//
// # Redis Cluster
//
// Every operation but one touches a single key, with a single command
// (GET, SET, GETDEL, DEL), so it runs on whichever node serves that key's
// slot; no operation uses MULTI or a pipeline. The one script, which
// stores an anonymous entry and keeps their bound (below), touches only
// keys in the hash slot {forgeproof:anon}. The store thus works on a
// Cluster with the same key names as on a single server, and spreads the
// session-bound entries over every node.
//
// # Anonymous entries
//
// Entries that visitors without a session can have created at will, one
// per request (keys under [forgeproof.AnonymousKeyPrefix]: pre-session
// synchronizer tokens, their one-time tokens), are bounded apart: at most
// [Options.MaxAnonymousKeys] of them exist at once, the ones closest to
// expiry are dropped first to make room, and they never displace a
// session's entries. They are tracked in a sorted set beside them, and
// all of them, with the set, share the hash slot {forgeproof:anon}, so
// that one atomic script keeps the bound, on a Cluster too. A flood of
// anonymous token requests thus adds at most MaxAnonymousKeys+1 keys to
// Redis, however long it lasts.
//
// # Failure
//
// When Redis cannot be reached, every method returns an error that is not
// [forgeproof.ErrNotFound]. The library then fails closed: requests that need
// the store are refused with 503 and the reason store-unavailable, while
// routes that do not need it keep serving. The client reconnects on its own
// when Redis returns; [Store.Ping] reports readiness meanwhile.
package redisstore

import (
	"context"
	"errors"
	"fmt"
	neturl "net/url"
	"strings"
	"time"

	"github.com/forgeproof/forgeproof"
	"github.com/redis/go-redis/v9"
)

// Options configure a [Store].
type Options struct {
	// Prefix is put before every key. The library's keys already begin
	// with "forgeproof:", so the zero value is fine on a Redis that other
	// applications share; set a prefix such as "shop:" to keep the tokens
	// of several protected applications apart on one Redis.
	//
	// On a Redis Cluster, leave braces out of the prefix: a hash tag in it
	// ("{shop}:") would put every key of the application in one slot, on
	// one node, and an empty one ("{}") would hash the anonymous entries
	// apart from their index, so that storing them would fail.
	Prefix string

	// MaxAnonymousKeys bounds the number of anonymous entries (see the
	// package documentation) held at once. If zero, it is 65536; beyond
	// it, the entries closest to expiry are dropped, so that a visitor
	// whose token was dropped must reload the page.
	MaxAnonymousKeys int
}

// defaultMaxAnonymousKeys is Options.MaxAnonymousKeys when zero.
const defaultMaxAnonymousKeys = 1 << 16

// anonTag is the hash tag of every anonymous key and of their index.
const anonTag = "{forgeproof:anon}:"

// putAnonymous stores an anonymous entry and keeps their number bounded, in
// one atomic step. KEYS[1] is the index (a sorted set of the entries' keys
// by expiry time), KEYS[2] the entry's key; ARGV holds the value, the TTL
// and the current time in milliseconds, and the bound.
var putAnonymous = redis.NewScript(`
local ttl, now, max = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('SET', KEYS[2], ARGV[1], 'PX', ttl)
redis.call('ZADD', KEYS[1], now + ttl, KEYS[2])
local over = redis.call('ZCARD', KEYS[1]) - max
if over > 0 then
	local old = redis.call('ZPOPMIN', KEYS[1], over)
	for i = 1, #old, 2 do
		redis.call('DEL', old[i])
	end
end
if redis.call('PTTL', KEYS[1]) < ttl then
	redis.call('PEXPIRE', KEYS[1], ttl)
end
return 0
`)

// Store is a [forgeproof.Store] on Redis. It is safe for concurrent use.
type Store struct {
	client  redis.UniversalClient
	prefix  string
	maxAnon int
	index   string // the key of the anonymous entries' index

	// reload asks a Cluster client to learn again which node serves each
	// slot; nil for other clients.
	reload func(context.Context)
}

var _ forgeproof.Store = (*Store)(nil)

// New returns a store that keeps its values through client. The caller
// keeps ownership of client and closes it.
func New(client redis.UniversalClient, opts Options) *Store {
	maxAnon := opts.MaxAnonymousKeys
	if maxAnon <= 0 {
		maxAnon = defaultMaxAnonymousKeys
	}
	s := &Store{client: client, prefix: opts.Prefix, maxAnon: maxAnon, index: opts.Prefix + anonTag + "index"}
	if c, ok := client.(interface{ ReloadState(context.Context) }); ok {
		s.reload = c.ReloadState
	}
	return s
}

// key returns the Redis key of a library key: behind the prefix and, for
// an anonymous entry, in the anonymous hash slot. It reports whether the
// entry is anonymous.
func (s *Store) key(k string) (string, bool) {
	if rest, ok := strings.CutPrefix(k, forgeproof.AnonymousKeyPrefix); ok {
		return s.prefix + anonTag + rest, true
	}
	return s.prefix + k, false
}

// Open connects to the Redis server named by a URL such as
// "redis://:password@host:6379/0" or "rediss://host:6380" (TLS), as parsed
// by [redis.ParseURL]. It does not contact the server; use [Store.Ping] to
// check it. Close the store when done.
//
// A "redis+sentinel://" (or "rediss+sentinel://") URL names Redis Sentinels
// instead, and the store follows the primary they elect, so that it
// survives the loss of a node:
//
//	redis+sentinel://[user:password@]sentinel1:26379[/db]?master_name=NAME[&addr=sentinel2:26379…][&password=PRIMARY-PASSWORD]
//
// The user information is the Sentinels' own; the primary's password is
// the password parameter. Every other parameter is go-redis's, as parsed by
// [redis.ParseFailoverURL]; master_name is required.
//
// A "redis+cluster://" (or "rediss+cluster://") URL names nodes of a Redis
// Cluster, from which the store learns the others and which node serves
// each key, following the cluster as its slots move or a replica is
// promoted:
//
//	redis+cluster://[user:password@]node1:6379[?addr=node2:6379…]
//
// The user information is every node's. A Cluster has only database 0, so
// the URL names no other. Every other parameter is go-redis's, as parsed by
// [redis.ParseClusterURL].
//
// Since every protected request may wait on the store, Open fails fast
// where the URL does not say otherwise: dial_timeout=500ms,
// read_timeout=1s, write_timeout=1s, max_retries=1, and one dial attempt
// per command. With go-redis's own defaults, a request during an outage
// waits about two seconds before it is refused.
func Open(url string, opts Options) (*Store, error) {
	client, err := parseURL(url)
	if err != nil {
		return nil, err
	}
	return New(client(), opts), nil
}

// CheckURL reports what is wrong with a URL that [Open] would refuse,
// without connecting, for configuration checks. Its errors never repeat
// the URL, which may hold a password.
func CheckURL(url string) error {
	_, err := parseURL(url)
	return err
}

// parseURL parses a URL of Open's forms and returns the function that
// makes its client.
func parseURL(url string) (func() redis.UniversalClient, error) {
	scheme, rest, _ := strings.Cut(url, "://")
	switch scheme {
	case "redis+sentinel", "rediss+sentinel":
		base, _, _ := strings.Cut(scheme, "+")
		o, err := redis.ParseFailoverURL(base + "://" + rest)
		if err != nil {
			return nil, fmt.Errorf("redisstore: %w (want a URL such as redis+sentinel://127.0.0.1:26379/0?master_name=mymaster)", hideURL(err))
		}
		if o.MasterName == "" {
			return nil, errors.New("redisstore: a redis+sentinel URL needs master_name, such as redis+sentinel://127.0.0.1:26379/0?master_name=mymaster")
		}
		o.DialTimeout, o.ReadTimeout, o.WriteTimeout, o.MaxRetries = failFast(o.DialTimeout, o.ReadTimeout, o.WriteTimeout, o.MaxRetries)
		o.DialerRetries = 1
		return func() redis.UniversalClient { return redis.NewFailoverClient(o) }, nil
	case "redis+cluster", "rediss+cluster":
		const want = "want a URL such as redis+cluster://127.0.0.1:7000?addr=127.0.0.1:7001&addr=127.0.0.1:7002"
		base, _, _ := strings.Cut(scheme, "+")
		u, err := neturl.Parse(base + "://" + rest)
		if err != nil {
			return nil, fmt.Errorf("redisstore: the store URL does not parse: %w (%s)", hideURL(err), want)
		}
		if db := strings.Trim(u.Path, "/"); db != "" && db != "0" {
			return nil, fmt.Errorf("redisstore: a Redis Cluster has only database 0: remove /%s from the redis+cluster URL (%s)", db, want)
		}
		o, err := redis.ParseClusterURL(base + "://" + rest)
		if err != nil {
			return nil, fmt.Errorf("redisstore: %w (%s)", hideURL(err), want)
		}
		o.DialTimeout, o.ReadTimeout, o.WriteTimeout, o.MaxRetries = failFast(o.DialTimeout, o.ReadTimeout, o.WriteTimeout, o.MaxRetries)
		o.DialerRetries = 1
		return func() redis.UniversalClient { return redis.NewClusterClient(o) }, nil
	}
	o, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("redisstore: the store URL does not parse: %w (want a URL such as redis://127.0.0.1:6379/0)", hideURL(err))
	}
	o.DialTimeout, o.ReadTimeout, o.WriteTimeout, o.MaxRetries = failFast(o.DialTimeout, o.ReadTimeout, o.WriteTimeout, o.MaxRetries)
	o.DialerRetries = 1
	return func() redis.UniversalClient { return redis.NewClient(o) }, nil
}

// hideURL returns err without the URL that a url.Error repeats, password
// included: only what is wrong with it.
func hideURL(err error) error {
	var ue *neturl.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// failFast fills in Open's timeouts and retries where the URL set none.
func failFast(dial, read, write time.Duration, retries int) (time.Duration, time.Duration, time.Duration, int) {
	if dial == 0 {
		dial = 500 * time.Millisecond
	}
	if read == 0 {
		read = time.Second
	}
	if write == 0 {
		write = time.Second
	}
	if retries == 0 {
		retries = 1
	}
	return dial, read, write, retries
}

// Close closes the client. Call it only on a store made by [Open].
func (s *Store) Close() error {
	return s.client.Close()
}

// Get returns the value stored under key, or [forgeproof.ErrNotFound].
func (s *Store) Get(ctx context.Context, key string) ([]byte, error) {
	k, _ := s.key(key)
	v, err := s.client.Get(ctx, k).Bytes()
	return v, s.wrap("get", err)
}

// Put stores value under key for ttl, replacing any earlier value. A ttl
// below one millisecond is rounded up to one millisecond; a ttl of zero or
// less is an error, since a value without expiry would never be forgotten.
func (s *Store) Put(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if ttl <= 0 {
		return fmt.Errorf("redisstore: put: ttl %v is not positive", ttl)
	}
	if ttl < time.Millisecond {
		ttl = time.Millisecond
	}
	k, anon := s.key(key)
	if anon {
		err := putAnonymous.Run(ctx, s.client, []string{s.index, k},
			value, ttl.Milliseconds(), time.Now().UnixMilli(), s.maxAnon).Err()
		return s.wrap("put", err)
	}
	return s.wrap("put", s.client.Set(ctx, k, value, ttl).Err())
}

// Take returns the value stored under key and deletes it, atomically with
// GETDEL (Redis 6.2 or later), or returns [forgeproof.ErrNotFound]. Of
// several concurrent Takes of one key, across any number of clients,
// exactly one gets the value.
func (s *Store) Take(ctx context.Context, key string) ([]byte, error) {
	k, _ := s.key(key)
	v, err := s.client.GetDel(ctx, k).Bytes()
	return v, s.wrap("take", err)
}

// Delete removes key. Deleting a missing key is not an error.
func (s *Store) Delete(ctx context.Context, key string) error {
	k, _ := s.key(key)
	return s.wrap("delete", s.client.Del(ctx, k).Err())
}

// Ping reports whether Redis answers, for readiness checks.
func (s *Store) Ping(ctx context.Context) error {
	return s.wrap("ping", s.client.Ping(ctx).Err())
}

// wrap maps a miss to forgeproof.ErrNotFound and names the operation in
// every other error. It never includes a key or a value.
//
// On a Cluster, a failure also makes the client learn the cluster's map
// again, in the background: go-redis otherwise does so only every minute
// or when a node answers MOVED, and a primary that died answers nothing,
// so the store would keep dialing it for up to a minute after its replica
// took over. Reloads are coalesced, at most one each 200ms.
func (s *Store) wrap(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, redis.Nil):
		return forgeproof.ErrNotFound
	}
	if s.reload != nil {
		s.reload(context.Background())
	}
	return fmt.Errorf("redisstore: %s: %w", op, err)
}
