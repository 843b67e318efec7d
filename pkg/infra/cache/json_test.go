package cache_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/infra/cache"
	"github.com/oeshq/oes/pkg/oes"
)

type examDTO struct {
	ID    int64    `json:"id"`
	Title string   `json:"title"`
	Tags  []string `json:"tags"`
}

func TestJSONHelpersRoundTrip(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	ctx := context.Background()
	want := examDTO{ID: 1, Title: "Algebra", Tags: []string{"math"}}

	_, ok, err := cache.GetJSON[examDTO](ctx, b.cache, cache.Exam(1))
	require.NoError(t, err)
	require.False(t, ok)

	require.NoError(t, cache.SetJSON(ctx, b.cache, cache.Exam(1), want, 0))
	got, ok, err := cache.GetJSON[examDTO](ctx, b.cache, cache.Exam(1))
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, want, got)

	raw, _, err := b.cache.Get(ctx, cache.Exam(1))
	require.NoError(t, err)
	require.JSONEq(t, `{"id":1,"title":"Algebra","tags":["math"]}`, string(raw), "stored as plain JSON")

	require.NoError(t, b.cache.Set(ctx, cache.Exam(2), []byte("not json"), 0))
	_, ok, err = cache.GetJSON[examDTO](ctx, b.cache, cache.Exam(2))
	require.Error(t, err)
	require.False(t, ok)
}

func TestGetOrSetJSONLoadsOnceAndDecodes(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	ctx := context.Background()
	var calls atomic.Int64
	load := func(context.Context) ([]examDTO, error) {
		calls.Add(1)
		return []examDTO{{ID: 1, Title: "A"}, {ID: 2, Title: "B"}}, nil
	}

	for range 3 {
		got, err := cache.GetOrSetJSON(ctx, b.cache, cache.AllExams, 0, load)
		require.NoError(t, err)
		require.Equal(t, []examDTO{{ID: 1, Title: "A"}, {ID: 2, Title: "B"}}, got)
	}
	require.Equal(t, int64(1), calls.Load())

	_, err := cache.GetOrSetJSON(ctx, b.cache, cache.Exam(404), 0, func(context.Context) (examDTO, error) {
		return examDTO{}, oes.Errorf(oes.ENOTFOUND, "no such exam")
	})
	require.Equal(t, oes.ENOTFOUND, oes.ErrorCode(err))
	_, err = cache.GetOrSetJSON(ctx, b.cache, cache.Exam(404), 0, func(context.Context) (examDTO, error) {
		t.Error("a remembered not-found must not load")
		return examDTO{}, nil
	})
	require.Equal(t, oes.ENOTFOUND, oes.ErrorCode(err))
	require.Equal(t, "no such exam", oes.ErrorMessage(err))
}
