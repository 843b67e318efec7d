package queue

// Lanes: the three asynq queues a job's priority maps onto. See the package documentation for
// why three and why these weights.
const (
	LaneCritical = "critical" // priority 8-10
	LaneDefault  = "default"  // priority 4-7
	LaneLow      = "low"      // priority 1-3
)

// Weights of the lanes: while all three hold jobs, a worker takes its next job from critical,
// default and low 60%, 30% and 10% of the time.
const (
	WeightCritical = 6
	WeightDefault  = 3
	WeightLow      = 1
)

// lanes lists the lanes from the most to the least important; listings follow this order.
var lanes = [...]string{LaneCritical, LaneDefault, LaneLow}

// Lane returns the lane of a priority from 1 to 10: critical for 8-10, default for 4-7, low for
// 1-3. A priority out of range is clamped into it.
func Lane(priority int) string {
	switch {
	case priority >= 8:
		return LaneCritical
	case priority >= 4:
		return LaneDefault
	default:
		return LaneLow
	}
}

// QueueName returns the asynq queue of a lane, "<QueuePrefix>:<lane>".
func (c Config) QueueName(lane string) string {
	return c.QueuePrefix + ":" + lane
}

// QueueNames returns the asynq queues of the three lanes, critical first.
func (c Config) QueueNames() []string {
	names := make([]string, len(lanes))
	for i, l := range lanes {
		names[i] = c.QueueName(l)
	}
	return names
}

// ServerQueues returns the asynq queues of the lanes with their weights, for asynq.Config's
// Queues; the server must not set StrictPriority, or low would starve under a critical backlog.
func (c Config) ServerQueues() map[string]int {
	return map[string]int{
		c.QueueName(LaneCritical): WeightCritical,
		c.QueueName(LaneDefault):  WeightDefault,
		c.QueueName(LaneLow):      WeightLow,
	}
}
