package main

import (
	"fmt"
	"strconv"
	"time"

	"github.com/oeshq/oes/bench/internal/benchkit"
)

// fetchLabel names the run's EMAIL_FETCH_INTERVAL, and whether it is the one that ships.
func (l latencyRun) fetchLabel() string {
	if l.shipped {
		return "EMAIL_FETCH_INTERVAL " + l.fetch.String() + " (shipped)"
	}
	return "EMAIL_FETCH_INTERVAL " + l.fetch.String()
}

// latencies is the table of the times from commit to accept, a row per fetch interval.
func (r report) latencies() benchkit.Table {
	t := benchkit.Table{
		Title: fmt.Sprintf("From commit to SMTP accept, a producer writing %d emails/s for %s (a transaction each), one worker running:",
			r.opts.latencyRate, r.opts.latencyDuration),
		Align:  "lrrrrrrl",
		Header: []string{"worker", "emails", "emails/s", "p50", "p90", "p99", "max", "p99 < " + benchkit.Millis(latencyTarget)},
	}
	for _, l := range r.latency {
		p99 := percentile(l.total, 0.99)
		t.Rows = append(t.Rows, []string{l.fetchLabel(), strconv.Itoa(l.emails), fmt.Sprintf("%.0f", l.rate),
			benchkit.Millis(percentile(l.total, 0.50)), benchkit.Millis(percentile(l.total, 0.90)), benchkit.Millis(p99),
			benchkit.Millis(l.total[len(l.total)-1]), verdict(p99 < latencyTarget)})
	}
	return t
}

// latencyParts splits the latency by the outbox's timestamps, and gives the cost per email
// of a worker that is mostly idle.
func (r report) latencyParts() benchkit.Table {
	t := benchkit.Table{
		Title: "Where the time goes (p50 / p99), and the cost per email at that rate:",
		Align: "lrrrrrrr",
		Header: []string{"worker", "commit → relay (queued_at)", "relay → claim (claimed_at)", "claim → accept",
			"worker CPU/email", "Redis CPU/email", "Postgres CPU/email", "other CPU"},
	}
	both := func(d []time.Duration) string {
		return fmt.Sprintf("%.1f / %.1f ms", ms(percentile(d, 0.50)), ms(percentile(d, 0.99)))
	}
	for _, l := range r.latency {
		u := l.use
		t.Rows = append(t.Rows, []string{l.fetchLabel(), both(l.toRelay), both(l.inQueue), both(l.sending),
			cpuShare(perItem(u.proc, l.emails)), cpuShare(perItem(u.redis, l.emails)), cpuShare(perItem(u.postgres, l.emails)),
			benchkit.Cores(u.cores(u.other))})
	}
	return t
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
