package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/oeshq/oes/pkg/infra/cache"
)

// CacheStats is what CacheCollector reads; *cache.Cache implements it.
type CacheStats interface {
	Stats() map[cache.Kind]cache.Counters
}

// CacheCollector exports a cache's lookups by kind:
//
//	oes_cache_hits_total{kind}        hits, from process memory or Redis
//	oes_cache_local_hits_total{kind}  the hits served from process memory (a subset of hits)
//	oes_cache_misses_total{kind}      lookups that found nothing cached
//	oes_cache_errors_total{kind}      lookups Redis could not answer (the read fell through)
//
// hits / (hits + misses) is the hit rate. The counters are the process's own since the cache
// was created, so they restart at zero with the process as Prometheus counters may.
type CacheCollector struct {
	cache                             CacheStats
	hits, localHits, misses, failures *prometheus.Desc
}

// NewCacheCollector returns a collector of c's counters.
func NewCacheCollector(c CacheStats) *CacheCollector {
	desc := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(Namespace, "cache", name), help, []string{"kind"}, nil)
	}
	return &CacheCollector{
		cache:     c,
		hits:      desc("hits_total", "Cache lookups answered from process memory or Redis, by key kind."),
		localHits: desc("local_hits_total", "Cache hits answered from process memory without asking Redis, by key kind; included in oes_cache_hits_total."),
		misses:    desc("misses_total", "Cache lookups that found nothing cached, by key kind."),
		failures:  desc("errors_total", "Cache lookups Redis could not answer, by key kind."),
	}
}

// Describe implements prometheus.Collector.
func (c *CacheCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.hits
	ch <- c.localHits
	ch <- c.misses
	ch <- c.failures
}

// Collect implements prometheus.Collector.
func (c *CacheCollector) Collect(ch chan<- prometheus.Metric) {
	for kind, n := range c.cache.Stats() {
		k := kind.String()
		ch <- prometheus.MustNewConstMetric(c.hits, prometheus.CounterValue, float64(n.Hits()), k)
		ch <- prometheus.MustNewConstMetric(c.localHits, prometheus.CounterValue, float64(n.LocalHits), k)
		ch <- prometheus.MustNewConstMetric(c.misses, prometheus.CounterValue, float64(n.Misses), k)
		ch <- prometheus.MustNewConstMetric(c.failures, prometheus.CounterValue, float64(n.Errors), k)
	}
}
