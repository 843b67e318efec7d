package delivery_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/delivery"
	"github.com/oeshq/oes/pkg/mail"
	"github.com/oeshq/oes/pkg/queue"
	"github.com/oeshq/oes/pkg/queue/queuetest"
)

func TestJobGoesFromWaitingThroughActiveToCompleted(t *testing.T) {
	t.Parallel()
	atData, release := make(chan struct{}), make(chan struct{})
	b := setup(t, func(ctx context.Context, _ int, _ mail.Message, progress func(int)) error {
		progress(mail.ProgressConnecting)
		progress(mail.ProgressData)
		close(atData)
		select {
		case <-release:
		case <-ctx.Done():
			return ctx.Err()
		}
		progress(mail.ProgressAccepted)
		return nil
	})
	id := b.enqueue(t, "ada@example.com", queue.Options{Priority: 10})
	require.Equal(t, queue.StateWaiting, b.status(t, id).State)

	b.start(t)
	<-atData
	// Progress is written at most once per interval, so it shows within one.
	active := b.waitFor(t, id, func(st queue.Status) bool { return st.Progress == mail.ProgressData })
	require.Equal(t, queue.StateActive, active.State, "progress is visible mid-send")
	require.Equal(t, 1, active.AttemptsMade)
	running, err := b.client.Active(b.ctx, 1, 10)
	require.NoError(t, err)
	require.Len(t, running, 1)
	require.Equal(t, id, running[0].ID)

	close(release)
	done := b.waitFor(t, id, queuetest.InState(queue.StateCompleted))
	require.Equal(t, 100, done.Progress)
	require.Equal(t, 1, done.AttemptsMade)
	require.Equal(t, 3, done.AttemptsAllowed)
	require.Empty(t, done.FailedReason)
	require.NotNil(t, done.CompletedAt)
	require.Contains(t, b.logs.String(), "email job "+id+" completed")
	delivered, err := delivery.NewRecord(b.rdb, b.cfg).Has(b.ctx, id)
	require.NoError(t, err)
	require.True(t, delivered, "the delivery is recorded")
	ttl, err := b.rdb.TTL(b.ctx, b.cfg.DeliveredKey(id)).Result()
	require.NoError(t, err)
	require.InDelta(t, b.cfg.DeliveredTTL.Seconds(), ttl.Seconds(), 60)
}

func TestTemporaryFailureIsRetriedThenCompletes(t *testing.T) {
	t.Parallel()
	b := setup(t, func(ctx context.Context, n int, m mail.Message, progress func(int)) error {
		if n == 1 {
			progress(mail.ProgressConnecting)
			return temporary(451, "4.7.1 try again later")
		}
		return deliver(ctx, n, m, progress)
	})
	b.start(t)

	id := b.enqueue(t, "ada@example.com", queue.Options{Attempts: 3})

	retrying := b.waitFor(t, id, queuetest.InState(queue.StateRetrying))
	require.Equal(t, "451 4.7.1 try again later", retrying.FailedReason)
	require.Equal(t, 1, retrying.AttemptsMade)
	require.Equal(t, 3, retrying.AttemptsAllowed)
	require.NotNil(t, retrying.NextRunAt)
	require.NotNil(t, retrying.LastFailedAt)
	done := b.waitFor(t, id, queuetest.InState(queue.StateCompleted))
	require.Equal(t, 2, done.AttemptsMade)
	require.Equal(t, 100, done.Progress)
	require.Len(t, b.sender.calls("ada@example.com"), 2)
	logs := b.logs.String()
	require.Contains(t, logs, "email job "+id+" failed (attempt 1/3): 451 4.7.1 try again later")
	require.Contains(t, logs, "email job "+id+" completed")
}

func TestPermanentFailureFailsAtOnceWithTheServerReply(t *testing.T) {
	t.Parallel()
	b := setup(t, func(context.Context, int, mail.Message, func(int)) error {
		return permanent(550, "5.1.1 no such user")
	})
	b.start(t)

	id := b.enqueue(t, "nobody@example.com", queue.Options{Attempts: 5})

	failed := b.waitFor(t, id, queuetest.InState(queue.StateFailed))
	require.Equal(t, "550 5.1.1 no such user", failed.FailedReason)
	require.Equal(t, 1, failed.AttemptsMade)
	require.Equal(t, 5, failed.AttemptsAllowed)
	require.Len(t, b.sender.calls("nobody@example.com"), 1, "no retry")
	require.Contains(t, b.logs.String(), "email job "+id+" failed (attempt 1/5): 550 5.1.1 no such user")
	list, err := b.client.Failed(b.ctx, 1, 10)
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Equal(t, id, list[0].ID)
}

