package main

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/config"
)

// The defaults tests and benchmarks build the api's libraries from (config.Defaults) are what
// an api given no variable loads, and they make configurations the libraries accept.
func TestDefaultsAreWhatAnEmptyEnvironmentLoads(t *testing.T) {
	for _, name := range config.Variables[Config]() {
		t.Setenv(name, "")
		require.NoError(t, os.Unsetenv(name))
	}
	var loaded Config
	require.NoError(t, config.Load(&loaded, nil, nil))
	def := config.Defaults[Config]()
	require.Equal(t, loaded, def)
	require.NoError(t, def.CacheConfig().Validate())
	require.NoError(t, def.ClientConfig(def.Redis).Validate())
}
