package ratelimit

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"
)

// maxDebt bounds how far Fail pushes a bucket past its limit: after a burst of failures the
// bucket admits again within maxDebt.
const maxDebt = 15 * time.Minute

// gcra is the count Check and Fail share, on the GCRA's theoretical arrival time (tat, unix
// milliseconds by Redis's clock, so replicas agree). It returns how many milliseconds one more
// request would have to wait (0 or less: it would be admitted now); with a cost it then counts
// one request whether or not the limit admitted it, up to maxDebt ahead.
var gcra = redis.NewScript(`
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local maxdebt = tonumber(ARGV[4])
local t = redis.call("TIME")
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local tat = tonumber(redis.call("GET", KEYS[1]) or now)
if tat < now then tat = now end
local wait = tat + interval - burst - now
if cost > 0 then
  tat = math.min(tat + interval, now + maxdebt)
  redis.call("SET", KEYS[1], string.format("%d", tat), "PX", string.format("%d", tat - now))
end
return wait
`)

// Check says whether one more request in b would be admitted against perMinute, without
// counting it. Together with Fail it limits what goes wrong rather than what is asked: check
// first, count only the requests that failed. When Redis cannot be asked it admits.
func (l *Limiter) Check(ctx context.Context, b Bucket, perMinute int) Decision {
	return l.gcra(ctx, b, perMinute, 0)
}

// Fail counts one failure in b against perMinute. Unlike Allow it counts a failure over the
// limit too (up to maxDebt's worth), so that failures racing past Check in parallel push the
// bucket's refill further out instead of going unrecorded.
func (l *Limiter) Fail(ctx context.Context, b Bucket, perMinute int) {
	l.gcra(ctx, b, perMinute, 1)
}

func (l *Limiter) gcra(ctx context.Context, b Bucket, perMinute, cost int) Decision {
	if perMinute < 1 || time.Now().UnixNano() < l.skipUntil.Load() {
		return Decision{Allowed: true}
	}
	interval := time.Minute.Milliseconds() / int64(perMinute)
	wait, err := gcra.Run(ctx, l.rdb, []string{l.Key(b)},
		interval, interval*int64(perMinute), cost, maxDebt.Milliseconds()).Int64()
	if err != nil {
		l.failed(ctx, err)
		return Decision{Allowed: true}
	}
	if wait <= 0 {
		return Decision{Allowed: true}
	}
	return Decision{RetryAfter: time.Duration(wait) * time.Millisecond}
}

// Reset empties b, as if nothing had been counted in it.
func (l *Limiter) Reset(ctx context.Context, b Bucket) {
	if time.Now().UnixNano() < l.skipUntil.Load() {
		return
	}
	if err := l.rdb.Del(ctx, l.Key(b)).Err(); err != nil {
		l.failed(ctx, err)
	}
}

// Remember marks b for ttl, e.g. an address known to have signed in to an account.
func (l *Limiter) Remember(ctx context.Context, b Bucket, ttl time.Duration) {
	if time.Now().UnixNano() < l.skipUntil.Load() {
		return
	}
	if err := l.rdb.Set(ctx, l.Key(b), "1", ttl).Err(); err != nil {
		l.failed(ctx, err)
	}
}

// Remembered reports whether b is marked by Remember. When Redis cannot be asked it reports
// true, since the limiter admits then anyway.
func (l *Limiter) Remembered(ctx context.Context, b Bucket) bool {
	if time.Now().UnixNano() < l.skipUntil.Load() {
		return true
	}
	n, err := l.rdb.Exists(ctx, l.Key(b)).Result()
	if err != nil {
		l.failed(ctx, err)
		return true
	}
	return n > 0
}

// EmailIP is the bucket of an email address named by one client address within scope; the
// address is hashed as in Email.
func EmailIP(scope, email, ip string) Bucket {
	b := Email(scope, email)
	b.Subject += ":ip:" + ip
	return b
}
