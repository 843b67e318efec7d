package queue_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/config"
	"github.com/oeshq/oes/pkg/config/workerenv"
	"github.com/oeshq/oes/pkg/infra/queue"
)

func TestLaneMapsPrioritiesOntoThreeLanes(t *testing.T) {
	t.Parallel()
	want := map[int]string{
		1: queue.LaneLow, 2: queue.LaneLow, 3: queue.LaneLow,
		4: queue.LaneDefault, 5: queue.LaneDefault, 6: queue.LaneDefault, 7: queue.LaneDefault,
		8: queue.LaneCritical, 9: queue.LaneCritical, 10: queue.LaneCritical,
	}
	for p, lane := range want {
		require.Equal(t, lane, queue.Lane(p), "priority %d", p)
		require.Equal(t, lane, queue.Job{ID: 1, Priority: p}.Lane(), "priority %d", p)
	}
}

func TestServerQueuesWeighTheLanes(t *testing.T) {
	t.Parallel()
	cfg := config.Defaults[workerenv.Env]().QueueConfig()
	cfg.QueuePrefix = "mail"

	require.Equal(t, map[string]int{"mail:critical": 6, "mail:default": 3, "mail:low": 1}, cfg.ServerQueues())
	require.Equal(t, []string{"mail:critical", "mail:default", "mail:low"}, cfg.QueueNames())

	scfg, err := cfg.ServerConfig(nil)
	require.NoError(t, err)
	require.Equal(t, cfg.ServerQueues(), scfg.Queues)
	require.False(t, scfg.StrictPriority, "strict priority would starve the low lane")
}
