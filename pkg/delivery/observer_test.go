package delivery_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/delivery"
	"github.com/oeshq/oes/pkg/mail"
	"github.com/oeshq/oes/pkg/queue"
	"github.com/oeshq/oes/pkg/queue/queuetest"
)

// observed records what a delivery.Observer hears.
type observed struct {
	mu     sync.Mutex
	sent   []error
	failed []string // class, then "retry" or "final"
}

func (o *observed) Sent(took time.Duration, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.sent = append(o.sent, err)
}

func (o *observed) Failed(class mail.Class, retry bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	outcome := "final"
	if retry {
		outcome = "retry"
	}
	o.failed = append(o.failed, string(class)+" "+outcome)
}

func (o *observed) snapshot() (sent []error, failed []string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]error(nil), o.sent...), append([]string(nil), o.failed...)
}

func TestObserverHearsEverySendAndFailure(t *testing.T) {
	t.Parallel()
	b := setup(t, func(ctx context.Context, n int, m mail.Message, progress func(int)) error {
		switch {
		case m.To[0] == "bob@example.com":
			return permanent(550, "5.1.1 no such user")
		case n == 1:
			return temporary(451, "4.7.1 try again later")
		}
		return deliver(ctx, n, m, progress)
	})
	obs := &observed{}
	b.handler = delivery.New(b.sender, b.rdb, b.cfg, nil, delivery.WithObserver(obs))
	b.start(t)

	ada := b.enqueue(t, "ada@example.com", queue.Options{Attempts: 3})
	b.waitFor(t, ada, queuetest.InState(queue.StateCompleted))
	bob := b.enqueue(t, "bob@example.com", queue.Options{Attempts: 3})
	b.waitFor(t, bob, queuetest.InState(queue.StateFailed))
	raw := asynq.NewClientFromRedisClient(b.rdb)
	info, err := raw.EnqueueContext(b.ctx, asynq.NewTask(queue.TypeEmail, []byte(`{"to":`)),
		asynq.Queue(b.cfg.QueueName(queue.LaneDefault)), asynq.MaxRetry(4))
	require.NoError(t, err)
	b.waitFor(t, info.ID, queuetest.InState(queue.StateFailed))

	sent, failed := obs.snapshot()
	require.Len(t, sent, 3, "the undecodable job is never sent")
	require.Equal(t, mail.ClassTemporary, mail.ClassOf(sent[0]))
	require.NoError(t, sent[1])
	require.True(t, mail.IsPermanent(sent[2]))
	require.Equal(t, []string{"temporary retry", "permanent final", "permanent final"}, failed)
}
