package queue_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/infra/queue"
	"github.com/oeshq/oes/pkg/infra/queue/queuetest"
)

func TestTaskIDIsTheOutboxIDInDecimal(t *testing.T) {
	t.Parallel()
	require.Equal(t, "42", queue.TaskID(42))
	id, err := queue.ParseTaskID(queue.TaskID(9007199254740993))
	require.NoError(t, err)
	require.Equal(t, int64(9007199254740993), id)

	for _, s := range []string{"", "0", "-3", "4x", " 42", "0x2a", "9223372036854775808",
		"8f14e45f-ceea-467f-a0e6-1b2c3d4e5f60"} {
		_, err := queue.ParseTaskID(s)
		require.Error(t, err, "%q", s)
	}
}

// A deferral (an SMTP or Postgres outage) runs the job again without counting as a failed
// try; a failed try does count.
func TestADeferredJobRunsAgainWithoutCountingAsARetry(t *testing.T) {
	t.Parallel()
	b := setup(t)
	retried := make(chan int, 3)
	var runs atomic.Int32
	queuetest.StartWorker(t, b.cfg, asynq.HandlerFunc(func(ctx context.Context, _ *asynq.Task) error {
		n, _ := asynq.GetRetryCount(ctx)
		retried <- n
		switch runs.Add(1) {
		case 1:
			return queue.Defer(0, "smtp.example.org unreachable", nil)
		case 2:
			return errors.New("421 4.7.0 try again later")
		default:
			return nil
		}
	}))
	j := b.enqueue(t, b.job(9))

	var got []int
	for range 3 {
		select {
		case n := <-retried:
			got = append(got, n)
		case <-time.After(10 * time.Second):
			t.Fatalf("the job ran %d times within 10s, want 3: retried %v", len(got), got)
		}
	}
	require.Equal(t, []int{0, 0, 1}, got)
	requireGone(t, b, j)
}

func TestAPermanentErrorFailsTheJobAtOnceWithItsReason(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var runs atomic.Int32
	queuetest.StartWorker(t, b.cfg, asynq.HandlerFunc(func(context.Context, *asynq.Task) error {
		runs.Add(1)
		return queue.Permanent("550 5.1.1 no such user", errors.New("smtp: 550 5.1.1 <ada@example.com>: no such user"))
	}))

	j := b.enqueue(t, b.job(5))

	b.waitState(t, j, asynq.TaskStateArchived)
	require.Equal(t, "550 5.1.1 no such user", b.task(t, j).LastErr)
	require.Equal(t, int32(1), runs.Load())
}
