package delivery_test

import (
	"context"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/mail"
	"github.com/oeshq/oes/pkg/oes"
	"github.com/oeshq/oes/pkg/queue"
	"github.com/oeshq/oes/pkg/queue/queuetest"
)

func TestRetryDeliversAFailedJob(t *testing.T) {
	t.Parallel()
	b := setup(t, func(ctx context.Context, n int, m mail.Message, progress func(int)) error {
		if n == 1 {
			return permanent(552, "5.2.2 mailbox full")
		}
		return deliver(ctx, n, m, progress)
	})
	b.start(t)
	id := b.enqueue(t, "full@example.com", queue.Options{})
	b.waitFor(t, id, queuetest.InState(queue.StateFailed))
	counts, err := b.client.Counts(b.ctx)
	require.NoError(t, err)
	require.Equal(t, queue.Counts{Failed: 1}, counts)

	require.NoError(t, b.client.Retry(b.ctx, id))

	b.waitFor(t, id, queuetest.InState(queue.StateCompleted))
	require.Len(t, b.sender.calls("full@example.com"), 2)
	counts, err = b.client.Counts(b.ctx)
	require.NoError(t, err)
	require.Equal(t, queue.Counts{Completed: 1}, counts)
}

func TestRetryRunsARetryingJobWithoutWaitingForItsBackoff(t *testing.T) {
	t.Parallel()
	b := setup(t, func(ctx context.Context, n int, m mail.Message, progress func(int)) error {
		if n == 1 {
			return temporary(451, "4.3.0 try again later")
		}
		return deliver(ctx, n, m, progress)
	})
	b.cfg.RetryBase = time.Hour
	b.cfg.RetryMax = time.Hour
	b.start(t)
	id := b.enqueue(t, "ada@example.com", queue.Options{})
	b.waitFor(t, id, queuetest.InState(queue.StateRetrying))

	require.NoError(t, b.client.Retry(b.ctx, id))

	done := b.waitFor(t, id, queuetest.InState(queue.StateCompleted))
	require.Equal(t, 2, done.AttemptsMade)
}

func TestRetryRefusesARunningJob(t *testing.T) {
	t.Parallel()
	started, release := make(chan struct{}), make(chan struct{})
	b := setup(t, func(ctx context.Context, _ int, _ mail.Message, _ func(int)) error {
		close(started)
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	b.start(t)
	defer close(release)
	id := b.enqueue(t, "ada@example.com", queue.Options{})
	<-started

	err := b.client.Retry(b.ctx, id)

	var e *oes.Error
	require.ErrorAs(t, err, &e)
	require.Equal(t, oes.ECONFLICT, e.Code)
	counts, err := b.client.Counts(b.ctx)
	require.NoError(t, err)
	require.Equal(t, queue.Counts{Active: 1}, counts)
}

func TestADeliveredJobIsNotSentAgain(t *testing.T) {
	t.Parallel()
	b := setup(t, deliver)
	b.start(t)
	id := b.enqueue(t, "ada@example.com", queue.Options{ID: "welcome-ada"})
	b.waitFor(t, id, queuetest.InState(queue.StateCompleted))
	require.Len(t, b.sender.calls("ada@example.com"), 1)

	// Run the same job again, as asynq does when the worker dies after the server accepted the
	// message but before asynq recorded the success.
	insp := asynq.NewInspectorFromRedisClient(b.rdb)
	require.NoError(t, insp.DeleteTask(b.cfg.QueueName(queue.LaneDefault), id))
	b.enqueue(t, "ada@example.com", queue.Options{ID: "welcome-ada"})

	rerun := b.waitFor(t, id, queuetest.InState(queue.StateCompleted))
	require.Equal(t, 100, rerun.Progress)
	require.Len(t, b.sender.calls("ada@example.com"), 1, "not sent twice")
	require.Contains(t, b.logs.String(), "email job welcome-ada was delivered before; not sending it again")
}
