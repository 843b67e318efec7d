package cache_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/infra/cache"
	"github.com/oeshq/oes/pkg/testkit/redistest"
)

// An invalidation that cannot reach Redis is not forgotten. Redis is frozen (SIGSTOP, a
// partition), client A's delete of an entry fails; when Redis runs again, with the old entry,
// neither A nor B, which never noticed the outage, reads that entry again.
func TestAnInvalidationLostInAnOutageLeavesNothingStale(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	b := setup(t, setupOpts{url: srv.URL(), config: func(c *cache.Config) { c.ErrorLogInterval = time.Hour }})
	other := b.open(t)
	ctx := context.Background()
	key := cache.Exam(7)
	require.NoError(t, b.cache.Set(ctx, key, []byte("published"), 0))
	for _, c := range []*cache.Cache{b.cache, other} {
		v, ok, err := c.Get(ctx, key)
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, "published", string(v))
	}

	srv.Pause()
	short, cancel := context.WithTimeout(ctx, 3*time.Second)
	require.Error(t, b.cache.Delete(short, key), "the exam was unpublished; its invalidation cannot reach Redis")
	cancel()
	srv.Resume()

	eventually(t, recoveryBound, "A uses Redis again", b.cache.Available)
	for name, c := range map[string]*cache.Cache{"A, whose delete failed": b.cache, "B, which saw no outage": other} {
		eventually(t, invalidationBound, name+" no longer reads the old entry", func() bool {
			_, ok, err := c.Get(ctx, key)
			return err == nil && !ok
		})
	}
	// The cache works on.
	require.NoError(t, other.Set(ctx, key, []byte("unpublished"), 0))
	eventually(t, recoveryBound, "A reads B's new entry", func() bool {
		v, _, _ := b.cache.Get(ctx, key)
		return string(v) == "unpublished"
	})
	require.NotEmpty(t, b.log.Lines("moved to a new generation"), "the operator is told")
}

// A generation key that is lost (evicted under allkeys-lru, deleted, a Redis restarted from
// an old snapshot without it) never brings back entries an earlier Clear made unreachable.
func TestALostGenerationKeyBringsNothingBack(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	other := b.open(t)
	ctx := context.Background()
	key := cache.Exam(1)
	require.NoError(t, b.cache.Set(ctx, key, []byte("before clear"), 0))
	require.NoError(t, b.cache.Clear(ctx))
	_, ok, err := b.cache.Get(ctx, key)
	require.NoError(t, err)
	require.False(t, ok)

	genKey := b.cfg.Namespace + ":gen"
	require.NoError(t, b.raw.Do(ctx, b.raw.B().Del().Key(genKey).Build()).Error())
	for name, c := range map[string]*cache.Cache{"the clearing client": b.cache, "another client": other} {
		eventually(t, invalidationBound, name+" does not read the cleared entry", func() bool {
			_, ok, err := c.Get(ctx, key)
			return err == nil && !ok
		})
	}
	// The cache works on; the new entry reaches the other client once the invalidation of its
	// local miss does, which under load can take longer than invalidationBound.
	require.NoError(t, b.cache.Set(ctx, key, []byte("after"), 0))
	eventually(t, recoveryBound, "both use the new generation", func() bool {
		v, _, _ := other.Get(ctx, key)
		return string(v) == "after"
	})
}
