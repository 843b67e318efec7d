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

// The project's targets for the worker's drain rate, as a share of the ceiling's.
const (
	minDrainRatio = 0.50
	aimDrainRatio = 0.70
)

// report is everything printed at the end of a run.
type report struct {
	when       time.Time
	opts       options
	gomaxprocs int
	wireBytes  int
	// pgCPUNote and pgStmtNote say why Postgres's CPU or statements could not be read.
	pgCPUNote, pgStmtNote string

	ceiling, library, worker []delivery   // one per round
	write, relay             []enqueueRun // one per round, the worker's emails
	latency                  []latencyRun // the shipped fetch interval first
	register                 *enqueueRun  // nil without -api
	announce                 *announceRun // nil with -announce 0
}

// medianIndex returns the index of the median of rates: of the lower middle one for an
// even count.
func medianIndex(rates []float64) int {
	idx := make([]int, len(rates))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		switch {
		case rates[a] < rates[b]:
			return -1
		case rates[a] > rates[b]:
			return 1
		}
		return 0
	})
	return idx[(len(idx)-1)/2]
}

func medianDelivery(ds []delivery) delivery {
	rates := make([]float64, len(ds))
	for i, d := range ds {
		rates[i] = d.rate()
	}
	return ds[medianIndex(rates)]
}

func medianEnqueue(es []enqueueRun) enqueueRun {
	rates := make([]float64, len(es))
	for i, e := range es {
		rates[i] = e.rate()
	}
	return es[medianIndex(rates)]
}

func (r report) ratio() float64 {
	return medianDelivery(r.worker).rate() / medianDelivery(r.ceiling).rate()
}

func deliveryRow(name string, d delivery) []string {
	u := d.use
	return []string{name, strconv.Itoa(d.messages), benchkit.Millis(d.elapsed), fmt.Sprintf("%.0f", d.rate()),
		fmt.Sprintf("%.0f", d.steadyRate()), cpuShare(perItem(u.proc, d.messages)), cpuShare(perItem(u.self, d.messages)),
		cpuShare(perItem(u.redis, d.messages)), cpuShare(perItem(u.postgres, d.messages)), benchkit.Cores(u.cores(u.other))}
}

// deliveries is the main table: one row per sender.
func (r report) deliveries() benchkit.Table {
	t := benchkit.Table{Align: "lrrrrrrrrr", Header: []string{"sender", "messages", "time", "emails/s", "steady emails/s",
		"sender CPU/msg", "sink CPU/msg", "Redis CPU/msg", "Postgres CPU/msg", "other CPU"}}
	t.Rows = append(t.Rows,
		deliveryRow(nameCeiling, medianDelivery(r.ceiling)),
		deliveryRow(nameLibrary, medianDelivery(r.library)),
		deliveryRow(nameWorker+" (outbox + queue + smtpsend)", medianDelivery(r.worker)))
	return t
}

// perRound shows every round, so that the spread behind the medians can be judged.
func (r report) perRound() benchkit.Table {
	t := benchkit.Table{Title: "Each round:", Align: "rrrrrrr", Header: []string{"round", "ceiling emails/s", "smtpsend emails/s",
		"worker emails/s", "worker / ceiling", "outbox write emails/s", "relay emails/s"}}
	for i := range r.opts.rounds {
		t.Rows = append(t.Rows, []string{strconv.Itoa(i + 1), fmt.Sprintf("%.0f", r.ceiling[i].rate()),
			fmt.Sprintf("%.0f", r.library[i].rate()), fmt.Sprintf("%.0f", r.worker[i].rate()),
			fmt.Sprintf("%.2f", r.worker[i].rate()/r.ceiling[i].rate()), fmt.Sprintf("%.0f", r.write[i].rate()),
			fmt.Sprintf("%.0f", r.relay[i].rate())})
	}
	return t
}

