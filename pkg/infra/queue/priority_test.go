package queue_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/infra/queue"
	"github.com/oeshq/oes/pkg/infra/queue/queuetest"
)

// deliveries records the order in which a worker ran jobs.
type deliveries struct {
	mu    sync.Mutex
	order []string // task ids
}

func (d *deliveries) handle(ctx context.Context, _ *asynq.Task) error {
	id, _ := asynq.GetTaskID(ctx)
	d.mu.Lock()
	defer d.mu.Unlock()
	d.order = append(d.order, id)
	return nil
}

func (d *deliveries) snapshot() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.order)
}

// enqueueMany queues n jobs of one priority and returns their task ids.
func (b *bundle) enqueueMany(t *testing.T, n, priority int) []string {
	t.Helper()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = queue.TaskID(b.enqueue(t, b.job(priority)).ID)
	}
	return ids
}

// With only the critical and low lanes holding jobs, each delivery comes from critical with
// odds 6/7 (weights 6 and 1). The low jobs delivered before the 10th critical one follow a
// negative binomial law of mean 10/6; 21 or more of them has a chance below 4e-11, so all 10
// critical jobs are out within the first 30 deliveries.
func TestCriticalJobsOvertakeALowBacklog(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.enqueueMany(t, 200, 1)
	critical := b.enqueueMany(t, 10, 10)

	var d deliveries
	cfg := b.cfg
	cfg.Concurrency = 1
	queuetest.StartWorker(t, cfg, asynq.HandlerFunc(d.handle))

	require.Eventually(t, func() bool {
		done := d.snapshot()
		for _, id := range critical {
			if !slices.Contains(done, id) {
				return false
			}
		}
		return true
	}, 30*time.Second, 20*time.Millisecond)
	order := d.snapshot()
	for _, id := range critical {
		require.Less(t, slices.Index(order, id), 30, "critical job delivered at position %d of %v", slices.Index(order, id), len(order))
	}
}

// While the critical lane never runs dry (150 jobs, of which at most 100 are delivered here), a
// delivery still comes from the low lane with odds 1/7: no low job among the first 100
// deliveries has a chance of 2e-7.
func TestLowJobsAreNotStarvedByCriticalOnes(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.enqueueMany(t, 150, 10)
	low := b.enqueueMany(t, 30, 1)

	var d deliveries
	cfg := b.cfg
	cfg.Concurrency = 1
	queuetest.StartWorker(t, cfg, asynq.HandlerFunc(d.handle))

	require.Eventually(t, func() bool { return len(d.snapshot()) >= 100 }, 60*time.Second, 20*time.Millisecond)
	lows := 0
	for _, id := range d.snapshot()[:100] {
		if slices.Contains(low, id) {
			lows++
		}
	}
	require.Positive(t, lows, "no low job among the first 100 deliveries")
}
