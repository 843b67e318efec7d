// Package ratelimit counts requests against per-minute limits kept in Redis, so that every api
// replica shares one count per client. It uses GCRA (github.com/go-redis/redis_rate): a limit of
// n per minute admits a burst of n, then one request every minute/n.
//
// # Keys
//
// A bucket lives at
//
//	rate:<prefix>:<scope>:<subject>     e.g. rate:oes:ratelimit:login:ip:192.0.2.1
//
// ("rate:" is the library's own), outside the cache's namespace, so clearing the cache resets
// no limit. A bucket expires once it is full again, at most a minute after its last request.
// Subjects that are personal data (email addresses) are hashed before they become key names.
//
// Allow counts every request. Check and Fail count only the requests that failed (wrong
// passwords): Check asks before the work, Fail counts after it, over the limit too.
//
// # When Redis is down
//
// The limiter fails open: a request is admitted when its count cannot be read. After a
// failure the limiter admits without asking Redis for failureBackoff, so an outage costs
// requests no timeouts, and logs at most once per logInterval.
package ratelimit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"

	"github.com/oeshq/oes/pkg/infra/redisurl"
)

const (
	// Redis timeouts short enough that a silent Redis delays a request by little.
	dialTimeout = 500 * time.Millisecond
	ioTimeout   = 250 * time.Millisecond

	failureBackoff = time.Second
	logInterval    = 30 * time.Second
)

// Limiter admits or refuses requests. It is safe for concurrent use.
type Limiter struct {
	rdb    redis.UniversalClient
	rate   *redis_rate.Limiter
	prefix string
	log    *slog.Logger

	skipUntil atomic.Int64 // unix nanoseconds; no Redis calls before then
	lastLog   atomic.Int64
}

// New returns a Limiter keeping its counts in the Redis at redisURL under prefix: a redis://,
// rediss:// or unix:// URL, or a redis-sentinel:// or redis-cluster:// one (see
// pkg/infra/redisurl); a count is one key, so any topology serves. It does not dial. log may be nil.
// The caller must Close it. The error never repeats the URL.
func New(redisURL, prefix string, log *slog.Logger) (*Limiter, error) {
	if prefix == "" {
		return nil, errors.New("ratelimit: empty key prefix")
	}
	rdb, err := open(redisURL)
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Limiter{rdb: rdb, rate: redis_rate.NewLimiter(rdb), prefix: prefix, log: log}, nil
}

// open returns a client of redisURL whose calls fail fast: a retry would only hold the
// request, which is admitted instead.
func open(redisURL string) (redis.UniversalClient, error) {
	u, err := redisurl.Parse("ratelimit: Redis URL", redisURL)
	if err != nil {
		return nil, err
	}
	return u.NewGoRedis(redisurl.GoRedisOptions{
		ClientName:  "oes-ratelimit",
		DialTimeout: dialTimeout, ReadTimeout: ioTimeout, WriteTimeout: ioTimeout,
		MaxRetries: -1,
	})
}

// Close closes the connections to Redis.
func (l *Limiter) Close() error { return l.rdb.Close() }

// Bucket names one count: what is limited (scope, e.g. "login") and for whom (subject).
type Bucket struct {
	Scope   string
	Subject string
}

// IP is the bucket of a client address within scope.
func IP(scope, ip string) Bucket { return Bucket{Scope: scope, Subject: "ip:" + ip} }

// User is the bucket of a signed-in account within scope.
func User(scope string, userID int64) Bucket {
	return Bucket{Scope: scope, Subject: "user:" + strconv.FormatInt(userID, 10)}
}

// Email is the bucket of an email address within scope, whatever the client; addresses that
// differ only in case and surrounding spaces share it. The address is hashed.
func Email(scope, email string) Bucket {
	sum := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(email))))
	return Bucket{Scope: scope, Subject: "email:" + hex.EncodeToString(sum[:16])}
}

// Decision is the outcome of Allow.
type Decision struct {
	Allowed bool
	// RetryAfter is how long a refused client should wait; 0 when allowed.
	RetryAfter time.Duration
}

// Allow counts one request in b against perMinute and says whether it is admitted. When Redis
// cannot be asked the request is admitted (fail open) and the failure logged, rate-limited. A
// limit below 1 is no limit. A bucket is counted either by Allow or by Check and Fail, never both.
func (l *Limiter) Allow(ctx context.Context, b Bucket, perMinute int) Decision {
	if perMinute < 1 || time.Now().UnixNano() < l.skipUntil.Load() {
		return Decision{Allowed: true}
	}
	res, err := l.rate.Allow(ctx, l.key(b), redis_rate.PerMinute(perMinute))
	if err != nil {
		l.failed(ctx, err)
		return Decision{Allowed: true}
	}
	if res.Allowed > 0 {
		return Decision{Allowed: true}
	}
	return Decision{RetryAfter: max(res.RetryAfter, 0)}
}

// Key returns the Redis key of b as the library stores it, for tests and operators.
func (l *Limiter) Key(b Bucket) string { return "rate:" + l.key(b) }

func (l *Limiter) key(b Bucket) string { return l.prefix + ":" + b.Scope + ":" + b.Subject }

func (l *Limiter) failed(ctx context.Context, err error) {
	if ctx.Err() != nil {
		return // the caller went away; Redis may be fine
	}
	now := time.Now()
	l.skipUntil.Store(now.Add(failureBackoff).UnixNano())
	last := l.lastLog.Load()
	if now.UnixNano()-last >= int64(logInterval) && l.lastLog.CompareAndSwap(last, now.UnixNano()) {
		l.log.WarnContext(ctx, "rate limiter cannot reach redis; admitting requests unlimited", "err", err)
	}
}
