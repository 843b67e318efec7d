package config_test

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/config"
)

type testConfig struct {
	config.Database
	config.Redis
	config.Cache
	config.HTTP
	config.Shutdown
	config.Log
}

// clearEnv unsets every variable a test's expectations depend on, whatever the developer's
// shell or the test runner exported, and restores them afterwards.
func clearEnv(t *testing.T) {
	t.Helper()
	for _, key := range []string{
		"DATABASE_URL", "DATABASE_MAX_CONNS", "REDIS_URL", "CACHE_REDIS_URL", "QUEUE_REDIS_URL", "HTTP_ADDR",
		"CACHE_ENABLED", "CACHE_NAMESPACE", "CACHE_DEFAULT_TTL", "CACHE_LOCAL_SIZE", "CACHE_NOT_FOUND_TTL",
		"SHUTDOWN_TIMEOUT", "LOG_FORMAT", "LOG_LEVEL",
	} {
		t.Setenv(key, "")
		require.NoError(t, os.Unsetenv(key))
	}
}

func TestLoadDefaults(t *testing.T) {
	clearEnv(t)
	var cfg testConfig
	require.NoError(t, config.Load(&cfg, nil, &bytes.Buffer{}))

	require.Equal(t, "postgres://localhost:5432/oes?sslmode=disable", cfg.DatabaseURL)
	require.Equal(t, "redis://localhost:6379/0", cfg.CacheURL(cfg.RedisURL))
	require.Equal(t, "redis://localhost:6379/0", cfg.QueueURL())
	require.Equal(t, ":8080", cfg.HTTPAddr)
	require.Equal(t, time.Hour, cfg.CacheDefaultTTL)
	require.Equal(t, 20*time.Second, cfg.ShutdownTimeout)
	require.Equal(t, config.ByteSize(64<<20), cfg.CacheLocalSize)
	require.Equal(t, config.LogFormat("json"), cfg.LogFormat)
}

func TestLoadOverridesRedisPerRole(t *testing.T) {
	clearEnv(t)
	t.Setenv("REDIS_URL", "redis://shared:6379/0")
	t.Setenv("QUEUE_REDIS_URL", "redis://queue:6379/0")
	var cfg testConfig
	require.NoError(t, config.Load(&cfg, nil, &bytes.Buffer{}))
	require.Equal(t, "redis://shared:6379/0", cfg.CacheURL(cfg.RedisURL))
	require.Equal(t, "redis://queue:6379/0", cfg.QueueURL())
}

func TestLoadBadValueNamesTheVariable(t *testing.T) {
	tests := []struct{ name, key, value string }{
		{"duration", "CACHE_DEFAULT_TTL", "soon"},
		{"negativeTTL", "CACHE_TTL_EXAM", "-1h"},
		{"byteSize", "CACHE_LOCAL_SIZE", "lots"},
		{"logLevel", "LOG_LEVEL", "loud"},
		{"logFormat", "LOG_FORMAT", "xml"},
		{"databaseScheme", "DATABASE_URL", "mysql://localhost/oes"},
		{"redisScheme", "CACHE_REDIS_URL", "http://localhost:6379"},
		{"shutdown", "SHUTDOWN_TIMEOUT", "0s"},
		{"maxConns", "DATABASE_MAX_CONNS", "many"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			t.Setenv(tt.key, tt.value)
			var cfg testConfig
			err := config.Load(&cfg, nil, &bytes.Buffer{})
			require.Error(t, err)
			require.Contains(t, err.Error(), tt.key)
		})
	}
}

func TestLoadNeverEchoesAURLPassword(t *testing.T) {
	t.Setenv("DATABASE_URL", "mysql://user:hunter2@db/oes")
	var cfg testConfig
	err := config.Load(&cfg, nil, &bytes.Buffer{})
	require.Error(t, err)
	require.NotContains(t, err.Error(), "hunter2")
}

func TestLoadHelpPrintsEveryVariable(t *testing.T) {
	var out bytes.Buffer
	var cfg testConfig
	err := config.Load(&cfg, []string{"--help"}, &out)
	require.True(t, errors.Is(err, config.ErrHelp))
	for _, key := range []string{
		"DATABASE_URL", "REDIS_URL", "CACHE_REDIS_URL", "QUEUE_REDIS_URL", "HTTP_ADDR",
		"CACHE_DEFAULT_TTL", "CACHE_LOCAL_SIZE", "SHUTDOWN_TIMEOUT", "LOG_FORMAT", "LOG_LEVEL",
	} {
		require.Contains(t, out.String(), key)
	}
	require.True(t, strings.Contains(out.String(), "64MiB"), "defaults are shown")
}

