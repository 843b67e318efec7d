package cache_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/infra/cache"
	"github.com/oeshq/oes/pkg/testkit/redistest"
)

// The cache behaves on a Sentinel-monitored master as on a single Redis: reads, writes,
// GetOrSet, Delete and Clear, with writes reaching another replica's local copy.
func TestCacheThroughSentinel(t *testing.T) {
	t.Parallel()
	s := redistest.StartSentinel(t)
	b := setup(t, setupOpts{url: s.URL(), rawURL: s.Master.URL()})
	keys := exerciseTwoReplicas(t, b)

	// The entries live on the master the sentinel names.
	n, err := b.raw.Do(t.Context(), b.raw.B().Exists().Key(b.redisKey(t, keys[0])).Build()).AsInt64()
	require.NoError(t, err)
	require.Equal(t, int64(1), n)
}

// On a Cluster the entries spread over the nodes, and every guarantee still holds: a write
// is seen at once by the writer and within the invalidation bound by another replica, and one
// Clear empties the cache whatever node the entries are on.
func TestCacheThroughCluster(t *testing.T) {
	t.Parallel()
	c := redistest.StartCluster(t)
	b := setup(t, setupOpts{url: c.URL(), rawURL: c.Nodes[0].URL()})
	exerciseTwoReplicas(t, b)

	sizes, err := c.DBSize(t.Context())
	require.NoError(t, err)
	holding := 0
	for _, n := range sizes {
		if n > 0 {
			holding++
		}
	}
	require.GreaterOrEqual(t, holding, 2, "entries spread over the nodes: %v", sizes)
}

// exerciseTwoReplicas runs the cache's guarantees through b's cache and a second Cache on the
// same Redis, and returns the keys it leaves set.
func exerciseTwoReplicas(t *testing.T, b *testBundle) []cache.Key {
	t.Helper()
	ctx := context.Background()
	other := b.open(t)
	keys := make([]cache.Key, 24)
	for i := range keys {
		keys[i] = cache.Exam(int64(i + 1))
	}
	get := func(c *cache.Cache, k cache.Key) (string, bool) {
		t.Helper()
		v, ok, err := c.Get(ctx, k)
		require.NoError(t, err, k)
		return string(v), ok
	}
	setAll := func(version string) {
		t.Helper()
		for _, k := range keys {
			require.NoError(t, b.cache.Set(ctx, k, []byte(version+k.String()), 0))
		}
	}

	// Both replicas read every entry twice: the second read is local.
	setAll("v1:")
	for _, c := range []*cache.Cache{b.cache, other} {
		for _, k := range keys {
			for range 2 {
				v, ok := get(c, k)
				require.True(t, ok, k)
				require.Equal(t, "v1:"+k.String(), v)
			}
		}
		require.Equal(t, uint64(len(keys)), stats(c, cache.KindExam).LocalHits, "the second reads are local")
	}

	// A write replaces the writer's local copy at once, the other replica's soon after.
	setAll("v2:")
	for _, k := range keys {
		v, _ := get(b.cache, k)
		require.Equal(t, "v2:"+k.String(), v, "the writer reads its own write")
		eventually(t, invalidationBound, "the other replica sees the write of "+k.String(), func() bool {
			v, _ := get(other, k)
			return v == "v2:"+k.String()
		})
	}

	// GetOrSet loads once; the other replica gets the stored value.
	var loads atomic.Int32
	load := func(context.Context) ([]byte, error) {
		loads.Add(1)
		return []byte("loaded"), nil
	}
	for _, c := range []*cache.Cache{b.cache, other} {
		v, err := c.GetOrSet(ctx, cache.Question(7), 0, load)
		require.NoError(t, err)
		require.Equal(t, "loaded", string(v))
	}
	require.Equal(t, int32(1), loads.Load())

	// One DeleteMany over keys of many slots removes them all, everywhere.
	require.NoError(t, b.cache.DeleteMany(ctx, keys...))
	for _, k := range keys {
		_, ok := get(b.cache, k)
		require.False(t, ok, "the writer misses %v at once", k)
		eventually(t, invalidationBound, fmt.Sprintf("the other replica misses %v", k), func() bool {
			_, ok := get(other, k)
			return !ok
		})
	}

	// Clear empties the cache for both replicas, whatever node holds the entries.
	setAll("v3:")
	for _, k := range keys {
		get(other, k)
		get(other, k) // local now
	}
	require.NoError(t, b.cache.Clear(ctx))
	for _, k := range append(keys, cache.Question(7)) {
		_, ok := get(b.cache, k)
		require.False(t, ok, "the writer misses %v right after Clear", k)
		eventually(t, invalidationBound, fmt.Sprintf("the other replica misses %v after Clear", k), func() bool {
			_, ok := get(other, k)
			return !ok
		})
	}

	setAll("v4:")
	return keys
}

// After the sentinel fails the master over, the Cache, unchanged, caches on the new master:
// it notices the outage, stops asking Redis, and comes back by itself.
func TestCacheFollowsSentinelFailover(t *testing.T) {
	t.Parallel()
	s := redistest.StartSentinel(t)
	b := setup(t, setupOpts{url: s.URL(), rawURL: s.Master.URL()})
	ctx := context.Background()
	key := cache.UserProfile(1)
	require.NoError(t, b.cache.Set(ctx, key, []byte("before"), 0))

	s.Master.Kill()
	deadline := time.Now().Add(30 * time.Second)
	for {
		addr, err := s.MasterAddr(ctx)
		if err == nil && addr == s.Replica.Addr() {
			break
		}
		require.True(t, time.Now().Before(deadline), "the sentinel did not promote the replica")
		time.Sleep(50 * time.Millisecond)
	}
	for {
		err := b.cache.Set(ctx, key, []byte("after"), 0)
		if err == nil {
			if v, ok, err := b.cache.Get(ctx, key); err == nil && ok && string(v) == "after" {
				break
			}
		}
		require.True(t, time.Now().Before(deadline), "the cache did not come back after the failover: %v", err)
		time.Sleep(50 * time.Millisecond)
	}
	raw := redistest.Client(t, s.Replica.URL())
	n, err := raw.Do(ctx, raw.B().Exists().Key(b.redisKey(t, key)).Build()).AsInt64()
	require.NoError(t, err)
	require.Equal(t, int64(1), n, "the entry is on the promoted replica")
}
