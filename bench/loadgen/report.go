package main

import (
	"bytes"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/oeshq/oes/bench/internal/benchkit"
)

// The project's performance targets for the hot-cache api.
const (
	minThroughputRatio = 0.70      // of the ceiling's requests/s
	maxP99Ratio        = 1.5       // times the ceiling's p99
	maxRSS             = 150 * 1e6 // bytes at the end of the api's measured run
	// The shipped configuration (rate limits on) against the ceiling.
	minShippedRatio = 0.80
)

// unreachedLimit is the shipped api's general rate limit in the benchmark, per minute: far
// above what the load generator sends from its one address.
const unreachedLimit = 1_000_000_000

// summary is one target's figures over all rounds: the median of each rate, latency and CPU
// figure, the largest memory reading, and the sum of the failures.
type summary struct {
	name string
	all  []measurement // one per round
	m    measurement
}

func summarize(t *target) summary {
	s := summary{name: t.name, all: t.rounds}
	s.m.rps = median(t.rounds, func(m measurement) float64 { return m.rps })
	s.m.requests = int(median(t.rounds, func(m measurement) float64 { return float64(m.requests) }))
	s.m.p50 = time.Duration(median(t.rounds, func(m measurement) float64 { return float64(m.p50) }))
	s.m.p99 = time.Duration(median(t.rounds, func(m measurement) float64 { return float64(m.p99) }))
	s.m.serverCPU = median(t.rounds, func(m measurement) float64 { return m.serverCPU })
	s.m.loadCPU = median(t.rounds, func(m measurement) float64 { return m.loadCPU })
	s.m.otherCPU = median(t.rounds, func(m measurement) float64 { return m.otherCPU })
	s.m.rss, s.m.peak = -1, -1
	for _, m := range t.rounds {
		s.m.rss, s.m.peak = max(s.m.rss, m.rss), max(s.m.peak, m.peak)
		s.m.non200 += m.non200
		s.m.errors += m.errors
		if s.m.firstErr == "" {
			s.m.firstErr = m.firstErr
		}
	}
	return s
}

