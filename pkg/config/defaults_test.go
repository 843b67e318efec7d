package config_test

import (
	"os"
	"reflect"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/config"
)

// everyPiece is a struct of every piece the api reads; the worker's own pieces are checked in
// package workerenv.
type everyPiece struct {
	config.Database
	config.Redis
	config.Cache
	config.HTTP
	config.Metrics
	config.Shutdown
	config.Log
	config.Queue
	config.Auth
	config.CacheEncryption
	config.RateLimit
	config.Browser
	config.Admin
	config.Exams
}

// TestDefaultsAreWhatAnEmptyEnvironmentLoads shows that Defaults, which tests and benchmarks
// build the libraries' configurations from, is what a deployment that sets nothing runs with.
func TestDefaultsAreWhatAnEmptyEnvironmentLoads(t *testing.T) {
	ClearEnvOf[everyPiece](t)
	t.Setenv("JWT_SECRET", "") // required by the api's serve, not by Load
	var loaded everyPiece
	require.NoError(t, config.Load(&loaded, nil, nil))
	require.Equal(t, loaded, config.Defaults[everyPiece]())
	require.NoError(t, config.Defaults[everyPiece]().Cache.CacheConfig().Validate())
}

// ClearEnvOf unsets every variable T's tags name, whatever the developer's shell or the test
// runner exported, and restores them when the test ends.
func ClearEnvOf[T any](t *testing.T) {
	t.Helper()
	var walk func(reflect.Type)
	walk = func(rt reflect.Type) {
		for i := range rt.NumField() {
			f := rt.Field(i)
			if f.Anonymous && f.Type.Kind() == reflect.Struct {
				walk(f.Type)
				continue
			}
			if key := f.Tag.Get("envconfig"); key != "" {
				t.Setenv(key, "")
				require.NoError(t, os.Unsetenv(key))
			}
		}
	}
	walk(reflect.TypeFor[T]())
}
