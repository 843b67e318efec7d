package queue

import (
	"context"
	"slices"

	"github.com/hibiken/asynq"
)

// LaneCounts returns the tasks of each lane by asynq state, keyed by LaneCritical, LaneDefault
// and LaneLow; a lane that never held a task has every count zero. The waiting tasks of a
// paused lane count as Paused, not Waiting.
func (c *Client) LaneCounts(ctx context.Context) (map[string]Counts, error) {
	infos, err := inspect(ctx, func() ([]*asynq.QueueInfo, error) {
		// GetQueueInfo's error for a queue that does not exist (yet) cannot be told from
		// others, so only the lanes asynq knows of are asked.
		known, err := c.insp.Queues()
		if err != nil {
			return nil, err
		}
		var infos []*asynq.QueueInfo
		for _, q := range c.cfg.QueueNames() {
			if !slices.Contains(known, q) {
				continue
			}
			info, err := c.insp.GetQueueInfo(q)
			if err != nil {
				return nil, err
			}
			infos = append(infos, info)
		}
		return infos, nil
	})
	if err != nil {
		return nil, c.failure(ctx, err)
	}
	out := make(map[string]Counts, len(lanes))
	for _, l := range lanes {
		out[l] = Counts{}
	}
	for _, q := range infos {
		n := Counts{
			Active:    q.Active,
			Completed: q.Completed,
			Failed:    q.Archived,
			Delayed:   q.Scheduled,
			Retrying:  q.Retry,
		}
		if q.Paused {
			n.Paused = q.Pending + q.Aggregating
		} else {
			n.Waiting = q.Pending + q.Aggregating
		}
		for _, l := range lanes {
			if c.cfg.QueueName(l) == q.Queue {
				out[l] = n
			}
		}
	}
	return out, nil
}
