package queue_test

import (
	"cmp"
	"context"
	"slices"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/oes"
	"github.com/oeshq/oes/pkg/queue"
	"github.com/oeshq/oes/pkg/queue/queuetest"
)

func TestCountsPutTheWaitingJobsOfAPausedLaneApart(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.enqueueMany(t, 2, 1)
	b.enqueueMany(t, 1, 10)
	b.enqueue(t, "later@example.com", queue.Options{Delay: time.Hour})

	insp := asynq.NewInspectorFromRedisClient(queuetest.Redis(t, b.cfg))
	require.NoError(t, insp.PauseQueue(b.cfg.QueueName(queue.LaneLow)))

	require.Equal(t, queue.Counts{Waiting: 1, Paused: 2, Delayed: 1}, b.counts(t))
}

func TestFailedPagesAcrossLanesOldestFailureFirst(t *testing.T) {
	t.Parallel()
	b := setup(t)
	queuetest.StartWorker(t, b.cfg, asynq.HandlerFunc(func(context.Context, *asynq.Task) error {
		return queue.Permanent("550 5.1.1 no such user", nil)
	}))
	var ids []string
	for _, p := range []int{10, 5, 1, 9, 2} {
		ids = append(ids, b.enqueue(t, "gone@example.com", queue.Options{Priority: p}))
	}
	require.Eventually(t, func() bool { return b.counts(t).Failed == 5 }, 10*time.Second, 20*time.Millisecond)

	var paged []queue.Status
	for page, want := range []int{2, 2, 1, 0} {
		got, err := b.client.Failed(b.ctx, page+1, 2)
		require.NoError(t, err)
		require.Len(t, got, want, "page %d", page+1)
		paged = append(paged, got...)
	}

	all, err := b.client.Failed(b.ctx, 1, 100)
	require.NoError(t, err)
	require.Equal(t, all, paged)
	var got []string
	for _, st := range all {
		got = append(got, st.ID)
		require.Equal(t, queue.StateFailed, st.State)
		require.Equal(t, "550 5.1.1 no such user", st.FailedReason)
		require.Equal(t, 1, st.AttemptsMade, "failed at the first attempt")
		require.NotNil(t, st.LastFailedAt)
	}
	require.ElementsMatch(t, ids, got)
	require.True(t, slices.IsSortedFunc(all, func(a, b queue.Status) int {
		return cmp.Or(a.LastFailedAt.Compare(*b.LastFailedAt), cmp.Compare(a.ID, b.ID))
	}))
}

func TestActivePagesCriticalLaneFirst(t *testing.T) {
	t.Parallel()
	b := setup(t)
	release := make(chan struct{})
	cfg := b.cfg
	cfg.Concurrency = 3
	queuetest.StartWorker(t, cfg, asynq.HandlerFunc(func(ctx context.Context, _ *asynq.Task) error {
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}))
	defer close(release)
	low := b.enqueue(t, "bulk@example.com", queue.Options{Priority: 1})
	def := b.enqueue(t, "news@example.com", queue.Options{Priority: 5})
	crit := b.enqueue(t, "verify@example.com", queue.Options{Priority: 10})
	require.Eventually(t, func() bool { return b.counts(t).Active == 3 }, 10*time.Second, 20*time.Millisecond)

	first, err := b.client.Active(b.ctx, 1, 2)
	require.NoError(t, err)
	second, err := b.client.Active(b.ctx, 2, 2)
	require.NoError(t, err)

	require.Equal(t, []string{crit, def}, ids(first))
	require.Equal(t, []string{low}, ids(second))
	for _, st := range append(first, second...) {
		require.Equal(t, queue.StateActive, st.State)
		require.Equal(t, 1, st.AttemptsMade)
	}
}

func ids(sts []queue.Status) []string {
	var out []string
	for _, st := range sts {
		out = append(out, st.ID)
	}
	return out
}

func TestListingsRefuseAPageOutOfRange(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, pg := range [][2]int{{0, 10}, {1, 0}, {1, 101}, {101, 100}} {
		_, err := b.client.Failed(b.ctx, pg[0], pg[1])
		requireCode(t, oes.EINVALID, err)
		_, err = b.client.Active(b.ctx, pg[0], pg[1])
		requireCode(t, oes.EINVALID, err)
	}
	got, err := b.client.Failed(b.ctx, 1, 10)
	require.NoError(t, err)
	require.Empty(t, got, "no lane exists yet")
}

func TestRetryRefusesJobsThatAreNotFailedOrRetrying(t *testing.T) {
	t.Parallel()
	b := setup(t)
	waiting := b.enqueue(t, "ada@example.com", queue.Options{})
	delayed := b.enqueue(t, "ada@example.com", queue.Options{Delay: time.Hour})

	requireCode(t, oes.ECONFLICT, b.client.Retry(b.ctx, waiting))
	requireCode(t, oes.ECONFLICT, b.client.Retry(b.ctx, delayed))
	requireCode(t, oes.ENOTFOUND, b.client.Retry(b.ctx, "no-such-job"))
	require.Equal(t, queue.Counts{Waiting: 1, Delayed: 1}, b.counts(t))
}

func TestLaneCountsKeepTheLanesApart(t *testing.T) {
	t.Parallel()
	b := setup(t)
	empty, err := b.client.LaneCounts(b.ctx)
	require.NoError(t, err)
	require.Equal(t, map[string]queue.Counts{queue.LaneCritical: {}, queue.LaneDefault: {}, queue.LaneLow: {}}, empty,
		"lanes that never held a job are there, at zero")

	b.enqueue(t, "a@example.com", queue.Options{Priority: 9})
	b.enqueue(t, "b@example.com", queue.Options{Priority: 1})
	b.enqueue(t, "c@example.com", queue.Options{Priority: 2})

	n, err := b.client.LaneCounts(b.ctx)
	require.NoError(t, err)
	require.Equal(t, map[string]queue.Counts{
		queue.LaneCritical: {Waiting: 1},
		queue.LaneDefault:  {},
		queue.LaneLow:      {Waiting: 2},
	}, n)
	require.Equal(t, queue.Counts{Waiting: 3}, b.counts(t))
}
