package redisurl_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/infra/redisurl"
)

func TestParseSentinel(t *testing.T) {
	t.Parallel()
	u, err := redisurl.Parse("REDIS_URL", "redis-sentinel://app:p%40ss@s1:26380,s2,[::1]:26381/2?master=main&sentinel_password=sp")
	require.NoError(t, err)
	require.Equal(t, redisurl.URL{
		Mode:             redisurl.Sentinel,
		Addrs:            []string{"s1:26380", "s2:26379", "[::1]:26381"},
		Username:         "app",
		Password:         "p@ss",
		SentinelPassword: "sp",
		MasterName:       "main",
		DB:               2,
	}, u)
}

func TestParseCluster(t *testing.T) {
	t.Parallel()
	u, err := redisurl.Parse("CACHE_REDIS_URL", "redis-cluster://:secret@n1:7000,n2,n1:7000")
	require.NoError(t, err)
	require.Equal(t, redisurl.URL{
		Mode:     redisurl.Cluster,
		Addrs:    []string{"n1:7000", "n2:6379"},
		Password: "secret",
	}, u)
}

func TestParseLeavesSingleServerURLsToTheClients(t *testing.T) {
	t.Parallel()
	for _, raw := range []string{"redis://h:6379/0", "rediss://h", "unix:///tmp/redis.sock"} {
		u, err := redisurl.Parse("REDIS_URL", raw)
		require.NoError(t, err, raw)
		require.Equal(t, redisurl.Standalone, u.Mode, raw)
	}
}

func TestParseRejectsWithoutEchoingThePassword(t *testing.T) {
	t.Parallel()
	for _, raw := range []string{
		"redis-sentinel://:s3cret@s1:26379",                      // no master
		"redis-sentinel://:s3cret@s1:26379?master_set=main",      // rueidis's name for it
		"redis-sentinel://:s3cret@s1:26379/x?master=main",        // bad db
		"redis-sentinel://:s3cret@s1:99999?master=main",          // bad port
		"redis-sentinel://:s3cret@s1,,s2?master=main",            // empty address
		"redis-cluster://:s3cret@n1:6379/1",                      // cluster has db 0 only
		"redis-cluster://:s3cret@n1:6379?dial_timeout=1s",        // no parameters
		"redis-cluster://:s3/cr?et@n1:6379/1",                    // unescaped password
		"redis-cluster://:s3cret%zz@n1:6379",                     // bad escape
		"redis-sentinel://:s3cret@s1:26379?master=main#fragment", // fragment
	} {
		_, err := redisurl.Parse("QUEUE_REDIS_URL", raw)
		require.Error(t, err, raw)
		require.Contains(t, err.Error(), "QUEUE_REDIS_URL", raw)
		require.NotContains(t, err.Error(), "s3", raw)
	}
}
