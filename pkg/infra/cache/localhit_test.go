package cache_test

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/infra/cache"
	"github.com/oeshq/oes/pkg/testkit/redistest"
)

func TestRepeatedGetIsServedWithoutRoundTrip(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t) // no other test's traffic in its command stats
	b := setup(t, setupOpts{url: srv.URL()})
	ctx := context.Background()
	key := cache.Exam(42)
	const n = 100

	require.NoError(t, b.cache.Set(ctx, key, []byte(`{"id":42}`), 0))
	_, ok, err := b.cache.Get(ctx, key) // the one read that asks Redis
	require.NoError(t, err)
	require.True(t, ok)

	before := stats(b.cache, cache.KindExam)
	getsBefore := redisGetCalls(t, b)
	for range n {
		v, ok, err := b.cache.Get(ctx, key)
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, `{"id":42}`, string(v))
	}
	after := stats(b.cache, cache.KindExam)
	require.Equal(t, before.LocalHits+n, after.LocalHits)
	require.Equal(t, before.RemoteHits, after.RemoteHits)
	require.Equal(t, getsBefore, redisGetCalls(t, b), "Redis served no GET")

	clients, err := b.raw.Do(ctx, b.raw.B().ClientList().Build()).ToString()
	require.NoError(t, err)
	require.Equal(t, 1, strings.Count(clients, "name=oes-cache "),
		"one connection, so LocalCacheBytes is not divided:\n%s", clients)
}

var cmdstatGet = regexp.MustCompile(`(?m)^cmdstat_get:calls=(\d+),`)

// redisGetCalls returns how many GET commands the Redis has executed.
func redisGetCalls(t *testing.T, b *testBundle) int {
	t.Helper()
	info, err := b.raw.Do(context.Background(), b.raw.B().Info().Section("commandstats").Build()).ToString()
	require.NoError(t, err)
	m := cmdstatGet.FindStringSubmatch(info)
	require.NotNil(t, m, "cmdstat_get in INFO commandstats")
	calls, err := strconv.Atoi(m[1])
	require.NoError(t, err)
	return calls
}
