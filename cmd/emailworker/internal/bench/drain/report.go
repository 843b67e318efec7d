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
	"unicode/utf8"
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

// table is a result table, printed aligned as text or as a markdown table. align has one
// letter per column: l for labels, r for figures.
type table struct {
	align  string
	header []string
	rows   [][]string
}

func (t table) text(w io.Writer) {
	widths := make([]int, len(t.header))
	for _, row := range append([][]string{t.header}, t.rows...) {
		for i, c := range row {
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	for _, row := range append([][]string{t.header}, t.rows...) {
		var b strings.Builder
		for i, c := range row {
			pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c))
			if i > 0 {
				b.WriteString("  ")
			}
			if t.align[i] == 'l' {
				b.WriteString(c + pad)
			} else {
				b.WriteString(pad + c)
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
}

func (t table) markdown(w io.Writer) {
	fmt.Fprintln(w, "| "+strings.Join(t.header, " | ")+" |")
	for _, a := range t.align {
		if a == 'l' {
			fmt.Fprint(w, "|---")
		} else {
			fmt.Fprint(w, "|--:")
		}
	}
	fmt.Fprintln(w, "|")
	for _, row := range t.rows {
		fmt.Fprintln(w, "| "+strings.Join(row, " | ")+" |")
	}
}

func deliveryRow(name string, d delivery) []string {
	u := d.use
	return []string{name, strconv.Itoa(d.messages), millis(d.elapsed), fmt.Sprintf("%.0f", d.rate()),
		fmt.Sprintf("%.0f", d.steadyRate()), cpuShare(perItem(u.proc, d.messages)), cpuShare(perItem(u.self, d.messages)),
		cpuShare(perItem(u.redis, d.messages)), cores(u.cores(u.other))}
}

// deliveries is the main table: one row per sender.
func (r report) deliveries() table {
	t := table{align: "lrrrrrrrr", header: []string{"sender", "messages", "time", "emails/s", "steady emails/s",
		"sender CPU/msg", "sink CPU/msg", "Redis CPU/msg", "other CPU"}}
	t.rows = append(t.rows,
		deliveryRow(nameCeiling, medianDelivery(r.ceiling)),
		deliveryRow(nameLibrary, medianDelivery(r.library)),
		deliveryRow(nameWorker+" (queue + smtpsend)", medianDelivery(r.worker)))
	return t
}

// perRound shows every round, so that the spread behind the medians can be judged.
func (r report) perRound() table {
	t := table{align: "rrrrrr", header: []string{"round", "ceiling emails/s", "smtpsend emails/s", "worker emails/s",
		"worker / ceiling", "library enqueue jobs/s"}}
	for i := range r.opts.rounds {
		t.rows = append(t.rows, []string{strconv.Itoa(i + 1), fmt.Sprintf("%.0f", r.ceiling[i].rate()),
			fmt.Sprintf("%.0f", r.library[i].rate()), fmt.Sprintf("%.0f", r.worker[i].rate()),
			fmt.Sprintf("%.2f", r.worker[i].rate()/r.ceiling[i].rate()), fmt.Sprintf("%.0f", r.enqueue[i].rate())})
	}
	return t
}

func enqueueRow(name string, e enqueueRun, cpu time.Duration) []string {
	return []string{name, strconv.Itoa(e.jobs), fmt.Sprintf("%.0f", e.rate()), millis(e.p50), millis(e.p99),
		cpuShare(perItem(cpu, e.jobs)), cpuShare(perItem(e.use.redis, e.jobs))}
}

func (r report) enqueues() table {
	t := table{align: "lrrrrrr", header: []string{"enqueue path", "jobs", "jobs/s", "p50", "p99", "enqueuer CPU/job", "Redis CPU/job"}}
	lib := medianEnqueue(r.enqueue)
	t.rows = append(t.rows,
		enqueueRow(fmt.Sprintf("library, %d goroutines", r.opts.enqueuers), lib, lib.use.self),
		enqueueRow(fmt.Sprintf("library with Options.ID, %d goroutines", r.opts.enqueuers), r.enqueueIDs, r.enqueueIDs.use.self))
	if r.register != nil {
		t.rows = append(t.rows, enqueueRow(fmt.Sprintf("POST %s, %d clients", registerPath, r.opts.clients), *r.register, r.register.use.proc))
	}
	return t
}

// summary is the headline: the two delivery rates, their ratio against the targets, and the
// enqueue rates.
func (r report) summary() table {
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
	return table{align: "lrl", header: []string{"figure", "value", "result"}, rows: [][]string{
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

func (r report) printText(w io.Writer) {
	fmt.Fprintln(w)
	for _, l := range r.describe() {
		fmt.Fprintln(w, l)
	}
	fmt.Fprintln(w)
	r.deliveries().text(w)
	if r.opts.rounds > 1 {
		fmt.Fprintln(w)
		r.perRound().text(w)
	}
	fmt.Fprintln(w)
	r.enqueues().text(w)
	fmt.Fprintln(w)
	r.summary().text(w)
	fmt.Fprintln(w)
	for _, l := range r.redisLines() {
		fmt.Fprintln(w, l)
	}
}

func (r report) markdown() []byte {
	var b bytes.Buffer
	b.WriteString(strings.Join(r.describe(), "\n") + "\n\n")
	r.deliveries().markdown(&b)
	if r.opts.rounds > 1 {
		b.WriteString("\nEach round:\n\n")
		r.perRound().markdown(&b)
	}
	b.WriteString("\n")
	r.enqueues().markdown(&b)
	b.WriteString("\n")
	r.summary().markdown(&b)
	b.WriteString("\n```\n" + strings.Join(r.redisLines(), "\n") + "\n```\n")
	return b.Bytes()
}

func millis(d time.Duration) string {
	return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
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

func cores(c float64) string {
	if c < 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f", c)
}
