package ratelimit

import (
	"context"
	"hash/maphash"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Local decides per-minute limits in process, with no network round trip on the request's
// path, and shares its counts with the other replicas through Redis in the background. It is
// meant for the generous limits every request passes (per client IP, per account); the account
// endpoints keep Limiter's exact shared counts.
//
// # How it counts
//
// Each bucket counts in fixed one-minute windows and admits while the sliding estimate
//
//	previous window's count × (share of the current minute still to come) + current count
//
// stays under the limit (the estimate smooths the burst a fixed window allows at its edge).
// The counts are the replicas' total as last read from Redis plus what this replica admitted
// since. Every sync interval one pipeline adds each active bucket's new admissions to its
// window's key (INCRBY and PEXPIRE) and reads back the total of every replica.
//
// # How far over a limit
//
// A replica does not see what the others admitted since their last sync. A client whose
// requests reach N replicas can therefore get, within a minute, the limit plus what the other
// N-1 replicas admit to it in one sync interval: at a steady rate r spread over the replicas,
// at most r × interval over; from an idle bucket, a burst sent to all N replicas within one
// interval at most N × the limit. One sync later every replica knows the total and refuses.
// On one replica the limit is exact.
//
// # When Redis is down
//
// Each replica keeps counting its own requests and limits alone (a client can get N × the
// limit); the counts merge again once Redis answers.
//
// # Memory
//
// A bucket takes about 150 bytes and is dropped two minutes after its last request; past
// maxBuckets live buckets, new subjects are decided by Limiter's shared count in Redis.
type Local struct {
	remote   *Limiter
	interval time.Duration
	seed     maphash.Seed
	shards   [shardCount]shard

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

const (
	shardCount = 64
	// maxBuckets bounds the live buckets (about 20 MB).
	maxBuckets = 1 << 17
	window     = time.Minute
	// keyTTL keeps a window's count while the next window reads it as its previous one.
	keyTTL = 2*window + 10*time.Second
	// maxPipeline bounds the commands of one round trip.
	maxPipeline = 1000
)

type shard struct {
	mu      sync.Mutex
	buckets map[Bucket]*localBucket
}

// localBucket is one subject's count in the current window. All fields are guarded by its
// shard's mutex.
type localBucket struct {
	limit    int
	window   int64 // index of the current window (unix time / window)
	prev     int64 // every replica's count in the previous window, as last known
	global   int64 // every replica's count in the current window, as last read from Redis
	pending  int64 // admitted here in the current window since the last sync
	inFlight int64 // admitted here, being added to Redis by a sync
	lastUsed int64 // unix nanoseconds
}

// NewLocal returns a Local sharing its counts through remote's Redis every interval. The
// caller must Close it; remote stays the caller's.
func NewLocal(remote *Limiter, interval time.Duration) *Local {
	l := &Local{
		remote: remote, interval: interval, seed: maphash.MakeSeed(),
		stop: make(chan struct{}), done: make(chan struct{}),
	}
	for i := range l.shards {
		l.shards[i].buckets = make(map[Bucket]*localBucket)
	}
	go l.run()
	return l
}

// Close stops the background sync, after a last one. Later calls do nothing.
func (l *Local) Close() {
	l.closeOnce.Do(func() { close(l.stop) })
	<-l.done
}

// Allow counts one request in b against perMinute and says whether it is admitted. It asks
// Redis only when the process already holds maxBuckets buckets. A limit below 1 is no limit.
func (l *Local) Allow(ctx context.Context, b Bucket, perMinute int) Decision {
	if perMinute < 1 {
		return Decision{Allowed: true}
	}
	now := time.Now().UnixNano()
	s := &l.shards[maphash.String(l.seed, b.Subject)%shardCount]
	s.mu.Lock()
	lb := s.buckets[b]
	if lb == nil {
		if len(s.buckets) >= maxBuckets/shardCount {
			s.mu.Unlock()
			return l.remote.Allow(ctx, b, perMinute)
		}
		lb = &localBucket{window: now / int64(window)}
		s.buckets[b] = lb
	}
	lb.limit = perMinute
	lb.lastUsed = now
	lb.roll(now)
	wait := lb.wait(now)
	if wait <= 0 {
		lb.pending++
	}
	s.mu.Unlock()
	if wait > 0 {
		return Decision{RetryAfter: wait}
	}
	return Decision{Allowed: true}
}

// roll moves the bucket to the window of now.
func (lb *localBucket) roll(now int64) {
	w := now / int64(window)
	if w == lb.window {
		return
	}
	if w == lb.window+1 {
		lb.prev = lb.global + lb.pending + lb.inFlight
	} else {
		lb.prev = 0
	}
	lb.window, lb.global, lb.pending = w, 0, 0
	// inFlight stays: it belongs to the old window and is taken off when its sync returns.
}

// current is the bucket's count in the current window.
func (lb *localBucket) current() int64 { return lb.global + lb.pending + lb.inFlight }

// wait returns how long until one more request fits under the limit: 0 or less when it fits
// now.
func (lb *localBucket) wait(now int64) time.Duration {
	limit := float64(lb.limit)
	elapsed := now - lb.window*int64(window)
	rest := 1 - float64(elapsed)/float64(window) // share of the window still to come
	cur := float64(lb.current())
	if float64(lb.prev)*rest+cur+1 <= limit {
		return 0
	}
	if cur+1 > limit {
		// Full until this window ends; in the next one cur slides out, and one more fits
		// once cur × rest' + 1 ≤ limit.
		until := time.Duration(int64(window)-elapsed) + time.Duration(float64(window)*(1-(limit-1)/cur))
		return max(until, time.Millisecond)
	}
	// It fits once prev × rest' + cur + 1 ≤ limit, later in this window.
	restFits := (limit - cur - 1) / float64(lb.prev)
	return max(time.Duration((rest-restFits)*float64(window)), time.Millisecond)
}

// run syncs every interval until Close.
func (l *Local) run() {
	defer close(l.done)
	t := time.NewTicker(l.interval)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			l.sync()
			return
		case <-t.C:
			l.sync()
		}
	}
}

