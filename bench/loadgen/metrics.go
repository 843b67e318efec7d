package main

import (
	"context"
	"fmt"
	"io"

	"github.com/oeshq/oes/bench/internal/benchkit"
)

// questionsRoute is the route template the measured requests are counted under.
const questionsRoute = "/api/v1/exams/:id/questions"

// metricsCheck writes what the api's /metrics says of the load it served: its requests, its
// cache's hits and one pool gauge. A series that is missing is written as such, and a failed
// scrape too; either is a finding about the metrics, not a failure of the benchmark.
func metricsCheck(ctx context.Context, w io.Writer, api *server) {
	fmt.Fprintf(w, "metrics check: %s, GET http://%s/metrics\n", api.Name(), api.metricsAddr)
	m, err := benchkit.ScrapeMetrics(ctx, api.metricsAddr)
	if err != nil {
		fmt.Fprintf(w, "  scrape failed: %v\n", err)
		return
	}
	kind := `kind="exam_questions"`
	m.WriteSamples(w, "oes_http_requests_total", `route="`+questionsRoute+`"`, `status="200"`)
	m.WriteSamples(w, "oes_cache_local_hits_total", kind)
	hits, okHits := m.Sum("oes_cache_hits_total", kind)
	misses, okMisses := m.Sum("oes_cache_misses_total", kind)
	switch {
	case !okHits || !okMisses:
		fmt.Fprintf(w, "  cache hit rate since start (exam_questions)  missing (hits or misses series absent)\n")
	case hits+misses == 0:
		fmt.Fprintf(w, "  cache hit rate since start (exam_questions)  no lookups\n")
	default:
		fmt.Fprintf(w, "  cache hit rate since start (exam_questions)  %.4f%% (hits %s, misses %s)\n",
			100*hits/(hits+misses), benchkit.FormatValue(hits), benchkit.FormatValue(misses))
	}
	m.WriteSamples(w, "oes_db_pool_total_conns")
}
