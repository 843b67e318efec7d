package cache_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/infra/cache"
)

func TestGetMissesAbsentKey(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	ctx := context.Background()

	v, ok, err := b.cache.Get(ctx, cache.Exam(1))
	require.NoError(t, err)
	require.False(t, ok)
	require.Nil(t, v)
	require.Equal(t, uint64(1), stats(b.cache, cache.KindExam).Misses)
}

func TestSetThenGetReturnsValueThenServesItLocally(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	ctx := context.Background()

	require.NoError(t, b.cache.Set(ctx, cache.Exam(1), []byte(`{"id":1}`), 0))
	for range 3 {
		v, ok, err := b.cache.Get(ctx, cache.Exam(1))
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, `{"id":1}`, string(v))
	}
	n := stats(b.cache, cache.KindExam)
	require.Equal(t, uint64(1), n.RemoteHits, "the first read asks Redis")
	require.Equal(t, uint64(2), n.LocalHits, "later reads are served from memory")
	require.Equal(t, uint64(3), n.Hits())
	require.Zero(t, n.Misses)
	require.Zero(t, n.Errors)
}

func TestSetCopiesValue(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	ctx := context.Background()

	value := []byte("before")
	require.NoError(t, b.cache.Set(ctx, cache.Question(1), value, 0))
	copy(value, "AFTER!")
	v, ok, err := b.cache.Get(ctx, cache.Question(1))
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "before", string(v))
}

func TestGetAfterSetInSameProcessSeesTheWrite(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	ctx := context.Background()

	for i := range 200 {
		want := fmt.Sprint(i)
		require.NoError(t, b.cache.Set(ctx, cache.UserProfile(5), []byte(want), 0))
		v, ok, err := b.cache.Get(ctx, cache.UserProfile(5))
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, want, string(v), "a read right after a write must not see the old local copy")
	}
}

func TestDeleteRemovesEntry(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	ctx := context.Background()

	require.NoError(t, b.cache.Set(ctx, cache.Exam(2), []byte("x"), 0))
	_, ok, _ := b.cache.Get(ctx, cache.Exam(2)) // now held locally too
	require.True(t, ok)

	require.NoError(t, b.cache.Delete(ctx, cache.Exam(2)))
	_, ok, err := b.cache.Get(ctx, cache.Exam(2))
	require.NoError(t, err)
	require.False(t, ok)
	require.NoError(t, b.cache.Delete(ctx, cache.Exam(2)), "deleting a missing key is not an error")
}

func TestDeleteManyRemovesAllEntriesAndNoOthers(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	ctx := context.Background()

	keys := []cache.Key{cache.AllExams, cache.Exam(3), cache.ExamQuestions(3), cache.Named("report")}
	for _, k := range keys {
		require.NoError(t, b.cache.Set(ctx, k, []byte(k.String()), 0))
		_, ok, _ := b.cache.Get(ctx, k)
		require.True(t, ok)
	}
	require.NoError(t, b.cache.Set(ctx, cache.Exam(4), []byte("keep"), 0))

	require.NoError(t, b.cache.DeleteMany(ctx, keys...))
	for _, k := range keys {
		_, ok, err := b.cache.Get(ctx, k)
		require.NoError(t, err)
		require.False(t, ok, k.String())
	}
	v, ok, err := b.cache.Get(ctx, cache.Exam(4))
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "keep", string(v))
	require.NoError(t, b.cache.DeleteMany(ctx), "no keys is a no-op")
}

func TestZeroKeyIsRefused(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	ctx := context.Background()

	_, _, err := b.cache.Get(ctx, cache.Key{})
	require.Error(t, err)
	require.Error(t, b.cache.Set(ctx, cache.Key{}, []byte("x"), 0))
	require.Error(t, b.cache.DeleteMany(ctx, cache.Exam(1), cache.Key{}))
	_, err = b.cache.GetOrSet(ctx, cache.Key{}, 0, func(context.Context) ([]byte, error) { return nil, nil })
	require.Error(t, err)
}

func TestCallsAfterCloseFailWithoutCounting(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	ctx := context.Background()

	b.cache.Close()
	b.cache.Close() // closing twice is harmless
	require.False(t, b.cache.Available())
	_, ok, err := b.cache.Get(ctx, cache.Exam(1))
	require.Error(t, err)
	require.False(t, ok)
	require.Error(t, b.cache.Set(ctx, cache.Exam(1), []byte("x"), 0))
	require.Error(t, b.cache.Ping(ctx))
	v, err := b.cache.GetOrSet(ctx, cache.Exam(1), 0, func(context.Context) ([]byte, error) { return []byte("db"), nil })
	require.NoError(t, err)
	require.Equal(t, "db", string(v))
	require.Zero(t, stats(b.cache, cache.KindExam).Errors)
}
