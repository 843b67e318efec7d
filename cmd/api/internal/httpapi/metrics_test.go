package httpapi_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/infra/cache"
	"github.com/oeshq/oes/pkg/infra/metrics"
	"github.com/oeshq/oes/pkg/testkit/promtest"
)

func TestMetricsByRouteTemplateCacheKindAndPool(t *testing.T) {
	t.Parallel()
	b := setup(t)
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics.NewCacheCollector(b.cache), metrics.NewPoolCollector(b.pool))
	b.metrics = reg
	api := b.newAPI(t, b.pool, b.cache, b.queue)

	e := createExam(t, api, "Algebra", true)
	// A miss, a hit in Redis copied into memory, then hits in memory.
	for range 4 {
		require.Equal(t, 200, do(t, api, call{method: "GET", path: fmt.Sprintf("/api/v1/exams/%d", e.ID)}).Code)
	}
	require.Equal(t, 404, do(t, api, call{method: "GET", path: "/api/v1/exams/12345"}).Code)
	require.Equal(t, 404, do(t, api, call{method: "GET", path: "/no/such/path/67890"}).Code)
	require.Equal(t, 405, do(t, api, call{method: "PUT", path: "/api/v1/exams"}).Code)

	out := promtest.Scrape(t, reg)
	for _, line := range []string{
		`oes_http_requests_total{method="POST",route="/api/v1/exams",status="201"} 1`,
		`oes_http_requests_total{method="GET",route="/api/v1/exams/:id",status="200"} 4`,
		`oes_http_requests_total{method="GET",route="/api/v1/exams/:id",status="404"} 1`,
		`oes_http_requests_total{method="GET",route="unmatched",status="404"} 1`,
		`oes_http_requests_total{method="PUT",route="unmatched",status="405"} 1`,
		// The histogram counts a route's answers whatever their status: 4 + 1.
		`oes_http_request_duration_seconds_bucket{method="GET",route="/api/v1/exams/:id",le="+Inf"} 5`,
		`oes_http_request_duration_seconds_count{method="GET",route="/api/v1/exams/:id"} 5`,
	} {
		require.Contains(t, out, "\n"+line+"\n")
	}
	// Its series are bounded: no status label, and nine buckets (eight and +Inf) a label set.
	require.NotRegexp(t, `oes_http_request_duration_seconds_[a-z]+\{[^}]*status=`, out)
	require.Equal(t, 9, strings.Count(out, `oes_http_request_duration_seconds_bucket{method="GET",route="/api/v1/exams/:id",`))
	for _, name := range []string{"oes_db_pool_acquired_conns", "oes_db_pool_idle_conns", "oes_db_pool_total_conns",
		"oes_db_pool_max_conns", "oes_db_pool_acquires_total", "oes_db_pool_acquire_duration_seconds_total",
		"oes_db_pool_empty_acquires_total"} {
		require.Contains(t, out, "\n"+name+" ")
	}
	require.NotContains(t, out, "\noes_db_pool_acquires_total 0\n", "the requests used the pool")
	require.NotContains(t, out, "12345", "a path's id never becomes a label")
	require.NotContains(t, out, "/no/such/path", "an unmatched path never becomes a label")
	require.NotContains(t, out, `oes_db_pool_acquires_total 0`+"\n")

	n := b.cache.Stats()[cache.KindExam]
	require.NotZero(t, n.LocalHits, "repeated reads come from process memory")
	require.NotZero(t, n.Misses)
	require.Contains(t, out, fmt.Sprintf("oes_cache_local_hits_total{kind=%q} %d\n", "exam", n.LocalHits))
	require.Contains(t, out, fmt.Sprintf("oes_cache_hits_total{kind=%q} %d\n", "exam", n.Hits()))
	require.Contains(t, out, fmt.Sprintf("oes_cache_misses_total{kind=%q} %d\n", "exam", n.Misses))
	require.Contains(t, out, fmt.Sprintf("oes_cache_errors_total{kind=%q} 0\n", "exam"))
}
