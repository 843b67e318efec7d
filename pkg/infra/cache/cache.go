package cache

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/rueidis"
	"golang.org/x/sync/singleflight"

	"github.com/oeshq/oes/pkg/infra/redisurl"
)

const (
	// dialTimeout and ioTimeout keep a dead or silent Redis from holding a request for long:
	// rueidis gives up a dial after dialTimeout and closes a connection whose PING goes
	// unanswered for ioTimeout, failing every call waiting on it.
	dialTimeout = time.Second
	ioTimeout   = time.Second

	// PipelineMultiplex -1 makes rueidis open a single pipelined connection per Redis server,
	// so it keeps a single local cache (rueidis sizes one per connection) that gets all of
	// LocalCacheBytes. Cached reads and writes then share the connection, which is what lets a
	// write wait for its own invalidation (see doWrite); rueidis pipelines concurrent calls on
	// it. On a Cluster there is one such connection per node (see Config.LocalCacheBytes).
	pipelineMultiplex = -1

	// sentinelRefresh is how often the sentinels are asked for the master besides listening
	// to their +switch-master announcements: a single missed announcement would otherwise
	// leave the Cache on a demoted master, serving and tracking stale entries.
	sentinelRefresh = 5 * time.Second

	// genLocalTTL bounds how long the generation is kept locally. Redis invalidates the local
	// copy as soon as the generation changes; the bound only limits the damage of a lost
	// invalidation.
	genLocalTTL = time.Minute
)

// ErrUnavailable is returned (wrapped) while Redis is known to be unreachable: the Cache does
// not ask it again until a background probe has reached it.
var ErrUnavailable = errors.New("redis unavailable")

var errClosed = errors.New("cache is closed")

// Cache is a two-level cache: Redis shared by every replica, and a bounded copy in process
// memory that Redis keeps coherent (see the package documentation). It is safe for concurrent
// use. Every method degrades to "not cached" while Redis is unreachable and recovers by itself.
type Cache struct {
	// client is nil until rueidis has reached Redis once: a Sentinel or Cluster client cannot
	// be built without it (see New). It never changes after it is set.
	client  atomic.Pointer[rueidis.Client]
	opt     rueidis.ClientOption
	cluster bool // see doWrite
	log     *slog.Logger
	cfg     Config
	ttl     [kindCount]time.Duration
	genKey  string
	prefix  atomic.Pointer[genPrefix]
	flights singleflight.Group

	counters [kindCount]counters

	up atomic.Bool // false while Redis is unreachable or not yet reached
	// stale is set when a write (an invalidation above all) may not have reached Redis: the
	// entries there may be older than the data. The Cache moves to a new generation before it
	// uses Redis again.
	stale      atomic.Bool
	lastLog    atomic.Int64 // unix nanoseconds of the last error log line
	suppressed atomic.Uint64

	// mu orders Close against the reconnect loop: no loop starts, and none marks Redis up,
	// once closed is set.
	mu     sync.Mutex
	closed atomic.Bool
	done   chan struct{}
	loops  sync.WaitGroup
}

// New returns a Cache that stores its entries in the Redis at redisURL:
//
//	redis://[[user]:password@]host:port[/db]       one server (rediss:// for TLS, or unix://)
//	redis-sentinel://[[user]:password@]host1:26379[,host2:26379...][/db]?master=<name>[&sentinel_password=<p>]
//	redis-cluster://[[user]:password@]host1:6379[,host2:6379...]
//
// The Sentinel form names the sentinels; the password is the master's, sentinel_password the
// sentinels' own if they need one. The Cluster form names some or all nodes; the others are
// discovered. New fails only for a malformed URL or Config; if Redis cannot be reached, New
// logs that, returns a working Cache that caches nothing, and keeps trying to connect in the
// background. log may be nil. The caller must Close the Cache.
func New(redisURL string, cfg Config, log *slog.Logger) (*Cache, error) {
	cfg, err := cfg.normalize()
	if err != nil {
		return nil, err
	}
	opt, cluster, err := clientOption(redisURL, cfg)
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Cache{
		opt:     opt,
		cluster: cluster,
		log:     log,
		cfg:     cfg,
		ttl:     cfg.ttlTable(),
		genKey:  cfg.Namespace + ":gen",
		done:    make(chan struct{}),
	}
	if err := c.connect(); err != nil {
		c.logError("connect", err)
		c.startReconnect()
	} else {
		c.up.Store(true)
	}
	return c, nil
}

