package workerenv_test

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/config"
	"github.com/oeshq/oes/pkg/config/workerenv"
)

// TestDefaultsAreWhatAnEmptyEnvironmentLoads shows that the worker's defaults, which tests and
// benchmarks build the queue's, the handler's, the relay's and the sender's configurations
// from, are what a worker that is given no variable runs with, and that they work.
func TestDefaultsAreWhatAnEmptyEnvironmentLoads(t *testing.T) {
	for _, name := range config.Variables[workerenv.Env]() {
		t.Setenv(name, "")
		require.NoError(t, os.Unsetenv(name))
	}
	var loaded workerenv.Env
	require.NoError(t, config.Load(&loaded, nil, nil))
	def := config.Defaults[workerenv.Env]()
	require.Equal(t, loaded, def)

	require.NoError(t, def.QueueConfig().ValidateServer())
	require.Equal(t, def.EmailConcurrency, def.SenderConfig().PoolSize, "one SMTP connection per concurrent delivery")
}

func TestLoadRefusesAQueueTheWorkerCannotRun(t *testing.T) {
	t.Setenv("QUEUE_PREFIX", "e mail")
	var loaded workerenv.Env
	require.ErrorContains(t, config.Load(&loaded, nil, nil), "QUEUE_PREFIX")
}
