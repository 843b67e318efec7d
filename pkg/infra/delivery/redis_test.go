package delivery_test

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/infra/queue/queuetest"
	"github.com/oeshq/oes/pkg/oes"
	"github.com/oeshq/oes/pkg/testkit/redistest"
)

// The queue's Redis restarts without its data while 30 emails are queued, 5 of them in the
// middle of their SMTP transaction. The seed's pipeline lost every one of them. Here the
// outbox still has them: the relay notices the loss and queues them again, and each is
// delivered once.
func TestEmailsTheQueuesRedisLostAreQueuedAgainAndSentOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	redis := redistest.StartServer(t)
	b.queueCfg = queuetest.ConfigAt(t, redis.URL())
	held, release := b.smtp.Hold()
	var ids []int64
	for i := range 30 {
		ids = append(ids, b.write(t, addr(i), 3))
	}
	w := b.start(t)
	<-held
	for _, id := range ids {
		b.waitFor(t, id, 10*time.Second, func(e oes.Email) bool { return e.State == oes.EmailQueued || e.State == oes.EmailSending })
	}

	redis.Stop() // no persistence: everything in it is gone
	redis.Start()
	lost := time.Now()
	release()

	b.waitAll(t, ids, oes.EmailDelivered, 30*time.Second)
	t.Logf("30 emails delivered %s after the queue's Redis came back empty; %d put back by the relay",
		time.Since(lost).Round(time.Millisecond), w.Relay().Stats().Restored)
	var to []string
	for _, m := range b.smtp.Messages() {
		to = append(to, m.To...)
	}
	slices.Sort(to)
	require.Len(t, to, 30, "no email lost, none sent twice")
	require.Len(t, slices.Compact(to), 30)
	require.GreaterOrEqual(t, w.Relay().Stats().Restored, 20, "the emails waiting in Redis were restored")
}

// With the queue's Redis down, emails are still written (the producers never touch Redis);
// they wait in the outbox and leave when Redis returns.
func TestEmailsWrittenWhileTheQueuesRedisIsDownLeaveWhenItReturns(t *testing.T) {
	t.Parallel()
	b := setup(t)
	redis := redistest.StartServer(t)
	b.queueCfg = queuetest.ConfigAt(t, redis.URL())
	redis.Stop()
	w := b.start(t)
	var ids []int64
	for i := range 10 {
		ids = append(ids, b.write(t, addr(i), 3))
	}
	time.Sleep(time.Second)
	for _, id := range ids {
		require.Equal(t, oes.EmailPending, b.email(t, id).State, "waiting in the outbox")
	}

	redis.Start()
	b.waitAll(t, ids, oes.EmailDelivered, 30*time.Second)
	require.Len(t, b.smtp.Messages(), 10)
	require.Equal(t, 10, w.Relay().Stats().Relayed)
}
