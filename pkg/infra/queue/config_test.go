package queue_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/config"
	"github.com/oeshq/oes/pkg/config/workerenv"
	"github.com/oeshq/oes/pkg/infra/queue"
)

func TestNewRefusesAnUnusableConfig(t *testing.T) {
	t.Parallel()
	for name, c := range map[string]struct {
		edit func(*queue.Config)
		// client: a client cannot use it either; otherwise only a worker is refused.
		client bool
	}{
		"prefix with a space":       {func(c *queue.Config) { c.QueuePrefix = "e mail" }, true},
		"prefix with a brace":       {func(c *queue.Config) { c.QueuePrefix = "email{x}" }, true},
		"no prefix":                 {func(c *queue.Config) { c.QueuePrefix = "" }, true},
		"no redis":                  {func(c *queue.Config) { c.RedisURL = "" }, true},
		"timeout below a second":    {func(c *queue.Config) { c.Timeout = 500 * time.Millisecond }, true},
		"no timeout":                {func(c *queue.Config) { c.Timeout = 0 }, false},
		"retry max below base":      {func(c *queue.Config) { c.RetryBase, c.RetryMax = time.Minute, time.Second }, false},
		"no retry base":             {func(c *queue.Config) { c.RetryBase = 0 }, false},
		"poll interval below 10ms":  {func(c *queue.Config) { c.PollInterval = time.Millisecond }, false},
		"fetch interval below 1ms":  {func(c *queue.Config) { c.FetchInterval = time.Microsecond }, false},
		"negative concurrency":      {func(c *queue.Config) { c.Concurrency = -1 }, false},
		"no concurrency":            {func(c *queue.Config) { c.Concurrency = 0 }, false},
		"negative shutdown timeout": {func(c *queue.Config) { c.ShutdownTimeout = -time.Second }, false},
	} {
		cfg := config.Defaults[workerenv.Env]().QueueConfig()
		c.edit(&cfg)
		if c.client {
			_, err := queue.New(cfg)
			require.Error(t, err, name)
			require.Error(t, cfg.Validate(), name)
		} else {
			require.NoError(t, cfg.Validate(), name)
		}
		require.Error(t, cfg.ValidateServer(), name)
		_, err := cfg.ServerConfig(nil)
		require.Error(t, err, name)
	}
	shipped := config.Defaults[workerenv.Env]().QueueConfig()
	require.NoError(t, shipped.ValidateServer(), "the worker's defaults run")
	require.NoError(t, config.Defaults[config.Queue]().ClientConfig(config.Defaults[config.Redis]()).Validate(),
		"the api's defaults make a client")
	require.Error(t, queue.Config{}.Validate(), "a queue's Redis and lane names have no default")
}

// A client without a Timeout inspects the queue but enqueues nothing: a job must carry the
// bound of its attempts.
func TestAClientWithoutTimeoutCannotEnqueue(t *testing.T) {
	t.Parallel()
	cfg := config.Defaults[config.Queue]().ClientConfig(config.Defaults[config.Redis]())
	c, err := queue.New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	err = c.Enqueue(t.Context(), queue.Job{ID: 1, Priority: 5, Kind: "verification"})
	require.ErrorContains(t, err, "no Timeout")
}

func TestServerConfigRunsTheWorkerAsConfigured(t *testing.T) {
	t.Parallel()
	cfg := config.Defaults[workerenv.Env]().QueueConfig()
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
	scfg, err := config.Defaults[workerenv.Env]().QueueConfig().ServerConfig(nil)
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
		cfg := config.Defaults[workerenv.Env]().QueueConfig()
		cfg.RedisURL = url
		_, err := queue.New(cfg)
		require.Error(t, err, url)
		require.NotContains(t, err.Error(), "s3cret-pw")

		_, err = queue.OpenRedis(cfg)
		require.Error(t, err, url)
		require.NotContains(t, err.Error(), "s3cret-pw")
	}
}