func median(ms []measurement, f func(measurement) float64) float64 {
	v := make([]float64, len(ms))
	for i, m := range ms {
		v[i] = f(m)
	}
	slices.Sort(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

// report is everything printed at the end of a run.
type report struct {
	when       time.Time
	opts       options
	gomaxprocs int
	exams      int
	bodyMin    int64
	bodyMax    int64

	cached, shipped, ceiling, uncached summary
	cacheUse                           cacheCounters
	notes                              []string
}

// verdict is one performance target and how the run fared against it.
type verdict struct {
	target string
	figure string
	status string // met, missed, or not measured
}

func (r report) verdicts() []verdict {
	met := func(ok bool) string {
		if ok {
			return "met"
		}
		return "missed"
	}
	tput := r.cached.m.rps / r.ceiling.m.rps
	p99 := float64(r.cached.m.p99) / float64(r.ceiling.m.p99)
	mem := verdict{target: "api RSS < 150 MB at the end of its run", figure: "n/a", status: "not measured"}
	if r.cached.m.rss >= 0 {
		mem.figure, mem.status = megabytes(r.cached.m.rss), met(r.cached.m.rss < maxRSS)
	}
	shipTput := r.shipped.m.rps / r.ceiling.m.rps
	shipP99 := float64(r.shipped.m.p99) / float64(r.ceiling.m.p99)
	return []verdict{
		{"hot-cache req/s >= 70% of the ceiling's", fmt.Sprintf("%.0f%%", 100*tput), met(tput >= minThroughputRatio)},
		{"hot-cache p99 <= 1.5x the ceiling's", fmt.Sprintf("%.2fx", p99), met(p99 <= maxP99Ratio)},
		{"shipped (limits on) req/s >= 80% of the ceiling's", fmt.Sprintf("%.0f%%", 100*shipTput), met(shipTput >= minShippedRatio)},
		{"shipped (limits on) p99 <= 1.5x the ceiling's", fmt.Sprintf("%.2fx", shipP99), met(shipP99 <= maxP99Ratio)},
		mem,
	}
}

func (r report) ratios() [][2]string {
	return [][2]string{
		{"hot-cache req/s / ceiling req/s", fmt.Sprintf("%.2f", r.cached.m.rps/r.ceiling.m.rps)},
		{"hot-cache p99 / ceiling p99", fmt.Sprintf("%.2f", float64(r.cached.m.p99)/float64(r.ceiling.m.p99))},
		{"shipped req/s / ceiling req/s", fmt.Sprintf("%.2f", r.shipped.m.rps/r.ceiling.m.rps)},
		{"shipped p99 / ceiling p99", fmt.Sprintf("%.2f", float64(r.shipped.m.p99)/float64(r.ceiling.m.p99))},
		{"shipped req/s / hot-cache (limits off) req/s", fmt.Sprintf("%.2f", r.shipped.m.rps/r.cached.m.rps)},
		{"hot-cache req/s / no-cache req/s", fmt.Sprintf("%.2f", r.cached.m.rps/r.uncached.m.rps)},
		{"hot-cache server CPU/req / ceiling's", ratioOf(r.cached.m, r.ceiling.m)},
	}
}

func (r report) summaries() []summary { return []summary{r.cached, r.shipped, r.ceiling, r.uncached} }

// results is the main table: one row per target.
func (r report) results() benchkit.Table {
	t := benchkit.Table{Align: "lrrrrrrrrrr", Header: []string{"target", "requests", "req/s", "p50", "p99", "server CPU", "loadgen CPU",
		"other CPU", "server CPU/req", "RSS at end", "peak RSS"}}
	for _, s := range r.summaries() {
		m := s.m
		t.Rows = append(t.Rows, []string{s.name, strconv.Itoa(m.requests), fmt.Sprintf("%.0f", m.rps),
			benchkit.Millis(m.p50), benchkit.Millis(m.p99), benchkit.Cores(m.serverCPU), benchkit.Cores(m.loadCPU), benchkit.Cores(m.otherCPU),
			cpuPerRequest(m), megabytes(m.rss), megabytes(m.peak)})
	}
	return t
}

// perRound shows every round, so that the spread behind the medians can be judged.
func (r report) perRound() benchkit.Table {
	t := benchkit.Table{Title: "Each round:", Align: "rlrrrrrr", Header: []string{"round", "target", "req/s", "p50", "p99", "server CPU", "loadgen CPU", "other CPU"}}
	for round := range r.opts.rounds {
		for _, s := range r.summaries() {
			m := s.all[round]
			t.Rows = append(t.Rows, []string{strconv.Itoa(round + 1), s.name, fmt.Sprintf("%.0f", m.rps),
				benchkit.Millis(m.p50), benchkit.Millis(m.p99), benchkit.Cores(m.serverCPU), benchkit.Cores(m.loadCPU), benchkit.Cores(m.otherCPU)})
		}
	}
	return t
}

func (r report) ratioTable() benchkit.Table {
	t := benchkit.Table{Align: "lr", Header: []string{"ratio", "value"}}
	for _, ra := range r.ratios() {
		t.Rows = append(t.Rows, []string{ra[0], ra[1]})
	}
	return t
}

func (r report) targetTable() benchkit.Table {
	t := benchkit.Table{Align: "lrl", Header: []string{"target", "figure", "result"}}
	for _, v := range r.verdicts() {
		t.Rows = append(t.Rows, []string{v.target, v.figure, v.status})
	}
	return t
}

// failedRequests describes the failed requests of the run, or returns "" when there were none.
func (r report) failedRequests() string {
	var parts []string
	for _, s := range r.summaries() {
		if s.m.errors+s.m.non200 > 0 {
			parts = append(parts, fmt.Sprintf("%s: %d errors and %d non-200 answers (first: %s)",
				s.name, s.m.errors, s.m.non200, s.m.firstErr))
		}
	}
	return strings.Join(parts, "; ")
}

func (r report) describe() []string {
	rounds := "1 round"
	if r.opts.rounds > 1 {
		rounds = fmt.Sprintf("%d rounds in rotating order, median of each figure", r.opts.rounds)
	}
	lines := []string{
		fmt.Sprintf("GET /api/v1/exams/:id/questions cycling over %d exams (bodies %s-%s kB), %d connections, %s warmup + %s measured per target, %s.",
			r.exams, kilobytes(r.bodyMin), kilobytes(r.bodyMax), r.opts.conns, r.opts.warmup, r.opts.duration, rounds),
		fmt.Sprintf("%d CPUs, GOMAXPROCS %d in every server and in the load generator; the server under load, the load generator, Postgres and Redis share them. %s/%s, %s, %s.",
			runtime.NumCPU(), r.gomaxprocs, runtime.GOOS, runtime.GOARCH, runtime.Version(), r.when.Format("2006-01-02 15:04 MST")),
	}
	if r.cacheUse.known {
		c := r.cacheUse
		lines = append(lines, fmt.Sprintf("Hot-cache api during its warmups and measured runs, exam_questions: %d hits in process memory, %d in Redis, %d misses, %d cache errors.",
			c.LocalHits, c.RemoteHits, c.Misses, c.Errors))
	}
	lines = append(lines, "CPU is in cores (CPU seconds per second of the measured run) of the server under load, the load generator, and everything else on the machine (Postgres, Redis, unrelated work); server CPU/req is the server's CPU time per request, which other load on the machine disturbs less than req/s.")
	return append(lines, r.notes...)
}

// body is the report but for the note on failed requests.
func (r report) body() benchkit.Report {
	tables := []benchkit.Table{r.results()}
	if r.opts.rounds > 1 {
		tables = append(tables, r.perRound())
	}
	return benchkit.Report{Lines: r.describe(), Tables: append(tables, r.ratioTable(), r.targetTable())}
}

func (r report) printText(w io.Writer) {
	r.body().Text(w)
	if bad := r.failedRequests(); bad != "" {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "INVALID RUN:", bad)
	}
}

func (r report) markdown() []byte {
	var b bytes.Buffer
	r.body().Markdown(&b)
	if bad := r.failedRequests(); bad != "" {
		fmt.Fprintf(&b, "\n**Invalid run:** %s\n", bad)
	}
	return b.Bytes()
}

// cpuPerRequest is the server's CPU time per request.
func cpuPerRequest(m measurement) string {
	if m.serverCPU < 0 || m.rps == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.0f µs", 1e6*m.serverCPU/m.rps)
}

func ratioOf(a, b measurement) string {
	if a.serverCPU < 0 || b.serverCPU < 0 || a.rps == 0 || b.rps == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f", (a.serverCPU/a.rps)/(b.serverCPU/b.rps))
}

// megabytes and kilobytes use decimal units, as the targets are stated.
func megabytes(n int64) string {
	if n < 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1f MB", float64(n)/1e6)
}

func kilobytes(n int64) string { return fmt.Sprintf("%.1f", float64(n)/1e3) }