func enqueueRow(name string, e enqueueRun, client time.Duration) []string {
	p50, p99 := "-", "-"
	if e.p50 > 0 {
		p50, p99 = benchkit.Millis(e.p50), benchkit.Millis(e.p99)
	}
	return []string{name, strconv.Itoa(e.jobs), fmt.Sprintf("%.0f", e.rate()), p50, p99,
		cpuShare(perItem(client, e.jobs)), cpuShare(perItem(e.use.postgres, e.jobs)), cpuShare(perItem(e.use.redis, e.jobs)),
		benchkit.Cores(e.use.cores(e.use.other))}
}

// queueing is the table of the ways emails reach the queue.
func (r report) queueing() benchkit.Table {
	t := benchkit.Table{Align: "lrrrrrrrr", Header: []string{"queueing phase", "emails", "emails/s", "p50", "p99",
		"client CPU/email", "Postgres CPU/email", "Redis CPU/email", "other CPU"}}
	w, rl := medianEnqueue(r.write), medianEnqueue(r.relay)
	t.Rows = append(t.Rows,
		enqueueRow(fmt.Sprintf("outbox write, %d goroutines, a transaction each", r.opts.enqueuers), w, w.use.self),
		enqueueRow("relay of the pending emails onto the queue", rl, rl.use.self))
	if r.register != nil {
		t.Rows = append(t.Rows, enqueueRow(fmt.Sprintf("POST %s, %d clients", registerPath, r.opts.clients), *r.register, r.register.use.proc))
	}
	return t
}

// summary is the headline: the two delivery rates and their ratio against the targets, the
// queueing rates, and the latency against its target.
func (r report) summary() benchkit.Table {
	ratio := r.ratio()
	register := []string{"register emails/s", "-", "not measured (no -api)"}
	if r.register != nil {
		register = []string{"register emails/s", fmt.Sprintf("%.0f", r.register.rate()), ""}
	}
	rows := [][]string{
		{"ceiling emails/s", fmt.Sprintf("%.0f", medianDelivery(r.ceiling).rate()), ""},
		{"worker drain emails/s", fmt.Sprintf("%.0f", medianDelivery(r.worker).rate()), ""},
		{"worker / ceiling", fmt.Sprintf("%.2f", ratio), fmt.Sprintf("target >= %.2f %s, aim >= %.2f %s",
			minDrainRatio, verdict(ratio >= minDrainRatio), aimDrainRatio, verdict(ratio >= aimDrainRatio))},
		{"outbox write emails/s", fmt.Sprintf("%.0f", medianEnqueue(r.write).rate()), ""},
		{"relay emails/s", fmt.Sprintf("%.0f", medianEnqueue(r.relay).rate()), ""},
		register,
	}
	rows = append(rows, r.announcementSummary()...)
	for _, l := range r.latency {
		p99 := percentile(l.total, 0.99)
		rows = append(rows, []string{fmt.Sprintf("commit → accept p99 at %.0f emails/s, %s", l.rate, l.fetchLabel()),
			benchkit.Millis(p99), fmt.Sprintf("target < %s %s", benchkit.Millis(latencyTarget), verdict(p99 < latencyTarget))})
	}
	return benchkit.Table{Align: "lrl", Header: []string{"figure", "value", "result"}, Rows: rows}
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "missed"
}

