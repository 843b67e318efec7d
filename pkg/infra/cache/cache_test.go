package cache_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/redis/rueidis"
	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/config"
	"github.com/oeshq/oes/pkg/infra/cache"
	"github.com/oeshq/oes/pkg/testkit/logtest"
	"github.com/oeshq/oes/pkg/testkit/redistest"
)

// testBundle holds what a test needs: the cache under test, its settings, a plain client of
// the same Redis to look behind the cache's back, and the cache's log.
type testBundle struct {
	cache *cache.Cache
	cfg   cache.Config
	url   string
	raw   rueidis.Client
	log   *logtest.Buffer
}

type setupOpts struct {
	url    string              // default: the shared test Redis
	rawURL string              // the Redis the plain client looks at; default url
	config func(*cache.Config) // changes to the default Config
}

// setup returns a Cache on its own namespace, closed when the test ends.
func setup(t *testing.T, opts setupOpts) *testBundle {
	t.Helper()
	if opts.url == "" {
		opts.url = redistest.URL(t)
	}
	cfg := config.Defaults[config.Cache]().CacheConfig()
	cfg.Namespace = redistest.Namespace(t)
	if opts.config != nil {
		opts.config(&cfg)
	}
	b := &testBundle{cfg: cfg, url: opts.url, log: &logtest.Buffer{}}
	b.cache = b.open(t)
	if opts.rawURL == "" {
		opts.rawURL = opts.url
	}
	b.raw = redistest.Client(t, opts.rawURL)
	return b
}

// open returns another Cache on the same Redis and namespace: another replica.
func (b *testBundle) open(t *testing.T) *cache.Cache {
	t.Helper()
	c, err := cache.New(b.url, b.cfg, slog.New(slog.NewTextHandler(b.log, nil)))
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

// redisKey returns the Redis key of k as the bundle's cache writes it now.
func (b *testBundle) redisKey(t *testing.T, k cache.Key) string {
	t.Helper()
	rk, err := b.cache.RedisKey(context.Background(), k)
	require.NoError(t, err)
	return rk
}

// eventually polls cond every millisecond until it holds or within passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(time.Millisecond)
	}
}

func stats(c *cache.Cache, k cache.Kind) cache.Counters { return c.Stats()[k] }
