package metrics

import (
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// PoolStats is what PoolCollector reads; *pgxpool.Pool implements it.
type PoolStats interface {
	Stat() *pgxpool.Stat
}

// PoolCollector exports a Postgres connection pool's statistics:
//
//	oes_db_pool_acquired_conns                  gauge: connections in use
//	oes_db_pool_idle_conns                      gauge: connections open and unused
//	oes_db_pool_total_conns                     gauge: connections open, in use or not
//	oes_db_pool_max_conns                       gauge: the pool's bound (DATABASE_MAX_CONNS)
//	oes_db_pool_acquires_total                  counter: connections handed out
//	oes_db_pool_acquire_duration_seconds_total  counter: time spent waiting for them
//	oes_db_pool_empty_acquires_total            counter: acquires that found no idle connection
//
// A rising rate of empty acquires with acquired at max means requests queue for connections.
type PoolCollector struct {
	pool                                    PoolStats
	acquired, idle, total, max              *prometheus.Desc
	acquires, acquireSeconds, emptyAcquires *prometheus.Desc
}

// NewPoolCollector returns a collector of pool's statistics.
func NewPoolCollector(pool PoolStats) *PoolCollector {
	desc := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(Namespace, "db_pool", name), help, nil, nil)
	}
	return &PoolCollector{
		pool:           pool,
		acquired:       desc("acquired_conns", "Postgres connections currently in use."),
		idle:           desc("idle_conns", "Postgres connections open and unused."),
		total:          desc("total_conns", "Postgres connections open, in use or idle."),
		max:            desc("max_conns", "Most Postgres connections the pool opens."),
		acquires:       desc("acquires_total", "Postgres connections handed out by the pool."),
		acquireSeconds: desc("acquire_duration_seconds_total", "Time spent acquiring Postgres connections from the pool."),
		emptyAcquires:  desc("empty_acquires_total", "Acquires that found no idle connection and waited for one or opened one."),
	}
}

// Describe implements prometheus.Collector.
func (c *PoolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.acquired, c.idle, c.total, c.max, c.acquires, c.acquireSeconds, c.emptyAcquires} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *PoolCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.pool.Stat()
	gauge := func(d *prometheus.Desc, v float64) { ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v) }
	counter := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v)
	}
	gauge(c.acquired, float64(s.AcquiredConns()))
	gauge(c.idle, float64(s.IdleConns()))
	gauge(c.total, float64(s.TotalConns()))
	gauge(c.max, float64(s.MaxConns()))
	counter(c.acquires, float64(s.AcquireCount()))
	counter(c.acquireSeconds, s.AcquireDuration().Seconds())
	counter(c.emptyAcquires, float64(s.EmptyAcquireCount()))
}
