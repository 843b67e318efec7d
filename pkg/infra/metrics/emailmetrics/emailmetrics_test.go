package emailmetrics_test

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/infra/mail"
	"github.com/oeshq/oes/pkg/infra/metrics/emailmetrics"
	"github.com/oeshq/oes/pkg/infra/queue"
	"github.com/oeshq/oes/pkg/infra/queue/queuetest"
	"github.com/oeshq/oes/pkg/testkit/promtest"
)

// Every lane's wait histogram exists from the start; a wait lands in its lane's buckets.
func TestQueueWaitByLane(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	d := emailmetrics.NewDelivery(reg)
	for _, lane := range []string{queue.LaneCritical, queue.LaneDefault, queue.LaneLow} {
		require.Zero(t, promtest.Value(t, promtest.Scrape(t, reg), `oes_email_queue_wait_seconds_count{lane="`+lane+`"}`))
	}
	d.Taken(queue.LaneCritical, 30*time.Millisecond)
	d.Taken(queue.LaneCritical, -time.Second) // a clock skew counts as no wait
	d.Sent(10*time.Millisecond, nil)
	d.Failed(mail.ClassTemporary, true)

	out := promtest.Scrape(t, reg)
	require.Equal(t, 2.0, promtest.Value(t, out, `oes_email_queue_wait_seconds_count{lane="critical"}`))
	require.Equal(t, 1.0, promtest.Value(t, out, `oes_email_queue_wait_seconds_bucket{lane="critical",le="0.01"}`))
	require.Equal(t, 2.0, promtest.Value(t, out, `oes_email_queue_wait_seconds_bucket{lane="critical",le="0.05"}`))
	require.InDelta(t, 0.03, promtest.Value(t, out, `oes_email_queue_wait_seconds_sum{lane="critical"}`), 1e-9)
	require.Zero(t, promtest.Value(t, out, `oes_email_queue_wait_seconds_count{lane="low"}`))
	require.Equal(t, 1.0, promtest.Value(t, out, `oes_emails_delivered_total`))
	require.Equal(t, 1.0, promtest.Value(t, out, `oes_emails_retried_total{class="temporary"}`))
}

// The oldest waiting job's age is asynq's latency of its lane, and 0 in a lane where none
// waits.
func TestOldestWaitingJobByLane(t *testing.T) {
	t.Parallel()
	cfg := queuetest.Config(t)
	client := queuetest.Client(t, cfg)
	reg := prometheus.NewRegistry()
	reg.MustRegister(emailmetrics.NewQueueCollector(client))

	out := promtest.Scrape(t, reg)
	for _, lane := range []string{queue.LaneCritical, queue.LaneDefault, queue.LaneLow} {
		require.Zero(t, promtest.Value(t, out, `oes_email_queue_oldest_waiting_seconds{lane="`+lane+`"}`), "no job waits yet")
	}

	ctx := t.Context()
	require.NoError(t, client.Enqueue(ctx, queue.Job{ID: 1, Kind: "generic", Priority: 1}))
	time.Sleep(1100 * time.Millisecond)
	require.NoError(t, client.Enqueue(ctx, queue.Job{ID: 2, Kind: "generic", Priority: 1}))
	require.NoError(t, client.Enqueue(ctx, queue.Job{ID: 3, Kind: "generic", Priority: 9, RunAt: time.Now().Add(time.Hour)}))

	out = promtest.Scrape(t, reg)
	oldest := promtest.Value(t, out, `oes_email_queue_oldest_waiting_seconds{lane="low"}`)
	require.GreaterOrEqual(t, oldest, 1.1, "the first job's age, not the second's")
	require.Less(t, oldest, 30.0)
	require.Equal(t, 2.0, promtest.Value(t, out, `oes_email_queue_jobs{lane="low",state="waiting"}`))
	require.Zero(t, promtest.Value(t, out, `oes_email_queue_oldest_waiting_seconds{lane="critical"}`), "a delayed job does not wait yet")
	require.Equal(t, 1.0, promtest.Value(t, out, `oes_email_queue_jobs{lane="critical",state="delayed"}`))
	require.NotContains(t, out, cfg.QueuePrefix, "lanes are labelled by name, not by queue")
}
