package queue_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/infra/queue"
)

func TestLaneCountsKeepTheLanesApart(t *testing.T) {
	t.Parallel()
	b := setup(t)
	require.Equal(t, lanes(queue.Counts{}, queue.Counts{}, queue.Counts{}), b.counts(t),
		"lanes that never held a job are there, at zero")

	b.enqueue(t, b.job(9))
	b.enqueue(t, b.job(1))
	b.enqueue(t, b.job(2))

	require.Equal(t, lanes(queue.Counts{Waiting: 1}, queue.Counts{}, queue.Counts{Waiting: 2}), b.counts(t))
}

// The waiting jobs of a paused lane count as paused, not waiting; a failed task counts as
// failed until the outbox's retry replaces it.
func TestLaneCountsShowWhereEachTaskIs(t *testing.T) {
	t.Parallel()
	b := setup(t)

	b.jobsInEveryState(t)

	require.Equal(t, lanes(
		queue.Counts{Retrying: 1, Failed: 1},
		queue.Counts{Delayed: 1, Active: 1},
		queue.Counts{Paused: 1},
	), b.counts(t))
}
