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

// Defaults, which tests and benchmarks build the libraries' configurations from, is what a
// deployment that sets nothing loads; the binaries' tests check their whole environments.
func TestDefaultsAreWhatAnEmptyEnvironmentLoads(t *testing.T) {
	ClearEnvOf[testConfig](t)
	var loaded testConfig
	require.NoError(t, config.Load(&loaded, nil, nil))
	require.Equal(t, loaded, config.Defaults[testConfig]())
	require.NoError(t, config.Defaults[config.Cache]().CacheConfig().Validate())
}

func TestVariablesNamesEveryPiecesVariable(t *testing.T) {
	t.Parallel()
	names := config.Variables[testConfig]()
	require.Contains(t, names, "DATABASE_URL")
	require.Contains(t, names, "CACHE_TTL_ALL_EXAMS")
	require.Contains(t, names, "LOG_LEVEL")
	require.NotContains(t, names, "SMTP_HOST", "the test's struct has no SMTP piece")
}
