package main

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// testCacheKey is a valid CACHE_ENCRYPTION_KEY (32 bytes, base64) for the servers tests start.
const testCacheKey = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="

func TestServeRefusesToStartWithoutAGoodCacheKey(t *testing.T) {
	t.Parallel()
	for name, value := range map[string]string{
		"missing":  "",
		"short":    "c2l4dGVlbiBieXRlcyEhIQ==",
		"notAKey":  "correct horse battery staple",
		"hexShort": "00112233445566778899aabbccddeeff",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			out, code := runMain(t, "serve", "JWT_SECRET="+testSecret, "CACHE_ENCRYPTION_KEY="+value)
			require.Equal(t, 1, code, out)
			require.Contains(t, out, "CACHE_ENCRYPTION_KEY")
			require.NotContains(t, out, "api listening")
			if value != "" {
				require.NotContains(t, out, value, "the key is never repeated")
			}
		})
	}
}

func TestHelpListsProfileAndLimitVariables(t *testing.T) {
	t.Parallel()
	out, code := runMain(t, "--help")
	require.Equal(t, 0, code, out)
	for _, v := range []string{"CACHE_ENCRYPTION_KEY", "RATE_LIMIT_ENABLED", "RATE_LIMIT_AUTH_IP", "RATE_LIMIT_AUTH_EMAIL",
		"RATE_LIMIT_IP", "RATE_LIMIT_USER", "RATE_LIMIT_SYNC_INTERVAL", "RATE_LIMIT_REDIS_URL", "RATE_LIMIT_PREFIX", "TRUSTED_PROXIES"} {
		require.Contains(t, out, v)
	}
}
