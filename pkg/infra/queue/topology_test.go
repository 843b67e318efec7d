package queue_test

import (
	"context"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/config"
	"github.com/oeshq/oes/pkg/config/workerenv"
	"github.com/oeshq/oes/pkg/infra/queue"
	"github.com/oeshq/oes/pkg/infra/queue/queuetest"
	"github.com/oeshq/oes/pkg/testkit/redistest"
)

// Through a redis-sentinel:// URL the relay enqueues and the metrics count jobs, and a
// worker consumes them, as on a single Redis.
func TestQueueThroughSentinel(t *testing.T) {
	t.Parallel()
	s := redistest.StartSentinel(t)
	b := newBundle(t, queuetest.ConfigAt(t, s.URL()))
	require.NoError(t, b.client.Ping(b.ctx))

	j := b.enqueue(t, b.job(9))
	require.Equal(t, lanes(queue.Counts{Waiting: 1}, queue.Counts{}, queue.Counts{}), b.counts(t))
	lost, err := b.client.Recover(b.ctx)
	require.NoError(t, err)
	require.True(t, lost, "a new Redis")

	// The job is on the master the sentinel names, not on some other Redis.
	master := redistest.Client(t, s.Master.URL())
	n, err := master.Do(b.ctx, master.B().Exists().Key(b.taskKey(j)).Build()).AsInt64()
	require.NoError(t, err)
	require.Equal(t, int64(1), n)

	done := make(chan string, 1)
	queuetest.StartWorker(t, b.cfg, asynq.HandlerFunc(func(_ context.Context, task *asynq.Task) error {
		done <- task.ResultWriter().TaskID()
		return nil
	}))
	select {
	case got := <-done:
		require.Equal(t, queue.TaskID(j.ID), got)
	case <-time.After(10 * time.Second):
		t.Fatal("the worker did not run the job within 10s")
	}
}

// When the master dies, the sentinel promotes the replica and the same Client, unchanged,
// enqueues on the new master and still finds the jobs enqueued before.
func TestQueueFollowsSentinelFailover(t *testing.T) {
	t.Parallel()
	s := redistest.StartSentinel(t)
	b := newBundle(t, queuetest.ConfigAt(t, s.URL()))
	deadline := time.Now().Add(30 * time.Second)

	before := b.enqueue(t, b.job(5))
	_, err := b.client.Recover(b.ctx)
	require.NoError(t, err)
	// Replication is asynchronous: kill the master only once the replica has the job and the
	// queue's marker, as what was acknowledged but not yet replicated is lost in any failover.
	replica := redistest.Client(t, s.Replica.URL())
	require.Eventually(t, func() bool {
		n, err := replica.Do(b.ctx, replica.B().Exists().Key(b.taskKey(before), b.cfg.QueuePrefix+":marker").Build()).AsInt64()
		return err == nil && n == 2
	}, 5*time.Second, 10*time.Millisecond, "the replica has the job")

	s.Master.Kill()
	killed := time.Now()
	for {
		addr, err := s.MasterAddr(b.ctx)
		if err == nil && addr == s.Replica.Addr() {
			break
		}
		require.True(t, time.Now().Before(deadline), "the sentinel did not promote the replica (master %q, %v)", addr, err)
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("the sentinel promoted the replica %v after the master was killed", time.Since(killed).Round(time.Millisecond))

	// The promoted replica may take a moment to accept writes after the sentinel names it;
	// the client is never rebuilt, so any success is the client following the failover.
	after := b.job(5)
	for {
		err := b.client.Enqueue(b.ctx, after)
		if err == nil {
			break
		}
		require.True(t, time.Now().Before(deadline), "enqueue after the failover: %v", err)
		time.Sleep(100 * time.Millisecond)
	}
	missing, err := b.client.Missing(b.ctx, []queue.Job{before, after})
	require.NoError(t, err)
	require.Empty(t, missing, "the job enqueued before the failover survives")
	lost, err := b.client.Recover(b.ctx)
	require.NoError(t, err)
	require.False(t, lost, "the replica had all the data")
	require.Equal(t, lanes(queue.Counts{}, queue.Counts{Waiting: 2}, queue.Counts{}), b.counts(t))
}

// A Cluster URL is refused up front, by the Client and by the worker's connection, with the
// reason and the fix, and without the password.
func TestQueueRefusesCluster(t *testing.T) {
	t.Parallel()
	cfg := config.Defaults[workerenv.Env]().QueueConfig()
	cfg.RedisURL = "redis-cluster://:hunter2@127.0.0.1:7000,127.0.0.1:7001"

	c, err := queue.New(cfg)
	require.Nil(t, c)
	require.Error(t, err)
	for _, want := range []string{"RedisURL", "cannot use a Redis Cluster", "QUEUE_REDIS_URL", "redis-sentinel://"} {
		require.Contains(t, err.Error(), want)
	}
	require.NotContains(t, err.Error(), "hunter2")

	rdb, err := queue.OpenRedis(cfg)
	require.Nil(t, rdb)
	require.ErrorContains(t, err, "cannot use a Redis Cluster")
}

func TestQueueRejectsMalformedSentinelURL(t *testing.T) {
	t.Parallel()
	cfg := config.Defaults[workerenv.Env]().QueueConfig()
	cfg.RedisURL = "redis-sentinel://:hunter2@127.0.0.1:26379/0"
	_, err := queue.New(cfg)
	require.ErrorContains(t, err, "?master=<name>")
	require.NotContains(t, err.Error(), "hunter2")
}
