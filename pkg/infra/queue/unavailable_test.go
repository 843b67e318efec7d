package queue_test

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/config"
	"github.com/oeshq/oes/pkg/config/workerenv"
	"github.com/oeshq/oes/pkg/infra/queue"
	"github.com/oeshq/oes/pkg/oes"
)

func TestAStoppedRedisIsUnavailable(t *testing.T) {
	t.Parallel()
	b, srv := setupPrivate(t)
	j := b.enqueue(t, b.job(5))

	srv.Stop()

	requireUnavailable(t, b.client.Enqueue(b.ctx, j), srv.Addr())
	requireUnavailable(t, b.client.Enqueue(b.ctx, b.job(1)), srv.Addr())
	_, err := b.client.Missing(b.ctx, []queue.Job{j})
	requireUnavailable(t, err, srv.Addr())
	_, err = b.client.Recover(b.ctx)
	requireUnavailable(t, err, srv.Addr())
	_, err = b.client.LaneCounts(b.ctx)
	requireUnavailable(t, err, srv.Addr())
	requireUnavailable(t, b.client.Ping(b.ctx), srv.Addr())
}

func requireUnavailable(t *testing.T, err error, addr string) {
	t.Helper()
	e := requireCode(t, oes.EUNAVAILABLE, err)
	require.NotContains(t, e.Message, addr, "the message shows no internals")
	require.NotNil(t, errors.Unwrap(e), "the cause is kept for logs")
}

func TestACancelledCallerGetsItsErrorAndNothingIsQueued(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx, cancel := context.WithCancel(b.ctx)
	cancel()

	require.ErrorIs(t, b.client.Enqueue(ctx, b.job(5)), context.Canceled)
	_, err := b.client.Missing(ctx, []queue.Job{b.job(5)})
	require.ErrorIs(t, err, context.Canceled)
	_, err = b.client.Recover(ctx)
	require.ErrorIs(t, err, context.Canceled)
	_, err = b.client.LaneCounts(ctx)
	require.ErrorIs(t, err, context.Canceled)
	require.ErrorIs(t, b.client.Ping(ctx), context.Canceled)

	require.Equal(t, lanes(queue.Counts{}, queue.Counts{}, queue.Counts{}), b.counts(t))
}

// asynq's Inspector takes no context; LaneCounts (read for the metrics) must still return
// when its caller's deadline passes, however long Redis takes to answer.
func TestContextBoundsTheWaitForLaneCounts(t *testing.T) {
	t.Parallel()
	cfg := config.Defaults[workerenv.Env]().QueueConfig()
	cfg.RedisURL = "redis://" + silentRedis(t) + "/0"
	client, err := queue.New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = client.Close() })
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()

	start := time.Now()
	_, err = client.LaneCounts(ctx)

	require.Less(t, time.Since(start), time.Second)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	requireCode(t, oes.EUNAVAILABLE, err)
}

// silentRedis returns the address of a server that accepts connections and never answers, as
// a Redis stuck in a long command would.
func silentRedis(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var (
		mu    sync.Mutex
		conns []net.Conn
	)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return l.Addr().String()
}
