package config_test

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/config"
)

// ClearEnvOf unsets every variable T reads, whatever the developer's shell or the test runner
// exported, and restores them when the test ends.
func ClearEnvOf[T any](t *testing.T) {
	t.Helper()
	for _, name := range config.Variables[T]() {
		t.Setenv(name, "")
		require.NoError(t, os.Unsetenv(name))
	}
}

// Defaults, which tests and benchmarks build the libraries' configurations from, is what an
// api given no variable loads, and it makes configurations the libraries accept. The worker's
// is checked in package workerenv.
func TestDefaultsAreWhatAnEmptyEnvironmentLoads(t *testing.T) {
	ClearEnvOf[config.API](t)
	var loaded config.API
	require.NoError(t, config.Load(&loaded, nil, nil))
	def := config.Defaults[config.API]()
	require.Equal(t, loaded, def)
	require.NoError(t, def.CacheConfig().Validate())
	require.NoError(t, def.ClientConfig(def.Redis).Validate())
}

func TestVariablesNamesEveryPiecesVariable(t *testing.T) {
	t.Parallel()
	names := config.Variables[testConfig]()
	require.Contains(t, names, "DATABASE_URL")
	require.Contains(t, names, "CACHE_TTL_ALL_EXAMS")
	require.Contains(t, names, "LOG_LEVEL")
	require.NotContains(t, names, "SMTP_HOST", "the test's struct has no SMTP piece")
}

func TestDefaultTextsAreTheTagsAsHelpPrintsThem(t *testing.T) {
	t.Parallel()
	defaults := config.DefaultTexts[testConfig]()
	require.Equal(t, "64MiB", defaults["CACHE_LOCAL_SIZE"])
	require.Equal(t, "json", defaults["LOG_FORMAT"])
	require.Contains(t, defaults, "CACHE_REDIS_URL")
	require.Empty(t, defaults["CACHE_REDIS_URL"], "a variable without a default")
	require.Len(t, defaults, len(config.Variables[testConfig]()))
}