// pushed is one bucket's admissions added to Redis by a sync.
type pushed struct {
	b      Bucket
	lb     *localBucket
	window int64
	n      int64
}

// sync adds every bucket's admissions since the last sync to Redis and reads back the totals;
// it drops the buckets idle for two windows.
func (l *Local) sync() {
	now := time.Now().UnixNano()
	var batch []pushed
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		for b, lb := range s.buckets {
			lb.roll(now)
			if lb.pending == 0 {
				if lb.inFlight == 0 && now-lb.lastUsed > int64(2*window) {
					delete(s.buckets, b)
				}
				continue
			}
			batch = append(batch, pushed{b: b, lb: lb, window: lb.window, n: lb.pending})
			lb.inFlight += lb.pending
			lb.pending = 0
		}
		s.mu.Unlock()
	}
	for len(batch) > 0 {
		n := min(len(batch), maxPipeline/2)
		l.push(batch[:n])
		batch = batch[n:]
	}
}

// push adds one batch to Redis in one round trip and records the totals it reads back. When
// Redis cannot be reached the admissions stay counted here only.
//
//nolint:contextcheck // A sync runs on the limiter's own goroutine, for all requests alike, with its own deadline.
func (l *Local) push(batch []pushed) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	r := l.remote
	pipe := r.rdb.Pipeline()
	totals := make([]*redis.IntCmd, len(batch))
	for i, p := range batch {
		key := r.key(p.b) + ":" + strconv.FormatInt(p.window, 10)
		totals[i] = pipe.IncrBy(ctx, key, p.n)
		pipe.PExpire(ctx, key, keyTTL)
	}
	_, err := pipe.Exec(ctx)
	if err != nil {
		r.failed(context.Background(), err)
	}
	for i, p := range batch {
		s := &l.shards[maphash.String(l.seed, p.b.Subject)%shardCount]
		s.mu.Lock()
		lb := p.lb
		lb.inFlight -= p.n
		total := p.n // Redis unreachable: only this replica's own count is known
		if err == nil {
			total = totals[i].Val()
		}
		switch lb.window {
		case p.window:
			lb.global = max(lb.global+p.n, total)
		case p.window + 1:
			lb.prev = max(lb.prev, total)
		}
		s.mu.Unlock()
	}
}
