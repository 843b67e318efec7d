package cache

import (
	"errors"
	"fmt"
	"time"
)

// Config tunes a Cache. The api's environment (pkg/config's Cache piece) produces it with every
// field set; a program that builds one itself sets Namespace, DefaultTTL, NotFoundTTL and
// LocalCacheBytes, which have no default here.
type Config struct {
	// Namespace prefixes every key this cache writes, so that Clear and tests can tell cache
	// entries from the other data in the same Redis (the email queue).
	Namespace string
	// DefaultTTL is used for KindOther and for any kind without its own TTL.
	DefaultTTL time.Duration
	// TTL holds the TTL of each kind; a kind that is missing or zero uses DefaultTTL.
	TTL map[Kind]time.Duration
	// NotFoundTTL is how long GetOrSet remembers that a loader reported "not found".
	NotFoundTTL time.Duration
	// LocalCacheBytes bounds the in-process copy of Redis entries, in bytes. On a single Redis
	// or a Sentinel's master it bounds the whole Cache, which has one connection. On a Cluster
	// rueidis keeps one connection, and one local cache, per node, and each gets this bound:
	// the process may hold up to LocalCacheBytes times the number of masters. Dividing it
	// instead would need the node count, which is unknown until the Cluster answers and
	// changes when it is resharded; since keys hash evenly over the slots, set it to the
	// memory budget divided by the number of masters.
	LocalCacheBytes int64
	// ErrorLogInterval is the shortest time between two log lines about Redis errors; the
	// errors in between are only counted. Zero means 30s.
	ErrorLogInterval time.Duration
}

// defaultErrorLogInterval is ErrorLogInterval's value when it is zero.
const defaultErrorLogInterval = 30 * time.Second

// normalize fills the zero fields that have a default and refuses values that cannot work.
func (c Config) normalize() (Config, error) {
	if c.ErrorLogInterval == 0 {
		c.ErrorLogInterval = defaultErrorLogInterval
	}

	var errs []error
	if c.Namespace == "" {
		errs = append(errs, errors.New("namespace is empty"))
	}
	if c.DefaultTTL < time.Millisecond {
		errs = append(errs, fmt.Errorf("DefaultTTL %v is below 1ms", c.DefaultTTL))
	}
	if c.NotFoundTTL < time.Millisecond {
		errs = append(errs, fmt.Errorf("NotFoundTTL %v is below 1ms", c.NotFoundTTL))
	}
	if c.LocalCacheBytes < 1 {
		errs = append(errs, fmt.Errorf("LocalCacheBytes %d is below 1", c.LocalCacheBytes))
	}
	if c.ErrorLogInterval < 0 {
		errs = append(errs, fmt.Errorf("ErrorLogInterval %v is negative", c.ErrorLogInterval))
	}
	for k, ttl := range c.TTL {
		if !k.valid() {
			errs = append(errs, fmt.Errorf("TTL names an unknown kind %v", k))
		} else if ttl < 0 || (ttl > 0 && ttl < time.Millisecond) {
			errs = append(errs, fmt.Errorf("TTL of %v is %v; want 0 (use DefaultTTL) or at least 1ms", k, ttl))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return c, fmt.Errorf("cache: invalid config: %w", err)
	}
	return c, nil
}

// ttlTable resolves the default TTL of every kind once, so a write does not look up a map.
func (c Config) ttlTable() [kindCount]time.Duration {
	var t [kindCount]time.Duration
	for _, k := range allKinds() {
		t[k] = c.DefaultTTL
		if ttl := c.TTL[k]; ttl > 0 {
			t[k] = ttl
		}
	}
	return t
}

// Validate reports whether the Config can be used.
func (c Config) Validate() error {
	_, err := c.normalize()
	return err
}
