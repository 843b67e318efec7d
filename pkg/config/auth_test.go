package config_test

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/config"
)

type authConfig struct {
	config.Auth
}

func clearAuthEnv(t *testing.T) {
	t.Helper()
	for _, key := range []string{"JWT_SECRET", "JWT_TTL", "APP_BASE_URL", "LINK_BASE_URL", "VERIFY_TOKEN_TTL", "RESET_TOKEN_TTL"} {
		t.Setenv(key, "")
		require.NoError(t, os.Unsetenv(key))
	}
}

func TestAuthDefaults(t *testing.T) {
	clearAuthEnv(t)
	var cfg authConfig
	require.NoError(t, config.Load(&cfg, nil, &bytes.Buffer{}))
	require.Equal(t, 15*time.Minute, cfg.JWTTTL)
	require.Equal(t, 24*time.Hour, cfg.VerifyTokenTTL)
	require.Equal(t, time.Hour, cfg.ResetTokenTTL)
	require.Equal(t, "http://localhost:8080", cfg.BaseURL())
	require.Equal(t, "http://localhost:8080", cfg.LinkBase(), "the api's own pages")
	require.ErrorContains(t, cfg.RequireSecret(), "JWT_SECRET")

	t.Setenv("APP_BASE_URL", "https://exams.example.org/")
	t.Setenv("JWT_SECRET", strings.Repeat("k", 32))
	require.NoError(t, config.Load(&cfg, nil, &bytes.Buffer{}))
	require.Equal(t, "https://exams.example.org", cfg.BaseURL())
	require.Equal(t, "https://exams.example.org", cfg.LinkBase())
	require.NoError(t, cfg.RequireSecret())

	t.Setenv("LINK_BASE_URL", "https://app.example.org/account/")
	require.NoError(t, config.Load(&cfg, nil, &bytes.Buffer{}))
	require.Equal(t, "https://app.example.org/account", cfg.LinkBase(), "a front end's pages")
	require.Equal(t, "https://exams.example.org", cfg.BaseURL())
}

func TestAuthBadValueNamesTheVariable(t *testing.T) {
	secret := "short-secret-value"
	for key, value := range map[string]string{
		"JWT_SECRET": secret, "JWT_TTL": "0s", "VERIFY_TOKEN_TTL": "-1h", "RESET_TOKEN_TTL": "soon",
		"APP_BASE_URL": "localhost:8080", "LINK_BASE_URL": "https://app.example.org/?from=email",
	} {
		t.Run(key, func(t *testing.T) {
			clearAuthEnv(t)
			t.Setenv(key, value)
			var cfg authConfig
			err := config.Load(&cfg, nil, &bytes.Buffer{})
			require.ErrorContains(t, err, key)
			require.NotContains(t, err.Error(), secret, "the secret is never repeated")
		})
	}
}
