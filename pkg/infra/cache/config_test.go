package cache_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/config"
	"github.com/oeshq/oes/pkg/infra/cache"
)

func TestShippedConfigFollowsRecommendedTTLs(t *testing.T) {
	t.Parallel()
	cfg := config.Defaults[config.Cache]().CacheConfig()
	require.Equal(t, "oes:cache", cfg.Namespace)
	require.Equal(t, time.Hour, cfg.DefaultTTL)
	require.Equal(t, 5*time.Second, cfg.NotFoundTTL)
	require.Equal(t, int64(64<<20), cfg.LocalCacheBytes)
	require.Equal(t, map[cache.Kind]time.Duration{
		cache.KindExam: 4 * time.Hour, cache.KindExamQuestions: 4 * time.Hour, cache.KindQuestion: 4 * time.Hour,
		cache.KindUserProfile: time.Hour, cache.KindExamResult: 2 * time.Hour,
		cache.KindUserExams: 30 * time.Minute, cache.KindAllExams: 30 * time.Minute,
	}, cfg.TTL)
}

func TestNewRejectsMalformedURL(t *testing.T) {
	t.Parallel()
	for _, url := range []string{
		"http://127.0.0.1:6379",
		"redis://127.0.0.1:6379/notanumber",
		"redis://:s3cret@127.0.0.1:6379/0/1",
		"redis://:s3cret@127.0.0.1:bad port/0",
		"redis://127.0.0.1:6379/0?protocol=2",
		"redis://127.0.0.1:6379/0?master_set=main",
	} {
		c, err := cache.New(url, config.Defaults[config.Cache]().CacheConfig(), nil)
		require.Error(t, err, url)
		require.Nil(t, c)
		require.NotContains(t, err.Error(), "s3cret", "the error must not repeat the password")
	}
}

func TestNewRejectsInvalidConfig(t *testing.T) {
	t.Parallel()
	for name, change := range map[string]func(*cache.Config){
		"negative default ttl":   func(c *cache.Config) { c.DefaultTTL = -time.Second },
		"negative kind ttl":      func(c *cache.Config) { c.TTL = map[cache.Kind]time.Duration{cache.KindExam: -1} },
		"unknown kind":           func(c *cache.Config) { c.TTL = map[cache.Kind]time.Duration{cache.Kind(99): time.Hour} },
		"negative local size":    func(c *cache.Config) { c.LocalCacheBytes = -1 },
		"negative log interval":  func(c *cache.Config) { c.ErrorLogInterval = -time.Second },
		"sub-millisecond 404ttl": func(c *cache.Config) { c.NotFoundTTL = time.Microsecond },
		"no namespace":           func(c *cache.Config) { c.Namespace = "" },
		"no default ttl":         func(c *cache.Config) { c.DefaultTTL = 0 },
		"no local size":          func(c *cache.Config) { c.LocalCacheBytes = 0 },
	} {
		cfg := config.Defaults[config.Cache]().CacheConfig()
		change(&cfg)
		_, err := cache.New("redis://127.0.0.1:6379/0", cfg, nil)
		require.Error(t, err, name)
	}
}
