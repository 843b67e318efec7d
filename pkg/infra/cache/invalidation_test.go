package cache_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/infra/cache"
)

// invalidationBound is how long a write may take to reach another replica's local copy.
const invalidationBound = 100 * time.Millisecond

func TestSetInvalidatesOtherClientWithin100ms(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	other := b.open(t)
	ctx := context.Background()
	key := cache.ExamQuestions(8)

	require.NoError(t, b.cache.Set(ctx, key, []byte("v1"), 0))
	for range 2 {
		v, ok, err := other.Get(ctx, key)
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, "v1", string(v))
	}
	require.Equal(t, uint64(1), stats(other, cache.KindExamQuestions).LocalHits, "the other client holds v1 locally")

	require.NoError(t, b.cache.Set(ctx, key, []byte("v2"), 0))
	eventually(t, invalidationBound, "the other client sees v2", func() bool {
		v, _, _ := other.Get(ctx, key)
		return string(v) == "v2"
	})
}

func TestDeleteInvalidatesOtherClientWithin100ms(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	other := b.open(t)
	ctx := context.Background()
	key := cache.UserExams(8)

	require.NoError(t, b.cache.Set(ctx, key, []byte("v1"), 0))
	for range 2 {
		_, ok, err := other.Get(ctx, key)
		require.NoError(t, err)
		require.True(t, ok)
	}
	require.Equal(t, uint64(1), stats(other, cache.KindUserExams).LocalHits)

	require.NoError(t, b.cache.Delete(ctx, key))
	eventually(t, invalidationBound, "the other client misses", func() bool {
		_, ok, _ := other.Get(ctx, key)
		return !ok
	})
}
