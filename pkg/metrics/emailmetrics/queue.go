package emailmetrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/oeshq/oes/pkg/queue"
)

// LaneCounter is what QueueCollector reads; *queue.Client implements it.
type LaneCounter interface {
	LaneCounts(ctx context.Context) (map[string]queue.Counts, error)
}

// scrapeTimeout bounds the queue's inspection at each scrape, well within Prometheus's
// default 10s scrape timeout.
const scrapeTimeout = 3 * time.Second

// QueueCollector exports the email queue's jobs, read from Redis at scrape time:
//
//	oes_email_queue_jobs{lane,state}  jobs in each lane (critical, default, low) and state
//	                                  (waiting, active, delayed, retrying, paused, failed, completed)
//
// Any worker, or the api, sees the same numbers: they are the queue's, not the process's.
// When Redis does not answer the series are missing from that scrape and the scrape reports
// the error.
type QueueCollector struct {
	queue LaneCounter
	jobs  *prometheus.Desc
}

// NewQueueCollector returns a collector of q's lanes.
func NewQueueCollector(q LaneCounter) *QueueCollector {
	return &QueueCollector{
		queue: q,
		jobs: prometheus.NewDesc(prometheus.BuildFQName(namespace, "email_queue", "jobs"),
			"Email jobs in the queue by lane and state; failed and completed count the jobs still retained.",
			[]string{"lane", "state"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *QueueCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.jobs }

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
}