// connect builds the rueidis client unless it exists. With ForceSingleClient, NewClient
// returns a usable client together with the dial error when Redis is down, and later calls
// dial again. The Sentinel and Cluster clients need a first answer to learn the topology, so
// they are not built until Redis answers; until then the Cache has no client and is down.
func (c *Cache) connect() error {
	if c.redis() != nil {
		return nil
	}
	client, err := rueidis.NewClient(c.opt)
	if client != nil {
		c.client.Store(&client)
	}
	return err
}

// redis returns the rueidis client, or nil until connect has built it; ready succeeds only
// after that, so the calls it guards need not check.
func (c *Cache) redis() rueidis.Client {
	if p := c.client.Load(); p != nil {
		return *p
	}
	return nil
}

// clientOption turns redisURL into rueidis options and reports whether it names a Cluster.
func clientOption(redisURL string, cfg Config) (rueidis.ClientOption, bool, error) {
	u, err := redisurl.Parse("cache: invalid redis URL", redisURL)
	if err != nil {
		return rueidis.ClientOption{}, false, err
	}
	var opt rueidis.ClientOption
	switch u.Mode {
	case redisurl.Sentinel:
		opt = rueidis.ClientOption{
			InitAddress: u.Addrs,
			Username:    u.Username,
			Password:    u.Password,
			SelectDB:    u.DB,
			Sentinel: rueidis.SentinelOption{
				MasterSet:               u.MasterName,
				Password:                u.SentinelPassword,
				ClientName:              "oes-cache",
				Dialer:                  net.Dialer{Timeout: dialTimeout, KeepAlive: ioTimeout},
				TopologyRefreshInterval: sentinelRefresh,
			},
		}
	case redisurl.Cluster:
		// Not ForceSingleClient: the cluster client keeps a connection per node and routes
		// each key to the node that owns its slot.
		opt = rueidis.ClientOption{InitAddress: u.Addrs, Username: u.Username, Password: u.Password}
	default:
		if opt, err = standaloneOption(redisURL); err != nil {
			return opt, false, err
		}
		opt.ForceSingleClient = true
	}
	opt.PipelineMultiplex = pipelineMultiplex
	opt.CacheSizeEachConn = int(cfg.LocalCacheBytes)
	// A failed call is answered by the loader instead; retrying would only hold the request.
	opt.DisableRetry = true
	if opt.Dialer.Timeout == 0 {
		opt.Dialer.Timeout = dialTimeout
	}
	opt.Dialer.KeepAlive = ioTimeout
	if opt.ConnWriteTimeout == 0 {
		opt.ConnWriteTimeout = ioTimeout
	}
	if opt.ClientName == "" {
		opt.ClientName = "oes-cache"
	}
	return opt, u.Mode == redisurl.Cluster, nil
}

// standaloneOption parses a single-server URL with rueidis's own parser.
func standaloneOption(redisURL string) (rueidis.ClientOption, error) {
	opt, err := rueidis.ParseURL(redisURL)
	if err != nil {
		// A *url.Error repeats the URL, password included; keep only the reason.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return opt, fmt.Errorf("cache: invalid redis URL: %w", err)
	}
	switch {
	case opt.Sentinel.MasterSet != "":
		return opt, errors.New("cache: invalid redis URL: for Sentinel use redis-sentinel://host1:26379,host2:26379?master=<name>, not master_set")
	case len(opt.InitAddress) != 1:
		return opt, errors.New("cache: invalid redis URL: a redis:// URL names one server; use redis-sentinel:// or redis-cluster:// for several")
	case opt.AlwaysRESP2:
		return opt, errors.New("cache: invalid redis URL: protocol=2 cannot track keys; the cache needs RESP3")
	}
	return opt, nil
}

// Close stops the background reconnection and closes the connection to Redis. Calls after
// Close fail.
func (c *Cache) Close() {
	c.mu.Lock()
	if c.closed.Load() {
		c.mu.Unlock()
		return
	}
	c.closed.Store(true)
	c.up.Store(false)
	close(c.done)
	c.mu.Unlock()
	c.loops.Wait()
	if client := c.redis(); client != nil {
		client.Close()
	}
}

