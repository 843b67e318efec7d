package cache

import (
	"errors"
	"fmt"
	"time"
)

// Config tunes a Cache. Zero fields take the default named on each; DefaultConfig returns a
// Config with every default filled in.
type Config struct {
	// Namespace prefixes every key this cache writes, so that Clear and tests can tell cache
	// entries from the other data in the same Redis (the email queue). Default "oes:cache".
	Namespace string
	// DefaultTTL is used for KindOther and for any kind without its own TTL. Default 1h.
	DefaultTTL time.Duration
	// TTL holds the default TTL of each kind; a kind that is missing or zero uses DefaultTTL.
	// A nil map means the defaults of DefaultConfig.
	TTL map[Kind]time.Duration
	// NotFoundTTL is how long GetOrSet remembers that a loader reported "not found". Default 5s.
	NotFoundTTL time.Duration
	// LocalCacheBytes bounds the in-process copy of Redis entries, in bytes. On a single Redis
	// or a Sentinel's master it bounds the whole Cache, which has one connection. On a Cluster
	// rueidis keeps one connection, and one local cache, per node, and each gets this bound:
	// the process may hold up to LocalCacheBytes times the number of masters. Dividing it
	// instead would need the node count, which is unknown until the Cluster answers and
	// changes when it is resharded; since keys hash evenly over the slots, set it to the
	// memory budget divided by the number of masters. Default 64 MiB.
	LocalCacheBytes int64
	// ErrorLogInterval is the shortest time between two log lines about Redis errors; the
	// errors in between are only counted. Default 30s.
	ErrorLogInterval time.Duration
}

// DefaultConfig returns the recommended settings: static data (exams, questions) 4h, profiles
// 1h, results 2h, lists 30m.
func DefaultConfig() Config {
	return Config{
		Namespace:  "oes:cache",
		DefaultTTL: time.Hour,
		TTL: map[Kind]time.Duration{
			KindExam:          4 * time.Hour,
			KindExamQuestions: 4 * time.Hour,
			KindQuestion:      4 * time.Hour,
			KindUserProfile:   time.Hour,
			KindExamResult:    2 * time.Hour,
			KindUserExams:     30 * time.Minute,
			KindAllExams:      30 * time.Minute,
		},
		NotFoundTTL:      5 * time.Second,
		LocalCacheBytes:  64 << 20,
		ErrorLogInterval: 30 * time.Second,
	}
}

// normalize fills zero fields with defaults and refuses values that cannot work.
func (c Config) normalize() (Config, error) {
	def := DefaultConfig()
	if c.Namespace == "" {
		c.Namespace = def.Namespace
	}
	if c.DefaultTTL == 0 {
		c.DefaultTTL = def.DefaultTTL
	}
	if c.TTL == nil {
		c.TTL = def.TTL
	}
	if c.NotFoundTTL == 0 {
		c.NotFoundTTL = def.NotFoundTTL
	}
	if c.LocalCacheBytes == 0 {
		c.LocalCacheBytes = def.LocalCacheBytes
	}
	if c.ErrorLogInterval == 0 {
		c.ErrorLogInterval = def.ErrorLogInterval
	}

	var errs []error
	if c.DefaultTTL < time.Millisecond {
		errs = append(errs, fmt.Errorf("DefaultTTL %v is below 1ms", c.DefaultTTL))
	}
	if c.NotFoundTTL < time.Millisecond {
		errs = append(errs, fmt.Errorf("NotFoundTTL %v is below 1ms", c.NotFoundTTL))
	}
	if c.LocalCacheBytes < 0 {
		errs = append(errs, fmt.Errorf("LocalCacheBytes %d is negative", c.LocalCacheBytes))
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
