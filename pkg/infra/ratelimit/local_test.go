package ratelimit_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/infra/ratelimit"
	"github.com/oeshq/oes/pkg/testkit/redistest"
)

// syncEvery is the tests' sync interval: short, so that a test waits little for replicas to
// share their counts.
const syncEvery = 20 * time.Millisecond

func newLocal(t *testing.T, url, prefix string) *ratelimit.Local {
	t.Helper()
	remote, err := ratelimit.New(url, prefix, nil)
	require.NoError(t, err)
	l := ratelimit.NewLocal(remote, syncEvery)
	t.Cleanup(func() { l.Close(); _ = remote.Close() })
	return l
}

func TestLocalIsExactOnOneReplica(t *testing.T) {
	t.Parallel()
	l := newLocal(t, redistest.URL(t), redistest.Namespace(t))
	ctx := context.Background()
	a := ratelimit.IP("api", "192.0.2.1")
	for i := range 5 {
		require.True(t, l.Allow(ctx, a, 5).Allowed, "request %d", i+1)
	}
	d := l.Allow(ctx, a, 5)
	require.False(t, d.Allowed)
	require.Greater(t, d.RetryAfter, time.Duration(0))
	require.LessOrEqual(t, d.RetryAfter, 2*time.Minute)
	require.True(t, l.Allow(ctx, ratelimit.IP("api", "192.0.2.2"), 5).Allowed, "another bucket has its own count")
	require.True(t, l.Allow(ctx, ratelimit.User("api", 1), 5).Allowed)
	require.True(t, l.Allow(ctx, a, 0).Allowed, "a limit below 1 is none")
}

// Two replicas share one count once they have synced: what A admitted, B refuses.
func TestLocalReplicasShareTheirCounts(t *testing.T) {
	t.Parallel()
	url, prefix := redistest.URL(t), redistest.Namespace(t)
	a, b := newLocal(t, url, prefix), newLocal(t, url, prefix)
	ctx := context.Background()
	bucket := ratelimit.User("api", 42)
	for range 100 {
		require.True(t, a.Allow(ctx, bucket, 100).Allowed)
	}
	require.False(t, a.Allow(ctx, bucket, 100).Allowed)
	// Within two sync intervals (A's push, then B's read) B knows; until then it admits what
	// the documented bound allows: the other replica's admissions of one interval.
	admittedByB := 0
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if !b.Allow(ctx, bucket, 100).Allowed {
			break
		}
		admittedByB++
		time.Sleep(time.Millisecond)
	}
	t.Logf("B admitted %d after A had admitted the limit (100)", admittedByB)
	require.False(t, b.Allow(ctx, bucket, 100).Allowed, "B refuses once it has synced")
	require.LessOrEqual(t, admittedByB, 100, "at most one replica's limit over")
	require.True(t, b.Allow(ctx, ratelimit.User("api", 43), 100).Allowed, "another account is not affected")
}

// Without Redis each replica limits alone, and an outage holds no request.
func TestLocalLimitsAloneWithoutRedis(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	l := newLocal(t, srv.URL(), redistest.Namespace(t))
	srv.Stop()
	ctx := context.Background()
	bucket := ratelimit.IP("api", "192.0.2.1")
	start := time.Now()
	for range 3 {
		require.True(t, l.Allow(ctx, bucket, 3).Allowed)
	}
	time.Sleep(5 * syncEvery) // syncs fail meanwhile
	require.False(t, l.Allow(ctx, bucket, 3).Allowed, "the replica's own count stands")
	require.Less(t, time.Since(start), 2*time.Second)
}

// The counts in Redis are the sum of every replica's admissions, in keys that expire.
func TestLocalCountsReachRedis(t *testing.T) {
	t.Parallel()
	url, prefix := redistest.URL(t), redistest.Namespace(t)
	a, b := newLocal(t, url, prefix), newLocal(t, url, prefix)
	ctx := context.Background()
	bucket := ratelimit.IP("api", "198.51.100.7")
	for range 7 {
		a.Allow(ctx, bucket, 1000)
	}
	for range 5 {
		b.Allow(ctx, bucket, 1000)
	}
	a.Close()
	b.Close()
	opt, err := redis.ParseURL(url)
	require.NoError(t, err)
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	keys, err := rdb.Keys(ctx, prefix+":api:ip:198.51.100.7:*").Result()
	require.NoError(t, err)
	require.Len(t, keys, 1, "one window")
	n, err := rdb.Get(ctx, keys[0]).Int()
	require.NoError(t, err)
	require.Equal(t, 12, n)
	ttl, err := rdb.PTTL(ctx, keys[0]).Result()
	require.NoError(t, err)
	require.Greater(t, ttl, time.Minute)
	require.LessOrEqual(t, ttl, 3*time.Minute)
}
