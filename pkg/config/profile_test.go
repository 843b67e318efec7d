package config_test

import (
	"encoding/base64"
	"encoding/hex"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/config"
)

func TestCacheEncryptionKeyForms(t *testing.T) {
	t.Parallel()
	raw := []byte("0123456789abcdef0123456789abcdef")
	for name, value := range map[string]string{
		"base64":    base64.StdEncoding.EncodeToString(raw),
		"base64url": base64.RawURLEncoding.EncodeToString(raw),
		"hex":       hex.EncodeToString(raw),
	} {
		t.Run(name, func(t *testing.T) {
			c := config.CacheEncryption{CacheEncryptionKey: value}
			require.NoError(t, c.Validate())
			key, generated, err := c.SealingKey()
			require.NoError(t, err)
			require.False(t, generated)
			require.Equal(t, raw, key)
		})
	}
}

func TestCacheEncryptionKeyRefusals(t *testing.T) {
	t.Parallel()
	for name, value := range map[string]string{
		"short":    base64.StdEncoding.EncodeToString([]byte("sixteen bytes!!!")),
		"notBytes": "correct horse battery staple",
	} {
		t.Run(name, func(t *testing.T) {
			c := config.CacheEncryption{CacheEncryptionKey: value}
			err := c.Validate()
			require.ErrorContains(t, err, "CACHE_ENCRYPTION_KEY")
			require.NotContains(t, err.Error(), value)
		})
	}
	_, _, err := config.CacheEncryption{}.SealingKey()
	require.ErrorContains(t, err, "CACHE_ENCRYPTION_KEY")
}

func TestCacheEncryptionKeyGenerated(t *testing.T) {
	t.Parallel()
	c := config.CacheEncryption{CacheEncryptionKey: config.GenerateCacheKey}
	a, generated, err := c.SealingKey()
	require.NoError(t, err)
	require.True(t, generated)
	b, _, _ := c.SealingKey()
	require.Len(t, a, 32)
	require.NotEqual(t, a, b)
}

func TestRateLimitValidate(t *testing.T) {
	t.Parallel()
	ok := config.RateLimit{RateLimitAuthIP: 1, RateLimitAuthEmail: 1, RateLimitAuthEmailIP: 1, RateLimitIP: 1, RateLimitUser: 1,
		RateLimitLoginIP: 1, RateLimitLoginEmailIP: 1, RateLimitLoginEmail: 1, RateLimitKeyPrefix: "rl", TrustedProxies: []string{"10.0.0.0/8", "192.0.2.7"},
		RateLimitSyncInterval: time.Second}
	require.NoError(t, ok.Validate())
	for _, d := range []time.Duration{0, time.Millisecond, 2 * time.Minute} {
		bad := ok
		bad.RateLimitSyncInterval = d
		require.ErrorContains(t, bad.Validate(), "RATE_LIMIT_SYNC_INTERVAL", d)
	}
	bad := ok
	bad.TrustedProxies = []string{"proxy.internal"}
	require.ErrorContains(t, bad.Validate(), "TRUSTED_PROXIES")
	bad = ok
	bad.RateLimitAuthIP = 0
	require.ErrorContains(t, bad.Validate(), "RATE_LIMIT_AUTH_IP")
	bad = ok
	bad.RateLimitLoginEmail = 0
	require.ErrorContains(t, bad.Validate(), "RATE_LIMIT_LOGIN_EMAIL")
	bad = ok
	bad.RateLimitAuthEmailIP = 2
	require.ErrorContains(t, bad.Validate(), "RATE_LIMIT_AUTH_EMAIL_IP: must be at most RATE_LIMIT_AUTH_EMAIL")
}
