package cache

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/redis/rueidis"
)

// Reconnection probes start minBackoff after a failure and back off to maxBackoff.
const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = 5 * time.Second
)

// errCorrupt marks an entry this cache cannot decode: an error of the data, not of Redis.
var errCorrupt = errors.New("corrupt entry")

// fail accounts for a failed call about entries of the given kinds and returns the error for
// the caller: it counts the error once per kind, logs it (at most once per ErrorLogInterval)
// and, when the connection is at fault, stops using Redis until a probe reaches it again.
// A call abandoned by its caller's context, or made after Close, is not counted.
func (c *Cache) fail(ctx context.Context, op string, err error, kinds ...Kind) error {
	wrapped := fmt.Errorf("cache: %s: %w", op, err)
	if op != "get" && !errors.Is(err, errClosed) {
		// A write that may not have reached Redis (a failed invalidation above all, even one
		// its caller gave up on) leaves entries there that the data has moved past: they
		// must not be read again. The Cache stops using Redis and, before it uses it again,
		// moves to a new generation.
		c.stale.Store(true)
		c.trip()
	}
	if errors.Is(err, errClosed) || (ctx.Err() != nil && errors.Is(err, ctx.Err())) {
		return wrapped
	}
	for _, k := range kinds {
		c.counters[k].errors.Add(1)
	}
	if isConnError(err) {
		c.trip()
	}
	c.logError(op, err)
	return wrapped
}

// isConnError reports whether err says the connection, rather than the command or the data,
// failed. Redis's own error replies (WRONGTYPE, OOM...) come over a working connection.
func isConnError(err error) bool {
	var rerr *rueidis.RedisError
	return !errors.Is(err, ErrUnavailable) && !errors.Is(err, errCorrupt) && !errors.As(err, &rerr)
}

// logError writes one warning per ErrorLogInterval; the errors in between are only counted,
// and the next line reports how many there were.
func (c *Cache) logError(op string, err error) {
	now := time.Now().UnixNano()
	last := c.lastLog.Load()
	if (last != 0 && now-last < int64(c.cfg.ErrorLogInterval)) || !c.lastLog.CompareAndSwap(last, now) {
		c.suppressed.Add(1)
		return
	}
	c.log.Warn("cache: redis failed; serving without cache",
		"op", op, "err", err, "suppressed_since_last_log", c.suppressed.Swap(0))
}

// trip stops using Redis and starts probing it, unless that is already under way.
func (c *Cache) trip() {
	if c.up.CompareAndSwap(true, false) {
		c.startReconnect()
	}
}

func (c *Cache) startReconnect() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed.Load() {
		return
	}
	c.loops.Add(1)
	go c.reconnect()
}

// reconnect probes Redis with PING, backing off exponentially, until it answers or the Cache
// is closed; a Sentinel or Cluster client that could not be built yet is built first. The
// PING also re-establishes the connection, so the first call after recovery does not pay for
// the dial.
//
//nolint:contextcheck // The loop outlives the call that tripped it and ends with the Cache; each probe has its own deadline.
func (c *Cache) reconnect() {
	defer c.loops.Done()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for delay := minBackoff; ; delay = min(2*delay, maxBackoff) {
		timer.Reset(delay + rand.N(delay/4))
		select {
		case <-c.done:
			return
		case <-timer.C:
		}
		err := c.connect()
		if err == nil {
			client := c.redis()
			ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
			err = client.Do(ctx, client.B().Ping().Build()).Error()
			cancel()
		}
		if err == nil && c.stale.Load() {
			// Writes failed while Redis was out of reach: what it holds may be stale. A new
			// generation makes every process read afresh from the store.
			ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
			err = c.newGeneration(ctx)
			cancel()
			if err == nil {
				c.stale.Store(false)
				c.log.Warn("cache: writes failed while redis was unreachable; moved to a new generation, entries are read afresh")
			}
		}
		if err != nil {
			c.logError("reconnect", err)
			continue
		}
		c.mu.Lock()
		if !c.closed.Load() {
			c.up.Store(true)
			c.log.Info("cache: redis reachable; caching again")
		}
		c.mu.Unlock()
		return
	}
}
