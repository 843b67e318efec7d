package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/oeshq/oes/pkg/metrics"
)

// routeUnmatched is the route label of requests no route matched (404, 405): their raw paths
// are the caller's choice and would make the series unbounded.
const routeUnmatched = "unmatched"

// observeRequests registers on reg and keeps
//
//	oes_http_requests_total{method,route,status}
//	oes_http_request_duration_seconds{method,route,status}
//
// where route is the route's template (/api/v1/exams/:id), never the path.
func observeRequests(reg prometheus.Registerer) gin.HandlerFunc {
	labels := []string{"method", "route", "status"}
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: metrics.Namespace, Name: "http_requests_total",
		Help: "HTTP requests answered, by method, route template and status.",
	}, labels)
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: metrics.Namespace, Name: "http_request_duration_seconds",
		Help: "Time from a request's arrival to its answer, by method, route template and status.",
		// Hot-cache reads answer in well under a millisecond; Postgres writes take longer.
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, labels)
	reg.MustRegister(requests, duration)

	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		route := c.FullPath()
		if route == "" {
			route = routeUnmatched
		}
		values := []string{methodLabel(requestMethod(c.Request)), route, strconv.Itoa(c.Writer.Status())}
		requests.WithLabelValues(values...).Inc()
		duration.WithLabelValues(values...).Observe(time.Since(start).Seconds())
	}
}

// methodLabel bounds the method label: any method outside HTTP's own is "other".
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "other"
}
