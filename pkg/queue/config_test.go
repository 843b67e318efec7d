package queue_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/queue"
)

func TestNewRefusesAnUnusableConfig(t *testing.T) {
	t.Parallel()
	for name, f := range map[string]func(*queue.Config){
		"prefix with a space":       func(c *queue.Config) { c.QueuePrefix = "e mail" },
		"prefix with a brace":       func(c *queue.Config) { c.QueuePrefix = "email{x}" },
		"timeout below a second":    func(c *queue.Config) { c.Timeout = 500 * time.Millisecond },
		"retry max below base":      func(c *queue.Config) { c.RetryBase, c.RetryMax = time.Minute, time.Second },
		"poll interval below 10ms":  func(c *queue.Config) { c.PollInterval = time.Millisecond },
		"fetch interval below 1ms":  func(c *queue.Config) { c.FetchInterval = time.Microsecond },
		"negative concurrency":      func(c *queue.Config) { c.Concurrency = -1 },
		"negative shutdown timeout": func(c *queue.Config) { c.ShutdownTimeout = -time.Second },
	} {
		cfg := queue.DefaultConfig()
		f(&cfg)
		_, err := queue.New(cfg)
		require.Error(t, err, name)
		require.Error(t, cfg.Validate(), name)
		_, err = cfg.ServerConfig(nil)
		require.Error(t, err, name)
	}
	require.NoError(t, queue.DefaultConfig().Validate())
	require.NoError(t, queue.Config{}.Validate(), "zero fields take the defaults")
}

func TestServerConfigRunsTheWorkerAsConfigured(t *testing.T) {
	t.Parallel()
	cfg := queue.DefaultConfig()
	cfg.Concurrency = 7
	cfg.FetchInterval = 50 * time.Millisecond
	cfg.PollInterval = 250 * time.Millisecond
	cfg.ShutdownTimeout = 3 * time.Second
	cfg.RetryBase = 4 * time.Second

	scfg, err := cfg.ServerConfig(nil)
	require.NoError(t, err)

	require.Equal(t, 7, scfg.Concurrency)
	require.Equal(t, 50*time.Millisecond, scfg.TaskCheckInterval, "how soon an idle worker sees a new email")
	require.Equal(t, 250*time.Millisecond, scfg.DelayedTaskCheckInterval)
	require.Equal(t, 3*time.Second, scfg.ShutdownTimeout)
	d := scfg.RetryDelayFunc(0, errors.New("421 4.3.2 try again later"), nil)
	require.GreaterOrEqual(t, d, 4*time.Second*8/10)
	require.LessOrEqual(t, d, 4*time.Second*12/10+time.Second)
}

// asynq counts a failure towards the task's retries and its failure statistics; only what went
// wrong with the email itself should count.
func TestServerConfigCountsOnlyFailuresOfTheEmail(t *testing.T) {
	t.Parallel()
	scfg, err := queue.DefaultConfig().ServerConfig(nil)
	require.NoError(t, err)

	for name, c := range map[string]struct {
		err     error
		failure bool
	}{
		"an SMTP refusal":          {errors.New("421 4.7.0 try again later"), true},
		"a permanent failure":      {queue.Permanent("550 5.1.1 no such user", nil), true},
		"a deferral":               {queue.Defer(time.Minute, "smtp.example.org unreachable", nil), false},
		"a wrapped deferral":       {fmt.Errorf("deliver: %w", queue.Defer(time.Minute, "postgres unavailable", nil)), false},
		"a dead worker's lease":    {asynq.ErrLeaseExpired, false},
		"a wrapped lease's expiry": {fmt.Errorf("recover: %w", asynq.ErrLeaseExpired), false},
	} {
		require.Equal(t, c.failure, scfg.IsFailure(c.err), name)
	}
}

func TestNewRefusesABadURLWithoutRepeatingThePassword(t *testing.T) {
	t.Parallel()
	for _, url := range []string{
		"redis://:s3cret-pw@localhost:notaport/0",
		"redis://:s3cret-pw@localhost:6379/notadb",
		"http://:s3cret-pw@localhost:6379/0",
		"redis://user:s3cret-pw@local host/0",
	} {
		cfg := queue.DefaultConfig()
		cfg.RedisURL = url
		_, err := queue.New(cfg)
		require.Error(t, err, url)
		require.NotContains(t, err.Error(), "s3cret-pw")

		_, err = queue.OpenRedis(cfg)
		require.Error(t, err, url)
		require.NotContains(t, err.Error(), "s3cret-pw")
	}
}