// Ping asks Redis for a PONG, waiting at most ioTimeout, and returns nil when it answers.
// It is meant for readiness reports and is not counted in Stats.
func (c *Cache) Ping(ctx context.Context) error {
	client := c.redis()
	if client == nil {
		return fmt.Errorf("cache: ping redis: %w", ErrUnavailable)
	}
	ctx, cancel := context.WithTimeout(ctx, ioTimeout)
	defer cancel()
	if err := client.Do(ctx, client.B().Ping().Build()).Error(); err != nil {
		return fmt.Errorf("cache: ping redis: %w", err)
	}
	return nil
}

// Available reports whether the Cache is using Redis. It is false until the first connection
// succeeds and from the first failed call until a background probe reaches Redis again.
func (c *Cache) Available() bool { return c.up.Load() }

// Get returns the value stored under key. A miss is (nil, false, nil). An error means Redis
// could not be asked; treat it as a miss. It is already counted and logged (rate-limited), so
// callers need not log it.
//
// The returned slice is shared with the local cache and with concurrent callers: it must not
// be modified.
func (c *Cache) Get(ctx context.Context, key Key) ([]byte, bool, error) {
	e, found, local, err := c.read(ctx, key)
	if err != nil {
		return nil, false, err
	}
	if !found || e.notFound {
		c.countMiss(key.kind)
		return nil, false, nil
	}
	c.countHit(key.kind, local)
	return e.value, true, nil
}

// Set stores value under key for ttl; ttl 0 means the default TTL of the key's kind. Set
// copies value. Once Set returns, every Cache on the same Redis has dropped its local copy
// (this process at once, others as soon as Redis's invalidation message reaches them).
// An error means the entry may still hold the old value; callers should log it.
func (c *Cache) Set(ctx context.Context, key Key, value []byte, ttl time.Duration) error {
	if err := key.check(); err != nil {
		return err
	}
	if ttl < 0 {
		return fmt.Errorf("cache: set %v: negative ttl %v", key, ttl)
	}
	if ttl == 0 {
		ttl = c.ttl[key.kind]
	}
	return c.store(ctx, key, encodeValue(value), ttl)
}

// Delete removes the entry under key everywhere, like Set does. Deleting a missing key is not
// an error.
func (c *Cache) Delete(ctx context.Context, key Key) error {
	return c.DeleteMany(ctx, key)
}

// DeleteMany removes the entries under keys in one round trip.
func (c *Cache) DeleteMany(ctx context.Context, keys ...Key) error {
	if len(keys) == 0 {
		return nil
	}
	kinds := make([]Kind, len(keys))
	for i, k := range keys {
		if err := k.check(); err != nil {
			return err
		}
		kinds[i] = k.kind
	}
	if err := c.ready(); err != nil {
		return c.fail(ctx, "delete", err, kinds...)
	}
	prefix, err := c.keyPrefix(ctx)
	if err != nil {
		return c.fail(ctx, "delete", err, kinds...)
	}
	client := c.redis()
	rkeys := make([]string, len(keys))
	for i, k := range keys {
		rkeys[i] = redisKey(prefix, k)
	}
	if !c.cluster {
		err = c.doWrite(ctx, client.B().Del().Key(rkeys...).Build())
	} else {
		// The keys hash to different slots, which a Cluster refuses in one DEL: one DEL per
		// key, all in one round trip per node.
		dels := make([]rueidis.Completed, len(rkeys))
		for i, k := range rkeys {
			dels[i] = client.B().Del().Key(k).Build()
		}
		err = c.doWrite(ctx, dels...)
	}
	if err != nil {
		return c.fail(ctx, "delete", err, kinds...)
	}
	return nil
}

// Clear makes every entry of this namespace unreachable, for every Cache on the same Redis,
// at a cost independent of how much is cached: it moves the namespace to a new generation
// and lets the old entries expire by their TTL. Keys outside the namespace are untouched.
func (c *Cache) Clear(ctx context.Context) error {
	if err := c.ready(); err != nil {
		return c.fail(ctx, "clear", err)
	}
	if err := c.newGeneration(ctx); err != nil {
		return c.fail(ctx, "clear", err)
	}
	return nil
}

