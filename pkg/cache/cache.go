package cache

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/rueidis"
	"golang.org/x/sync/singleflight"
)

const (
	// dialTimeout and ioTimeout keep a dead or silent Redis from holding a request for long:
	// rueidis gives up a dial after dialTimeout and closes a connection whose PING goes
	// unanswered for ioTimeout, failing every call waiting on it.
	dialTimeout = time.Second
	ioTimeout   = time.Second

	// PipelineMultiplex -1 makes rueidis open a single pipelined connection, so it keeps a
	// single local cache (rueidis sizes one per connection) that gets all of LocalCacheBytes.
	// Cached reads and writes then share the connection, which is what lets a write wait for
	// its own invalidation (see doWrite); rueidis pipelines concurrent calls on it.
	pipelineMultiplex = -1
	connections       = 1

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
	client  rueidis.Client
	log     *slog.Logger
	cfg     Config
	ttl     [kindCount]time.Duration
	genKey  string
	prefix  atomic.Pointer[genPrefix]
	flights singleflight.Group

	counters [kindCount]counters

	up         atomic.Bool  // false while Redis is unreachable or not yet reached
	lastLog    atomic.Int64 // unix nanoseconds of the last error log line
	suppressed atomic.Uint64

	// mu orders Close against the reconnect loop: no loop starts, and none marks Redis up,
	// once closed is set.
	mu     sync.Mutex
	closed atomic.Bool
	done   chan struct{}
	loops  sync.WaitGroup
}

// New returns a Cache that stores its entries in the Redis at redisURL
// (redis://[user:password@]host:port/db, rediss:// for TLS, or unix://). It fails only for a
// malformed URL or Config; if Redis cannot be reached, New logs that, returns a working Cache
// that caches nothing, and keeps trying to connect in the background. log may be nil.
// The caller must Close the Cache.
func New(redisURL string, cfg Config, log *slog.Logger) (*Cache, error) {
	cfg, err := cfg.normalize()
	if err != nil {
		return nil, err
	}
	opt, err := clientOption(redisURL, cfg)
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// With ForceSingleClient, NewClient returns a usable client together with the dial error
	// when Redis is down; later calls dial again.
	client, err := rueidis.NewClient(opt)
	if client == nil {
		return nil, fmt.Errorf("cache: %w", err)
	}
	c := &Cache{
		client: client,
		log:    log,
		cfg:    cfg,
		ttl:    cfg.ttlTable(),
		genKey: cfg.Namespace + ":gen",
		done:   make(chan struct{}),
	}
	if err != nil {
		c.logError("connect", err)
		c.startReconnect()
	} else {
		c.up.Store(true)
	}
	return c, nil
}

func clientOption(redisURL string, cfg Config) (rueidis.ClientOption, error) {
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
		return opt, errors.New("cache: invalid redis URL: sentinel (master_set) is not supported")
	case len(opt.InitAddress) != 1:
		return opt, errors.New("cache: invalid redis URL: exactly one address is supported")
	case opt.AlwaysRESP2:
		return opt, errors.New("cache: invalid redis URL: protocol=2 cannot track keys; the cache needs RESP3")
	}
	opt.ForceSingleClient = true
	opt.PipelineMultiplex = pipelineMultiplex
	opt.CacheSizeEachConn = int(cfg.LocalCacheBytes / connections)
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
	c.client.Close()
}

// Ping asks Redis for a PONG, waiting at most ioTimeout, and returns nil when it answers.
// It is meant for readiness reports and is not counted in Stats.
func (c *Cache) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, ioTimeout)
	defer cancel()
	if err := c.client.Do(ctx, c.client.B().Ping().Build()).Error(); err != nil {
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
	rkeys := make([]string, len(keys))
	for i, k := range keys {
		rkeys[i] = redisKey(prefix, k)
	}
	if err := c.doWrite(ctx, c.client.B().Del().Key(rkeys...).Build()); err != nil {
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
	if err := c.doWrite(ctx, c.client.B().Incr().Key(c.genKey).Build()); err != nil {
		return c.fail(ctx, "clear", err)
	}
	return nil
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
	res := c.client.DoCache(ctx, c.client.B().Get().Key(redisKey(prefix, key)).Cache(), c.ttl[key.kind])
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
	cmd := c.client.B().Set().Key(redisKey(prefix, key)).Value(rueidis.BinaryString(encoded)).Px(ttl).Build()
	if err := c.doWrite(ctx, cmd); err != nil {
		return c.fail(ctx, "set", err, key.kind)
	}
	return nil
}

// doWrite sends a write followed by a PING on the connection that serves the cached reads.
// Redis sends this connection the invalidation caused by the write before the PING's reply,
// and rueidis applies messages in order, so when doWrite returns the local copy is gone: a
// read right after a write in the same process never sees the old value.
func (c *Cache) doWrite(ctx context.Context, cmd rueidis.Completed) error {
	for _, r := range c.client.DoMulti(ctx, cmd, c.client.B().Ping().Build()) {
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