func TestJobFailsWithTheReasonAfterItsLastAttempt(t *testing.T) {
	t.Parallel()
	b := setup(t, func(context.Context, int, mail.Message, func(int)) error {
		return temporary(421, "4.3.2 service not available")
	})
	b.start(t)

	id := b.enqueue(t, "ada@example.com", queue.Options{Attempts: 2})

	retrying := b.waitFor(t, id, queuetest.InState(queue.StateRetrying))
	require.Equal(t, 1, retrying.AttemptsMade)
	failed := b.waitFor(t, id, queuetest.InState(queue.StateFailed))
	require.Equal(t, 2, failed.AttemptsMade)
	require.Equal(t, 2, failed.AttemptsAllowed)
	require.Equal(t, "421 4.3.2 service not available", failed.FailedReason)
	require.Len(t, b.sender.calls("ada@example.com"), 2)
	logs := b.logs.String()
	require.Contains(t, logs, "email job "+id+" failed (attempt 1/2): 421 4.3.2 service not available")
	require.Contains(t, logs, "email job "+id+" failed (attempt 2/2): 421 4.3.2 service not available")
}

// The retries of a job wait RetryBase*2^n with ±20% jitter, stretched to end on a whole second
// (asynq keeps retry times in seconds), and are then picked up within a PollInterval or two.
// RetryBase is 1s: a finer backoff cannot be observed through asynq. So the n-th gap is at
// least 0.8*nominal and at most 1.2*nominal + 1s of rounding + 2 polls, plus a second of slack
// for a loaded machine.
func TestRetriesBackOffExponentially(t *testing.T) {
	t.Parallel()
	b := setup(t, func(context.Context, int, mail.Message, func(int)) error {
		return &mail.DeliveryError{Class: mail.ClassNetwork, Reply: "connection refused"}
	})
	require.Equal(t, time.Second, b.cfg.RetryBase)
	b.start(t)

	id := b.enqueue(t, "ada@example.com", queue.Options{Attempts: 4})

	failed := b.waitFor(t, id, queuetest.InState(queue.StateFailed))
	require.Equal(t, 4, failed.AttemptsMade)
	require.Equal(t, "connection refused", failed.FailedReason)
	at := b.sender.calls("ada@example.com")
	require.Len(t, at, 4)
	for n, nominal := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
		gap := at[n+1].Sub(at[n])
		low := nominal * 8 / 10
		high := nominal*12/10 + time.Second + 2*b.cfg.PollInterval + time.Second
		t.Logf("gap %d: %v", n+1, gap)
		require.True(t, gap >= low && gap <= high, "gap %d is %v, want %v to %v", n+1, gap, low, high)
	}
}

func TestAnUndecodableJobFailsAtOnce(t *testing.T) {
	t.Parallel()
	b := setup(t, deliver)
	b.start(t)
	raw := asynq.NewClientFromRedisClient(b.rdb)

	info, err := raw.EnqueueContext(b.ctx, asynq.NewTask(queue.TypeEmail, []byte(`{"to":`)),
		asynq.Queue(b.cfg.QueueName(queue.LaneDefault)), asynq.MaxRetry(4))
	require.NoError(t, err)

	failed := b.waitFor(t, info.ID, queuetest.InState(queue.StateFailed))
	require.Equal(t, 1, failed.AttemptsMade)
	require.Contains(t, failed.FailedReason, "undecodable email job")
	require.Contains(t, b.logs.String(), "email job "+info.ID+" failed (attempt 1/5): undecodable email job")
}

// Outside an asynq server (no job id, no result writer) the handler still sends and sorts its
// errors.
func TestProcessTaskSortsFailures(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		err    error
		final  bool
		reason string
	}{
		{"permanent", permanent(550, "5.1.1 no such user"), true, "550 5.1.1 no such user"},
		{"temporary", temporary(451, "4.7.1 greylisted"), false, "451 4.7.1 greylisted"},
		{"network", &mail.DeliveryError{Class: mail.ClassNetwork, Reply: "connection reset by peer"}, false, "connection reset by peer"},
		{"code only", permanent(554, ""), true, "554"},
		{"unclassified", errors.New("boom"), false, "boom"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := setup(t, func(context.Context, int, mail.Message, func(int)) error { return tc.err })
			task, _, err := b.cfg.NewTask(message("ada@example.com"), queue.Options{})
			require.NoError(t, err)

			err = b.handler.ProcessTask(b.ctx, task)

			require.EqualError(t, err, tc.reason)
			require.Equal(t, tc.final, errors.Is(err, asynq.SkipRetry))
			require.ErrorIs(t, err, tc.err, "the cause is kept")
		})
	}
	t.Run("success", func(t *testing.T) {
		b := setup(t, deliver)
		task, _, err := b.cfg.NewTask(message("ada@example.com"), queue.Options{})
		require.NoError(t, err)
		require.NoError(t, b.handler.ProcessTask(b.ctx, task))
		require.True(t, strings.Contains(b.logs.String(), "completed"))
	})
}
