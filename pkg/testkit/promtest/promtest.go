// Package promtest reads a Prometheus registry as a scraper would, for tests of metrics.
package promtest

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Scrape returns what Prometheus would read from reg, in the text format.
func Scrape(t testing.TB, reg *prometheus.Registry) string {
	t.Helper()
	rec := httptest.NewRecorder()
	req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/metrics", nil)
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("promtest: /metrics answered %d: %s", rec.Code, rec.Body.String())
	}
	return rec.Body.String()
}

// Value returns the value of the one sample of series (its name and labels, as exposed) in a
// scrape's output, and fails the test when there is none.
func Value(t testing.TB, out, series string) float64 {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("promtest: no %s in\n%s", series, out)
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatalf("promtest: %s: %v", series, err)
	}
	return v
}
