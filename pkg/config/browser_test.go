package config_test

import (
	"bytes"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/config"
)

type browserConfig struct {
	config.Browser
}

func clearBrowserEnv(t *testing.T) {
	t.Helper()
	for _, key := range []string{"HSTS_MAX_AGE", "CORS_ALLOWED_ORIGINS"} {
		t.Setenv(key, "")
		require.NoError(t, os.Unsetenv(key))
	}
}

func TestBrowserDefaultsAreOff(t *testing.T) {
	clearBrowserEnv(t)
	var cfg browserConfig
	require.NoError(t, config.Load(&cfg, nil, &bytes.Buffer{}))
	require.Zero(t, cfg.HSTSMaxAge)
	require.Empty(t, cfg.CORSAllowedOrigins)

	t.Setenv("HSTS_MAX_AGE", "8760h")
	t.Setenv("CORS_ALLOWED_ORIGINS", "https://app.example.org,http://localhost:3000")
	require.NoError(t, config.Load(&cfg, nil, &bytes.Buffer{}))
	require.Equal(t, 8760*time.Hour, cfg.HSTSMaxAge)
	require.Equal(t, []string{"https://app.example.org", "http://localhost:3000"}, cfg.CORSAllowedOrigins)

	t.Setenv("CORS_ALLOWED_ORIGINS", "*")
	require.NoError(t, config.Load(&cfg, nil, &bytes.Buffer{}))
	require.Equal(t, []string{"*"}, cfg.CORSAllowedOrigins)
}

func TestBrowserBadValueNamesTheVariable(t *testing.T) {
	for _, tc := range []struct{ key, value string }{
		{"HSTS_MAX_AGE", "-1s"},
		{"HSTS_MAX_AGE", "1500ms"},
		{"HSTS_MAX_AGE", "20000h"},
		{"HSTS_MAX_AGE", "a year"},
		{"CORS_ALLOWED_ORIGINS", "app.example.org"},
		{"CORS_ALLOWED_ORIGINS", "https://app.example.org/"},
		{"CORS_ALLOWED_ORIGINS", "https://app.example.org/spa"},
		{"CORS_ALLOWED_ORIGINS", "https://App.Example.org"},
		{"CORS_ALLOWED_ORIGINS", "ftp://app.example.org"},
		{"CORS_ALLOWED_ORIGINS", "null"},
		{"CORS_ALLOWED_ORIGINS", "*,https://app.example.org"},
	} {
		t.Run(tc.key+"="+tc.value, func(t *testing.T) {
			clearBrowserEnv(t)
			t.Setenv(tc.key, tc.value)
			var cfg browserConfig
			require.ErrorContains(t, config.Load(&cfg, nil, &bytes.Buffer{}), tc.key)
		})
	}
}
