package cache_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/infra/cache"
)

func TestSetWithZeroTTLUsesKindDefault(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{config: func(c *cache.Config) {
		c.DefaultTTL = 10 * time.Minute
		c.TTL[cache.KindUserProfile] = 0 // zero falls back to DefaultTTL
	}})
	ctx := context.Background()

	for key, want := range map[cache.Key]time.Duration{
		cache.Exam(1):          4 * time.Hour,
		cache.ExamQuestions(1): 4 * time.Hour,
		cache.Question(1):      4 * time.Hour,
		cache.ExamResult(1):    2 * time.Hour,
		cache.UserExams(1):     30 * time.Minute,
		cache.AllExams:         30 * time.Minute,
		cache.UserProfile(1):   10 * time.Minute,
		cache.Named("x"):       10 * time.Minute,
	} {
		require.NoError(t, b.cache.Set(ctx, key, []byte("v"), 0))
		pttl, err := b.raw.Do(ctx, b.raw.B().Pttl().Key(b.redisKey(t, key)).Build()).AsInt64()
		require.NoError(t, err)
		got := time.Duration(pttl) * time.Millisecond
		require.LessOrEqual(t, got, want, key.String())
		require.Greater(t, got, want-2*time.Second, key.String())
	}
}

func TestSetWithTTLOverridesKindDefault(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	ctx := context.Background()

	require.NoError(t, b.cache.Set(ctx, cache.Exam(1), []byte("v"), 90*time.Second))
	pttl, err := b.raw.Do(ctx, b.raw.B().Pttl().Key(b.redisKey(t, cache.Exam(1))).Build()).AsInt64()
	require.NoError(t, err)
	require.InDelta(t, 90_000, pttl, 2_000)
	require.Error(t, b.cache.Set(ctx, cache.Exam(1), []byte("v"), -time.Second))
}

func TestShortTTLExpiresInRedisAndLocally(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	ctx := context.Background()
	const ttl = 300 * time.Millisecond

	require.NoError(t, b.cache.Set(ctx, cache.Exam(1), []byte("v"), ttl))
	written := time.Now()
	rk := b.redisKey(t, cache.Exam(1))
	for range 2 {
		_, ok, err := b.cache.Get(ctx, cache.Exam(1))
		require.NoError(t, err)
		require.True(t, ok)
	}
	require.Equal(t, uint64(1), stats(b.cache, cache.KindExam).LocalHits, "the entry is held locally")

	time.Sleep(ttl - time.Since(written) + 50*time.Millisecond)
	_, ok, err := b.cache.Get(ctx, cache.Exam(1))
	require.NoError(t, err)
	require.False(t, ok, "the local copy must not outlive the Redis TTL")
	n, err := b.raw.Do(ctx, b.raw.B().Exists().Key(rk).Build()).AsInt64()
	require.NoError(t, err)
	require.Zero(t, n, "the entry expired in Redis")
}

func TestLocalCacheIsBoundedByLocalCacheBytes(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{config: func(c *cache.Config) { c.LocalCacheBytes = 64 << 10 }})
	ctx := context.Background()
	const entries, size = 100, 4 << 10 // 400 KiB in all, far above the bound

	value := make([]byte, size)
	for i := range entries {
		require.NoError(t, b.cache.Set(ctx, cache.Question(int64(i)), value, 0))
		_, ok, err := b.cache.Get(ctx, cache.Question(int64(i)))
		require.NoError(t, err)
		require.True(t, ok)
	}
	before := stats(b.cache, cache.KindQuestion)
	for i := entries - 1; i >= 0; i-- { // newest first: the local cache drops the oldest
		_, ok, err := b.cache.Get(ctx, cache.Question(int64(i)))
		require.NoError(t, err)
		require.True(t, ok)
	}
	after := stats(b.cache, cache.KindQuestion)
	local := after.LocalHits - before.LocalHits
	require.Greater(t, local, uint64(0), "recent entries stay local")
	require.LessOrEqual(t, local*size, uint64(64<<10), "no more than LocalCacheBytes is held locally")
	require.Equal(t, uint64(entries), local+after.RemoteHits-before.RemoteHits)
}
