// Package queuetest gives tests an email queue of their own on the test Redis: lanes no other
// test uses, removed when the test ends, and an in-process worker over them.
package queuetest

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/oeshq/oes/pkg/config"
	"github.com/oeshq/oes/pkg/config/workerenv"
	"github.com/oeshq/oes/pkg/infra/queue"
	"github.com/oeshq/oes/pkg/testkit/redistest"
)

// Config returns a queue configuration on the shared test Redis (see redistest.URL) with a
// QueuePrefix no other test uses, tuned for tests: a 100ms PollInterval and a 1s RetryBase (a
// delay below one second cannot be told apart in asynq). Every key of its lanes and under its
// prefix is deleted when the test ends.
func Config(t testing.TB) queue.Config {
	t.Helper()
	return ConfigAt(t, redistest.URL(t))
}

// ConfigAt is Config on the Redis at url, such as a private redistest.Server.
func ConfigAt(t testing.TB, url string) queue.Config {
	t.Helper()
	cfg := config.Defaults[workerenv.Env]().QueueConfig()
	cfg.RedisURL = url
	cfg.QueuePrefix = redistest.Namespace(t)
	cfg.PollInterval = 100 * time.Millisecond
	cfg.RetryBase = time.Second
	cfg.ShutdownTimeout = 2 * time.Second
	t.Cleanup(func() { drop(cfg) })
	return cfg
}

// Client returns a queue client of cfg, closed when the test ends.
func Client(t testing.TB, cfg queue.Config) *queue.Client {
	t.Helper()
	c, err := queue.New(cfg)
	if err != nil {
		t.Fatalf("queuetest: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// Redis returns a go-redis client of cfg's Redis, closed when the test ends.
func Redis(t testing.TB, cfg queue.Config) *redis.Client {
	t.Helper()
	rdb, err := queue.OpenRedis(cfg)
	if err != nil {
		t.Fatalf("queuetest: %v", err)
	}
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// StartWorker runs an asynq server over cfg's lanes with cfg.ServerConfig and handler until the
// test ends; asynq's own log lines go to the test's output from warnings up.
func StartWorker(t testing.TB, cfg queue.Config, handler asynq.Handler) *asynq.Server {
	t.Helper()
	log := slog.New(slog.NewTextHandler(output(t), &slog.HandlerOptions{Level: slog.LevelWarn}))
	scfg, err := cfg.ServerConfig(log)
	if err != nil {
		t.Fatalf("queuetest: %v", err)
	}
	srv := asynq.NewServerFromRedisClient(Redis(t, cfg), scfg)
	if err := srv.Start(handler); err != nil {
		t.Fatalf("queuetest: start worker: %v", err)
	}
	t.Cleanup(srv.Shutdown)
	return srv
}

func output(t testing.TB) io.Writer {
	if o, ok := t.(interface{ Output() io.Writer }); ok {
		return o.Output()
	}
	return io.Discard
}

// drop deletes the keys of cfg's lanes, which asynq names "asynq:{<queue>}:...", and forgets
// the lanes in asynq's list of queues.
func drop(cfg queue.Config) {
	rdb, err := queue.OpenRedis(cfg)
	if err != nil {
		return
	}
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	names := cfg.QueueNames()
	for _, q := range names {
		iter := rdb.Scan(ctx, 0, "asynq:{"+q+"}:*", 1000).Iterator()
		var keys []string
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		if len(keys) > 0 {
			rdb.Unlink(ctx, keys...)
		}
	}
	members := make([]any, len(names))
	for i, q := range names {
		members[i] = q
	}
	rdb.SRem(ctx, "asynq:queues", members...)
}
