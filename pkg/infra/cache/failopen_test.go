package cache_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/infra/cache"
	"github.com/oeshq/oes/pkg/testkit/redistest"
)

// recoveryBound is how long the cache may take to use Redis again once it is back: the
// reconnection backoff after a short outage stays well below it.
const recoveryBound = 10 * time.Second

func TestFailOpenWhileRedisIsDownAndRecoveryAfter(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	b := setup(t, setupOpts{url: srv.URL(), config: func(c *cache.Config) { c.ErrorLogInterval = time.Hour }})
	ctx := context.Background()
	key := cache.Exam(1)
	l := &loader{value: []byte("from db")}

	_, err := b.cache.GetOrSet(ctx, key, 0, l.load)
	require.NoError(t, err)
	require.True(t, b.cache.Available())
	require.NoError(t, b.cache.Ping(ctx))

	srv.Stop()
	getOrSet := func() {
		t.Helper()
		began := time.Now()
		v, err := b.cache.GetOrSet(ctx, key, 0, l.load)
		require.NoError(t, err, "GetOrSet fails open")
		require.Equal(t, "from db", string(v))
		require.Less(t, time.Since(began), 2*time.Second, "a dead Redis must not hold the request")
	}
	eventually(t, 5*time.Second, "the outage is noticed", func() bool {
		getOrSet()
		return stats(b.cache, cache.KindExam).Errors > 0
	})
	callsBefore := l.calls.Load()
	for range 50 {
		getOrSet()
	}
	require.Equal(t, callsBefore+50, l.calls.Load(), "every request is answered by the loader")
	require.False(t, b.cache.Available())
	require.Error(t, b.cache.Ping(ctx))
	require.Greater(t, stats(b.cache, cache.KindExam).Errors, uint64(50), "every failure is counted")

	_, ok, err := b.cache.Get(ctx, key)
	require.Error(t, err, "Get reports the failure")
	require.False(t, ok, "as a miss")
	require.Error(t, b.cache.Set(ctx, key, []byte("x"), 0))
	require.Error(t, b.cache.Delete(ctx, key))
	require.Error(t, b.cache.Clear(ctx))

	time.Sleep(500 * time.Millisecond) // give background reconnection attempts time to fail too
	require.Len(t, b.log.Lines(""), 1, "one log line per ErrorLogInterval, however many errors:\n%v", b.log.Lines(""))
	require.Len(t, b.log.Lines("level=WARN"), 1)

	srv.Start()
	eventually(t, recoveryBound, "the cache uses Redis again", func() bool {
		if _, err := b.cache.GetOrSet(ctx, key, 0, l.load); err != nil {
			return false
		}
		_, ok, _ := b.cache.Get(ctx, key)
		return ok
	})
	require.True(t, b.cache.Available())
	require.NoError(t, b.cache.Ping(ctx))
	calls := l.calls.Load()
	for range 5 {
		_, err := b.cache.GetOrSet(ctx, key, 0, l.load)
		require.NoError(t, err)
	}
	require.Equal(t, calls, l.calls.Load(), "hits again, no loads")
	require.Len(t, b.log.Lines("level=INFO"), 1, "the recovery is logged")
}

func TestNewWhileRedisIsDownStartsCachingWhenItIsUp(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	srv.Stop()

	began := time.Now()
	b := setup(t, setupOpts{url: srv.URL()})
	require.Less(t, time.Since(began), 3*time.Second, "New does not wait for Redis")
	ctx := context.Background()
	require.False(t, b.cache.Available())

	_, ok, err := b.cache.Get(ctx, cache.Exam(1))
	require.Error(t, err)
	require.False(t, ok)
	v, err := b.cache.GetOrSet(ctx, cache.Exam(1), 0, func(context.Context) ([]byte, error) { return []byte("db"), nil })
	require.NoError(t, err)
	require.Equal(t, "db", string(v))
	require.NotZero(t, stats(b.cache, cache.KindExam).Errors)

	srv.Start()
	eventually(t, recoveryBound, "the cache connects by itself", b.cache.Available)
	require.NoError(t, b.cache.Set(ctx, cache.Exam(1), []byte("cached"), 0))
	for range 2 {
		v, ok, err := b.cache.Get(ctx, cache.Exam(1))
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, "cached", string(v))
	}
	require.Equal(t, uint64(1), stats(b.cache, cache.KindExam).LocalHits)
}
