// Package metrics holds the api's Prometheus collectors that read state kept elsewhere: the
// cache's per-kind counters and the Postgres pool's statistics. They read at scrape time, so
// nothing is counted twice and nothing is added to the request path.
//
// Every series is named under Namespace. Register the collectors on a registry of your own
// (prometheus.NewRegistry), not the global one, so tests can build as many as they like.
package metrics

// Namespace prefixes every series the system exports.
const Namespace = "oes"
