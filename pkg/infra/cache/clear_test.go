package cache_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/infra/cache"
	"github.com/oeshq/oes/pkg/testkit/redistest"
)

func TestClearMakesEveryClientMissAndKeepsOtherKeys(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	other := b.open(t)
	ctx := context.Background()

	// Keys the cache must not touch: another namespace, and a queue key.
	outside := redistest.Namespace(t) + ":kept"
	queue := "asynq:{default}:t:" + redistest.Namespace(t)
	for _, k := range []string{outside, queue} {
		require.NoError(t, b.raw.Do(ctx, b.raw.B().Set().Key(k).Value("keep").Build()).Error())
		t.Cleanup(func() { b.raw.Do(context.Background(), b.raw.B().Del().Key(k).Build()) })
	}

	keys := []cache.Key{cache.Exam(1), cache.AllExams, cache.Named("x")}
	for _, k := range keys {
		require.NoError(t, b.cache.Set(ctx, k, []byte("v"), 0))
		for _, c := range []*cache.Cache{b.cache, other} {
			for range 2 { // the second read is local
				_, ok, err := c.Get(ctx, k)
				require.NoError(t, err)
				require.True(t, ok)
			}
		}
	}

	require.NoError(t, b.cache.Clear(ctx))
	for _, k := range keys {
		_, ok, err := b.cache.Get(ctx, k)
		require.NoError(t, err)
		require.False(t, ok, "the clearing client misses %v at once", k)
		eventually(t, invalidationBound, "the other client misses "+k.String(), func() bool {
			_, ok, _ := other.Get(ctx, k)
			return !ok
		})
	}
	for _, k := range []string{outside, queue} {
		v, err := b.raw.Do(ctx, b.raw.B().Get().Key(k).Build()).ToString()
		require.NoError(t, err, k)
		require.Equal(t, "keep", v, k)
	}

	// The cache works on after Clear, for both clients.
	require.NoError(t, other.Set(ctx, cache.Exam(1), []byte("new"), 0))
	eventually(t, invalidationBound, "the clearing client sees the new entry", func() bool {
		v, _, _ := b.cache.Get(ctx, cache.Exam(1))
		return string(v) == "new"
	})
}