func TestByteSizeDecode(t *testing.T) {
	for in, want := range map[string]config.ByteSize{
		"1024": 1024, "512KiB": 512 << 10, "64MiB": 64 << 20, "2GiB": 2 << 30, "10B": 10,
	} {
		var b config.ByteSize
		require.NoError(t, b.Decode(in), in)
		require.Equal(t, want, b, in)
	}
	var b config.ByteSize
	require.Error(t, b.Decode("-1"))
	require.Error(t, b.Decode("1TB"))
}

func TestLoadAcceptsSentinelAndClusterWhereTheyWork(t *testing.T) {
	for name, env := range map[string]map[string]string{
		"sentinel everywhere": {
			"REDIS_URL":       "redis-sentinel://:pw@s1:26379,s2:26379/0?master=main",
			"QUEUE_REDIS_URL": "redis-sentinel://s1,s2?master=queue&sentinel_password=sp",
			"CACHE_REDIS_URL": "redis-sentinel://[::1]:26379,[::1]:26380?master=cache",
		},
		"cluster for the cache": {
			"REDIS_URL":       "redis://queue:6379/0",
			"CACHE_REDIS_URL": "redis-cluster://:pw@n1:6379,n2:6379,n3:6379",
		},
	} {
		t.Run(name, func(t *testing.T) {
			clearEnv(t)
			for k, v := range env {
				t.Setenv(k, v)
			}
			var cfg testConfig
			require.NoError(t, config.Load(&cfg, nil, &bytes.Buffer{}))
			require.Equal(t, firstSet(env["QUEUE_REDIS_URL"], env["REDIS_URL"]), cfg.QueueURL())
			require.Equal(t, firstSet(env["CACHE_REDIS_URL"], env["REDIS_URL"]), cfg.CacheURL(cfg.RedisURL))
		})
	}
}

func firstSet(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// The queue cannot run on a Cluster; the error says so and what to do, for either variable
// that reaches the queue.
func TestLoadRefusesClusterForTheQueue(t *testing.T) {
	for _, key := range []string{"REDIS_URL", "QUEUE_REDIS_URL"} {
		t.Run(key, func(t *testing.T) {
			clearEnv(t)
			t.Setenv(key, "redis-cluster://:hunter2@n1:6379,n2:6379")
			var cfg testConfig
			err := config.Load(&cfg, nil, &bytes.Buffer{})
			require.Error(t, err)
			msg := err.Error()
			require.True(t, strings.HasPrefix(msg, key+":"), msg)
			require.Contains(t, msg, "queue cannot use a Redis Cluster")
			require.Contains(t, msg, "redis-sentinel://")
			require.Contains(t, msg, "CACHE_REDIS_URL")
			require.NotContains(t, msg, "hunter2")
		})
	}
}

func TestLoadRejectsMalformedSentinelAndClusterURLs(t *testing.T) {
	for name, tt := range map[string]struct{ key, value, want string }{
		"sentinel without master": {"QUEUE_REDIS_URL", "redis-sentinel://:hunter2@s1:26379", "?master=<name>"},
		"sentinel bad port":       {"CACHE_REDIS_URL", "redis-sentinel://:hunter2@s1:0?master=m", "invalid port"},
		"cluster with a database": {"CACHE_REDIS_URL", "redis-cluster://:hunter2@n1:6379/3", "database 0 only"},
		"cluster with parameters": {"CACHE_REDIS_URL", "redis-cluster://:hunter2@n1?master=m", "no query parameters"},
	} {
		t.Run(name, func(t *testing.T) {
			clearEnv(t)
			t.Setenv(tt.key, tt.value)
			var cfg testConfig
			err := config.Load(&cfg, nil, &bytes.Buffer{})
			require.Error(t, err)
			require.Contains(t, err.Error(), tt.key)
			require.Contains(t, err.Error(), tt.want)
			require.NotContains(t, err.Error(), "hunter2")
		})
	}
}
