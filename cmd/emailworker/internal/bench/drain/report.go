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

	"github.com/oeshq/oes/pkg/benchkit"
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

	ceiling, library, worker []delivery   // one per round
	enqueue                  []enqueueRun // one per round, the worker's jobs
	enqueueIDs               enqueueRun
	register                 *enqueueRun // nil without -api
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
		cpuShare(perItem(u.redis, d.messages)), benchkit.Cores(u.cores(u.other))}
}

// deliveries is the main table: one row per sender.
func (r report) deliveries() benchkit.Table {
	t := benchkit.Table{Align: "lrrrrrrrr", Header: []string{"sender", "messages", "time", "emails/s", "steady emails/s",
		"sender CPU/msg", "sink CPU/msg", "Redis CPU/msg", "other CPU"}}
	t.Rows = append(t.Rows,
		deliveryRow(nameCeiling, medianDelivery(r.ceiling)),
		deliveryRow(nameLibrary, medianDelivery(r.library)),
		deliveryRow(nameWorker+" (queue + smtpsend)", medianDelivery(r.worker)))
	return t
}

// perRound shows every round, so that the spread behind the medians can be judged.
func (r report) perRound() benchkit.Table {
	t := benchkit.Table{Title: "Each round:", Align: "rrrrrr", Header: []string{"round", "ceiling emails/s", "smtpsend emails/s", "worker emails/s",
		"worker / ceiling", "library enqueue jobs/s"}}
	for i := range r.opts.rounds {
		t.Rows = append(t.Rows, []string{strconv.Itoa(i + 1), fmt.Sprintf("%.0f", r.ceiling[i].rate()),
			fmt.Sprintf("%.0f", r.library[i].rate()), fmt.Sprintf("%.0f", r.worker[i].rate()),
			fmt.Sprintf("%.2f", r.worker[i].rate()/r.ceiling[i].rate()), fmt.Sprintf("%.0f", r.enqueue[i].rate())})
	}
	return t
}

func enqueueRow(name string, e enqueueRun, cpu time.Duration) []string {
	return []string{name, strconv.Itoa(e.jobs), fmt.Sprintf("%.0f", e.rate()), benchkit.Millis(e.p50), benchkit.Millis(e.p99),
		cpuShare(perItem(cpu, e.jobs)), cpuShare(perItem(e.use.redis, e.jobs))}
}

func (r report) enqueues() benchkit.Table {
	t := benchkit.Table{Align: "lrrrrrr", Header: []string{"enqueue path", "jobs", "jobs/s", "p50", "p99", "enqueuer CPU/job", "Redis CPU/job"}}
	lib := medianEnqueue(r.enqueue)
	t.Rows = append(t.Rows,
		enqueueRow(fmt.Sprintf("library, %d goroutines", r.opts.enqueuers), lib, lib.use.self),
		enqueueRow(fmt.Sprintf("library with Options.ID, %d goroutines", r.opts.enqueuers), r.enqueueIDs, r.enqueueIDs.use.self))
	if r.register != nil {
		t.Rows = append(t.Rows, enqueueRow(fmt.Sprintf("POST %s, %d clients", registerPath, r.opts.clients), *r.register, r.register.use.proc))
	}
	return t
}

// summary is the headline: the two delivery rates, their ratio against the targets, and the
// enqueue rates.
func (r report) summary() benchkit.Table {
	verdict := func(ratio, target float64) string {
		if ratio >= target {
			return "met"
		}
		return "missed"
	}
	ratio := r.ratio()
	register := []string{"register jobs/s", "-", "not measured (no -api)"}
	if r.register != nil {
		register = []string{"register jobs/s", fmt.Sprintf("%.0f", r.register.rate()), ""}
	}
	return benchkit.Table{Align: "lrl", Header: []string{"figure", "value", "result"}, Rows: [][]string{
		{"ceiling emails/s", fmt.Sprintf("%.0f", medianDelivery(r.ceiling).rate()), ""},
		{"worker drain emails/s", fmt.Sprintf("%.0f", medianDelivery(r.worker).rate()), ""},
		{"worker / ceiling", fmt.Sprintf("%.2f", ratio), fmt.Sprintf("target >= %.2f %s, aim >= %.2f %s",
			minDrainRatio, verdict(ratio, minDrainRatio), aimDrainRatio, verdict(ratio, aimDrainRatio))},
		{"library enqueue jobs/s", fmt.Sprintf("%.0f", medianEnqueue(r.enqueue).rate()), ""},
		register,
	}}
}

func (r report) describe() []string {
	rounds := "1 round"
	if r.opts.rounds > 1 {
		rounds = fmt.Sprintf("%d rounds in rotating order, the median round of each sender reported", r.opts.rounds)
	}
	return []string{
		fmt.Sprintf("%d verification emails (text and HTML, %.1f kB on the wire), delivered over %d SMTP connections to an in-process sink that accepts everything; %s.",
			r.opts.n, float64(r.wireBytes)/1e3, r.opts.conns, rounds),
		fmt.Sprintf("%d CPUs, GOMAXPROCS %d in every process; senders, sink, Redis and Postgres share them. %s/%s, %s, %s.",
			runtime.NumCPU(), r.gomaxprocs, runtime.GOOS, runtime.GOARCH, runtime.Version(), r.when.Format("2006-01-02 15:04 MST")),
		"Time runs from the start signal (the worker: /readyz answering 200) to the sink accepting the last message; steady emails/s leaves out the start-up (first to last message).",
		"CPU per message is CPU time over the measured time divided by the messages: of the sender process, of drain (which is the sink), and of Redis (its own count); other CPU is the rest of the machine, in cores.",
		"The enqueuer is drain for the library rows and the api for the registration row, whose requests each hash a password with bcrypt and write the account to Postgres before queueing: that row measures the endpoint, not the queue.",
	}
}

// redisLines says how many Redis commands a job cost, Lua scripts' inner commands included.
func (r report) redisLines() []string {
	d, e := medianDelivery(r.worker), medianEnqueue(r.enqueue)
	return []string{
		"Redis commands per job (inner commands of Lua scripts counted too; other clients of the same Redis add theirs):",
		"  drain:                   " + d.use.rstats.perJob(d.messages),
		"  library enqueue:         " + e.use.rstats.perJob(e.jobs),
		"  library enqueue with ID: " + r.enqueueIDs.use.rstats.perJob(r.enqueueIDs.jobs),
	}
}

// body is the report but for the Redis commands per job.
func (r report) body() benchkit.Report {
	tables := []benchkit.Table{r.deliveries()}
	if r.opts.rounds > 1 {
		tables = append(tables, r.perRound())
	}
	return benchkit.Report{Lines: r.describe(), Tables: append(tables, r.enqueues(), r.summary())}
}

func (r report) printText(w io.Writer) {
	r.body().Text(w)
	fmt.Fprintln(w)
	for _, l := range r.redisLines() {
		fmt.Fprintln(w, l)
	}
}

func (r report) markdown() []byte {
	var b bytes.Buffer
	r.body().Markdown(&b)
	b.WriteString("\n```\n" + strings.Join(r.redisLines(), "\n") + "\n```\n")
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