// newGeneration sets the generation key to a new random value. A generation is random rather
// than counted so that no generation is ever used twice: a generation key that is lost
// (evicted, deleted, a Redis restarted empty) is replaced by a new one, never by one whose
// entries may still be there.
func (c *Cache) newGeneration(ctx context.Context) error {
	client := c.redis()
	return c.doWrite(ctx, client.B().Set().Key(c.genKey).Value(randomGeneration()).Build())
}

// read looks key up in the local cache, then in Redis. found is false for a miss; local
// reports whether the answer came from process memory. A failure is counted and logged.
func (c *Cache) read(ctx context.Context, key Key) (e entry, found, local bool, err error) {
	if err := key.check(); err != nil {
		return entry{}, false, false, err
	}
	if err := c.ready(); err != nil {
		return entry{}, false, false, c.fail(ctx, "get", err, key.kind)
	}
	prefix, err := c.keyPrefix(ctx)
	if err != nil {
		return entry{}, false, false, c.fail(ctx, "get", err, key.kind)
	}
	client := c.redis()
	res := client.DoCache(ctx, client.B().Get().Key(redisKey(prefix, key)).Cache(), c.ttl[key.kind])
	b, err := res.AsBytes() // no copy: b aliases the cached message
	if rueidis.IsRedisNil(err) {
		return entry{}, false, res.IsCacheHit(), nil
	}
	if err != nil {
		return entry{}, false, false, c.fail(ctx, "get", err, key.kind)
	}
	if e, err = decode(b); err != nil {
		return entry{}, false, false, c.fail(ctx, "get", fmt.Errorf("%v: %w", key, err), key.kind)
	}
	return e, true, res.IsCacheHit(), nil
}

// store writes an encoded entry.
func (c *Cache) store(ctx context.Context, key Key, encoded []byte, ttl time.Duration) error {
	if err := c.ready(); err != nil {
		return c.fail(ctx, "set", err, key.kind)
	}
	prefix, err := c.keyPrefix(ctx)
	if err != nil {
		return c.fail(ctx, "set", err, key.kind)
	}
	ttl = max(ttl, time.Millisecond) // PX counts whole milliseconds and refuses 0
	client := c.redis()
	cmd := client.B().Set().Key(redisKey(prefix, key)).Value(rueidis.BinaryString(encoded)).Px(ttl).Build()
	if err := c.doWrite(ctx, cmd); err != nil {
		return c.fail(ctx, "set", err, key.kind)
	}
	return nil
}

// doWrite sends writes, each followed by a read, on the connections that serve the cached
// reads. Redis sends a connection the invalidation caused by a write before the reply to the
// connection's next command, and rueidis applies messages in order, so when doWrite returns
// the local copy is gone: a read right after a write in the same process never sees the old
// value.
//
// On a single server (or a Sentinel's master) the follow-up is one PING on the one connection.
// On a Cluster a PING goes to an arbitrary node, so each write is followed by an EXISTS of its
// own key, which rueidis routes to the node that took the write, over the same connection.
// EXISTS is not tracked (rueidis tracks only the reads it caches), so it adds no entry.
func (c *Cache) doWrite(ctx context.Context, writes ...rueidis.Completed) error {
	client := c.redis()
	cmds := make([]rueidis.Completed, 0, 2*len(writes))
	if !c.cluster {
		cmds = append(append(cmds, writes...), client.B().Ping().Build())
	} else {
		for _, w := range writes {
			key := w.Commands()[1] // SET, DEL and INCR all name their key first
			cmds = append(cmds, w, client.B().Exists().Key(key).Build())
		}
	}
	for _, r := range client.DoMulti(ctx, cmds...) {
		if err := r.Error(); err != nil {
			return err
		}
	}
	return nil
}

func (c *Cache) ready() error {
	if c.up.Load() {
		return nil
	}
	if c.closed.Load() {
		return errClosed
	}
	return ErrUnavailable
}

func (k Key) check() error {
	if !k.kind.valid() {
		return fmt.Errorf("cache: invalid key %v (build keys with the constructors of package cache)", k)
	}
	return nil
}