func (r report) describe() []string {
	rounds := "1 round"
	if r.opts.rounds > 1 {
		rounds = fmt.Sprintf("%d rounds in rotating order, the median round of each sender reported", r.opts.rounds)
	}
	lines := []string{
		fmt.Sprintf("%d verification emails (text and HTML, %.1f kB on the wire), delivered over %d SMTP connections to an in-process sink that accepts everything; %s.",
			r.opts.n, float64(r.wireBytes)/1e3, r.opts.conns, rounds),
		fmt.Sprintf("%d CPUs, GOMAXPROCS %d in every process; senders, sink, Redis and Postgres share them. %s/%s, %s, %s.",
			runtime.NumCPU(), r.gomaxprocs, runtime.GOOS, runtime.GOARCH, runtime.Version(), r.when.Format("2006-01-02 15:04 MST")),
		"Time runs from the start signal (the worker: /readyz answering 200, its emails already written and relayed) to the sink accepting the last message and, for the worker, the last email recorded as delivered; steady emails/s leaves out the start-up (first to last message).",
		"CPU per message is CPU time over the measured time divided by the messages: of the sender process, of drain (which is the sink), of Redis (its own count), of Postgres's processes serving the bench database (from /proc); other CPU is the rest of the machine, in cores.",
		"The client of the outbox write and the relay is drain; of the registrations, the api, whose requests each hash a password with bcrypt and write the account and its email in one transaction: that row measures the endpoint.",
	}
	if r.announce != nil {
		lines = append(lines, r.announcementLine())
	}
	if r.pgCPUNote != "" {
		lines = append(lines, "Postgres CPU is not known: "+r.pgCPUNote+".")
	}
	return lines
}

// costLines say what an email cost Redis and Postgres in each phase.
func (r report) costLines() []string {
	d, w, rl := medianDelivery(r.worker), medianEnqueue(r.write), medianEnqueue(r.relay)
	lines := []string{
		"Redis commands per email (inner commands of Lua scripts counted too; other clients of the same Redis add theirs):",
		"  relay:         " + rl.use.rstats.perJob(rl.jobs),
		"  drain:         " + d.use.rstats.perJob(d.messages),
	}
	for _, l := range r.latency {
		lines = append(lines, fmt.Sprintf("  latency, %-5s %s", l.fetch.String()+":", l.use.rstats.perJob(l.emails)))
	}
	if r.announce != nil {
		lines = append(lines, "  announcement:  "+r.announce.use.rstats.perJob(r.announce.emails))
	}
	note := "statements from pg_stat_statements"
	if r.pgStmtNote != "" {
		note = "statements not known: pg_stat_statements is not loaded"
	}
	lines = append(lines, "Postgres per email, from pg_stat_database of the bench database ("+note+"):",
		"  outbox write:  "+w.use.pstats.perJob(w.jobs),
		"  relay:         "+rl.use.pstats.perJob(rl.jobs),
		"  drain:         "+d.use.pstats.perJob(d.messages))
	if r.register != nil {
		lines = append(lines, "  register:      "+r.register.use.pstats.perJob(r.register.jobs))
	}
	if r.announce != nil {
		lines = append(lines, "  announcement:  "+r.announce.use.pstats.perJob(r.announce.emails))
	}
	return lines
}

// body is the report but for the cost lines.
func (r report) body() benchkit.Report {
	tables := []benchkit.Table{r.deliveries()}
	if r.opts.rounds > 1 {
		tables = append(tables, r.perRound())
	}
	tables = append(tables, r.queueing())
	if len(r.latency) > 0 {
		tables = append(tables, r.latencies(), r.latencyParts())
	}
	if r.announce != nil {
		tables = append(tables, r.announcement())
	}
	return benchkit.Report{Lines: r.describe(), Tables: append(tables, r.summary())}
}

func (r report) printText(w io.Writer) {
	r.body().Text(w)
	fmt.Fprintln(w)
	for _, l := range r.costLines() {
		fmt.Fprintln(w, l)
	}
}

func (r report) markdown() []byte {
	var b bytes.Buffer
	r.body().Markdown(&b)
	b.WriteString("\n```\n" + strings.Join(r.costLines(), "\n") + "\n```\n")
	return b.Bytes()
}

// cpuShare formats a CPU time per message or job: in µs, or in ms from 10 ms up (a
// registration's bcrypt hash).
func cpuShare(d time.Duration) string {
	switch {
	case d < 0:
		return "n/a"
	case d >= 10*time.Millisecond:
		return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond))
}
