package emailmetrics

import (
	"context"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/oeshq/oes/pkg/infra/queue"
)

// LaneCounter is what QueueCollector reads; *queue.Client implements it.
type LaneCounter interface {
	LaneCounts(ctx context.Context) (map[string]queue.Counts, error)
}

// asynqQueue is what QueueCollector also reads, when its LaneCounter has it (*queue.Client
// does), to tell how long the oldest waiting job of a lane has waited.
type asynqQueue interface {
	ConnOpt() asynq.RedisConnOpt
	Config() queue.Config
}

// scrapeTimeout bounds the queue's inspection at each scrape, well within Prometheus's
// default 10s scrape timeout.
const scrapeTimeout = 3 * time.Second

// QueueCollector exports the email queue's jobs, read from Redis at scrape time:
//
//	oes_email_queue_jobs{lane,state}             jobs in each lane (critical, default, low) and state
//	                                             (waiting, active, delayed, retrying, paused, failed, completed)
//	oes_email_queue_oldest_waiting_seconds{lane} how long the lane's oldest waiting job has waited
//	                                             since it became ready; 0 when none waits
//
// Any worker, or the api, sees the same numbers: they are the queue's, not the process's.
// When Redis does not answer the series are missing from that scrape and the scrape reports
// the error.
type QueueCollector struct {
	queue  LaneCounter
	jobs   *prometheus.Desc
	oldest *prometheus.Desc
	// insp reads asynq's queue latency (the age of a lane's oldest pending task) over the
	// queue client's own connections; nil when the LaneCounter cannot give them. It is never
	// closed: the connections are the client's.
	insp      *asynq.Inspector
	queueName func(lane string) string
}

// NewQueueCollector returns a collector of q's lanes. The oldest waiting job's age is
// exported when q is a *queue.Client (or has its ConnOpt and Config).
func NewQueueCollector(q LaneCounter) *QueueCollector {
	c := &QueueCollector{
		queue: q,
		jobs: prometheus.NewDesc(prometheus.BuildFQName(namespace, "email_queue", "jobs"),
			"Email jobs in the queue by lane and state; failed and completed count the jobs still retained.",
			[]string{"lane", "state"}, nil),
		oldest: prometheus.NewDesc(prometheus.BuildFQName(namespace, "email_queue", "oldest_waiting_seconds"),
			"How long the oldest job waiting in the lane has waited since it became ready (queued, or its delay ended); 0 when none waits.",
			[]string{"lane"}, nil),
	}
	if aq, ok := q.(asynqQueue); ok {
		c.insp = asynq.NewInspector(aq.ConnOpt())
		c.queueName = aq.Config().QueueName
	}
	return c
}

// Describe implements prometheus.Collector.
func (c *QueueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.jobs
	if c.insp != nil {
		ch <- c.oldest
	}
}

// Collect implements prometheus.Collector.
func (c *QueueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	lanes, err := c.queue.LaneCounts(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.jobs, err)
		return
	}
	for lane, n := range lanes {
		for state, v := range map[string]int{
			"waiting": n.Waiting, "active": n.Active, "delayed": n.Delayed, "retrying": n.Retrying,
			"paused": n.Paused, "failed": n.Failed, "completed": n.Completed,
		} {
			ch <- prometheus.MustNewConstMetric(c.jobs, prometheus.GaugeValue, float64(v), lane, state)
		}
	}
	if c.insp == nil {
		return
	}
	for lane, n := range lanes {
		// Only a lane with jobs waiting costs a look at its oldest one.
		age := time.Duration(0)
		if n.Waiting+n.Paused > 0 {
			age, err = c.latency(ctx, c.queueName(lane))
			if err != nil {
				ch <- prometheus.NewInvalidMetric(c.oldest, err)
				continue
			}
		}
		ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, age.Seconds(), lane)
	}
}

// latency returns asynq's latency of queue name: how long its oldest pending task has been
// pending. asynq's Inspector takes no context, so ctx bounds only the wait for it; the call
// itself ends within the Redis client's timeouts.
func (c *QueueCollector) latency(ctx context.Context, name string) (time.Duration, error) {
	type result struct {
		d   time.Duration
		err error
	}
	done := make(chan result, 1)
	go func() {
		info, err := c.insp.GetQueueInfo(name)
		if err != nil {
			done <- result{0, err}
			return
		}
		done <- result{info.Latency, nil}
	}()
	select {
	case r := <-done:
		return r.d, r.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}
