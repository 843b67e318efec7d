package queue_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/infra/queue"
)

// Missing reads asynq's task keys itself: a task in any state must count as there, or the
// relay's sweep would queue running and failed emails again.
func TestMissingFindsExactlyTheJobsWhoseTasksAreGone(t *testing.T) {
	t.Parallel()
	b, _ := setupPrivate(t)
	e := b.jobsInEveryState(t)
	never := b.job(5)
	all := append(e.live(), e.failed, never)

	missing, err := b.client.Missing(b.ctx, all)
	require.NoError(t, err)
	require.Equal(t, []queue.Job{never}, missing, "a task in any state is there")

	require.NoError(t, b.rdb.Del(b.ctx, b.taskKey(e.delayed), b.taskKey(e.failed)).Err())

	missing, err = b.client.Missing(b.ctx, all)
	require.NoError(t, err)
	require.Equal(t, []queue.Job{e.delayed, e.failed, never}, missing)

	missing, err = b.client.Missing(b.ctx, nil)
	require.NoError(t, err)
	require.Empty(t, missing)
}

// asynq's client names a lane in its set of queues once per process. After Redis lost its
// data, a task enqueued again is in a lane asynq's Inspector does not know, and the lane counts
// miss it, until Recover names the lanes again.
func TestRecoverReportsALossOnceAndNamesTheLanesAgain(t *testing.T) {
	t.Parallel()
	b, _ := setupPrivate(t)
	lostData := func() bool {
		t.Helper()
		lost, err := b.client.Recover(b.ctx)
		require.NoError(t, err)
		return lost
	}
	require.True(t, lostData(), "a Redis that never held the queue has lost it")
	require.False(t, lostData(), "nothing was lost since")
	j := b.enqueue(t, b.job(9))

	require.NoError(t, b.rdb.FlushAll(b.ctx).Err())
	b.enqueue(t, j)
	require.Equal(t, lanes(queue.Counts{}, queue.Counts{}, queue.Counts{}), b.counts(t),
		"precondition: the lane counts miss the task")

	require.True(t, lostData())
	require.Equal(t, lanes(queue.Counts{Waiting: 1}, queue.Counts{}, queue.Counts{}), b.counts(t))
	known, err := b.rdb.SMembers(b.ctx, "asynq:queues").Result()
	require.NoError(t, err)
	require.ElementsMatch(t, b.cfg.QueueNames(), known)
	require.False(t, lostData())
}

func TestEachQueueOfARedisRecoversOnItsOwn(t *testing.T) {
	t.Parallel()
	a, b := setup(t), setup(t)

	lost, err := a.client.Recover(a.ctx)
	require.NoError(t, err)
	require.True(t, lost)
	lost, err = b.client.Recover(b.ctx)
	require.NoError(t, err)
	require.True(t, lost, "another queue's marker does not stand for this one")
	lost, err = a.client.Recover(a.ctx)
	require.NoError(t, err)
	require.False(t, lost)
}

// What the relay does when the queue's Redis restarts empty: the same Client finds the jobs
// Redis lost and queues them again, as they were.
func TestJobsLostInARedisRestartAreQueuedAgain(t *testing.T) {
	t.Parallel()
	b, srv := setupPrivate(t)
	_, err := b.client.Recover(b.ctx)
	require.NoError(t, err)
	jobs := []queue.Job{b.job(9), b.job(5), b.job(1)}
	jobs[1].RunAt = time.Now().Add(time.Hour)
	for _, j := range jobs {
		b.enqueue(t, j)
	}

	srv.Stop()
	srv.Start()
	require.Eventually(t, func() bool { return b.client.Ping(b.ctx) == nil }, 5*time.Second, 20*time.Millisecond)

	lost, err := b.client.Recover(b.ctx)
	require.NoError(t, err)
	require.True(t, lost)
	missing, err := b.client.Missing(b.ctx, jobs)
	require.NoError(t, err)
	require.Equal(t, jobs, missing)
	for _, j := range missing {
		b.enqueue(t, j)
	}

	missing, err = b.client.Missing(b.ctx, jobs)
	require.NoError(t, err)
	require.Empty(t, missing)
	require.Equal(t, lanes(queue.Counts{Waiting: 1}, queue.Counts{Delayed: 1}, queue.Counts{Waiting: 1}), b.counts(t))
}
