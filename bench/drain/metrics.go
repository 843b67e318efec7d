package main

import (
	"context"
	"fmt"
	"io"

	"github.com/oeshq/oes/bench/internal/benchkit"
)

// metricsCheck writes what the worker's /metrics, on its HEALTH_ADDR, says of the drain it
// just did. A series that is missing is written as such, and a failed scrape too; either is a
// finding about the metrics, not a failure of the benchmark.
func metricsCheck(ctx context.Context, w io.Writer, healthAddr string) {
	fmt.Fprintf(w, "metrics check: emailworker, GET http://%s/metrics\n", healthAddr)
	m, err := benchkit.ScrapeMetrics(ctx, healthAddr)
	if err != nil {
		fmt.Fprintf(w, "  scrape failed: %v\n", err)
		return
	}
	m.WriteSamples(w, "oes_emails_delivered_total")
	m.WriteSamples(w, "oes_smtp_send_duration_seconds_count")
	m.WriteSamples(w, "oes_email_queue_jobs", `state="waiting"`)
	m.WriteSamples(w, "oes_email_queue_wait_seconds_count")
	m.WriteSamples(w, "oes_email_queue_wait_seconds_sum")
}
