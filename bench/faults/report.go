package main

import (
	"bytes"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/oeshq/oes/bench/internal/benchkit"
)

// result is what one scenario found.
type result struct {
	number int
	title  string
	breaks string // what the scenario breaks and how, for the report

	sent       int // emails the system committed (rows of the outbox)
	delivered  int // of their recipients, those the sink accepted a message for
	lost       int // committed and never accepted
	duplicated int // accepts beyond the first, over every recipient
	failed     int // rows in state failed

	// dupTarget is "0" when no duplicate is allowed (the scenario stays outside the
	// at-least-once window), "" when duplicates are only reported.
	dupTarget string
	// drainFrom names the moment the drain time is counted from: "after SMTP returned".
	drainFrom string
	// drainTarget is the longest the drain may take; drainBound how long the run waits,
	// which is the target too when no other is set.
	drainTarget, drainBound time.Duration
	drained                 drain
	drainStart              time.Time

	figures [][]string // further rows of the scenario's table: figure, value, target, result
	notes   []string
	misses  []string // targets missed, each said in a sentence
}

func (r *result) note(format string, args ...any) {
	r.notes = append(r.notes, fmt.Sprintf(format, args...))
}

func (r *result) miss(format string, args ...any) {
	r.misses = append(r.misses, fmt.Sprintf(format, args...))
}

// figure adds a row to the scenario's table; a target that was not met is also a miss.
func (r *result) figure(name, value, target string, met bool) {
	verdict := ""
	if target != "" {
		verdict = "met"
		if !met {
			verdict = "MISSED"
			r.miss("%s: %s, target %s", name, value, target)
		}
	}
	r.figures = append(r.figures, []string{name, value, target, verdict})
}

// since formats how long after the drain's start t came, "not drained" for a zero t.
func (r *result) since(t time.Time) string {
	if t.IsZero() {
		return fmt.Sprintf("not within %s", span(r.drainBound))
	}
	return seconds(t.Sub(r.drainStart))
}

// judge turns the counts and the drain into the table's first rows, checking the targets
// every scenario shares: nothing lost, nothing failed, the drain within its time.
func (r *result) judge() {
	rows := r.figures
	r.figures = nil
	r.figure("sent (committed to the outbox)", strconv.Itoa(r.sent), "", true)
	r.figure("delivered (distinct recipients accepted)", strconv.Itoa(r.delivered), strconv.Itoa(r.sent), r.delivered == r.sent)
	r.figure("lost", strconv.Itoa(r.lost), "0", r.lost == 0)
	if r.dupTarget != "" {
		r.figure("duplicated", strconv.Itoa(r.duplicated), r.dupTarget, r.duplicated == 0)
	} else {
		r.figure("duplicated (at-least-once window)", strconv.Itoa(r.duplicated), "", true)
	}
	r.figure("failed", strconv.Itoa(r.failed), "0", r.failed == 0)
	target := r.drainTarget
	if target == 0 {
		target = r.drainBound
	}
	d := r.drained.sinkDone
	r.figure("time to drain, "+r.drainFrom, r.since(d), "≤ "+span(target), !d.IsZero() && d.Sub(r.drainStart) <= target)
	r.figure("outbox records every email delivered, "+r.drainFrom, r.since(r.drained.recorded), "", true)
	r.figures = append(r.figures, rows...)
}

func (r *result) table() benchkit.Table {
	return benchkit.Table{Align: "lrll", Header: []string{"figure", "value", "target", "result"}, Rows: r.figures}
}

func (r *result) verdict() string {
	if len(r.misses) > 0 {
		return "MISSED"
	}
	return "met"
}

// text writes the scenario's report as text, as soon as it has run.
func (r *result) text(w io.Writer) {
	fmt.Fprintf(w, "\n%d. %s: %s\n", r.number, r.title, r.verdict())
	fmt.Fprintln(w, r.breaks)
	fmt.Fprintln(w)
	r.table().Text(w)
	for _, n := range r.notes {
		fmt.Fprintln(w, "  - "+n)
	}
	for _, m := range r.misses {
		fmt.Fprintln(w, "  MISSED: "+m)
	}
}

func (r *result) markdownTo(w io.Writer) {
	fmt.Fprintf(w, "\n### %d. %s: %s\n\n%s\n\n", r.number, r.title, r.verdict(), r.breaks)
	r.table().Markdown(w)
	if len(r.notes)+len(r.misses) > 0 {
		fmt.Fprintln(w)
	}
	for _, n := range r.notes {
		fmt.Fprintln(w, "- "+n)
	}
	for _, m := range r.misses {
		fmt.Fprintln(w, "- **Missed**: "+m)
	}
}

// runReport is the whole run.
type runReport struct {
	started, finished time.Time
	opts              options
	results           []*result
}

func (rr runReport) missed() bool {
	for _, r := range rr.results {
		if len(r.misses) > 0 {
			return true
		}
	}
	return false
}

func (rr runReport) describe() []string {
	return []string{
		fmt.Sprintf("Run of %s, %s in all: %d CPUs, %s/%s, %s.", rr.started.Format("2006-01-02 15:04 MST"),
			seconds(rr.finished.Sub(rr.started)), runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version()),
		fmt.Sprintf("Flags: -smtp-outage %s -redis-outage %s -sink-delay %s -kills %d.",
			span(rr.opts.smtpOutage), span(rr.opts.redisOutage), rr.opts.sinkDelay, rr.opts.kills),
	}
}

func (rr runReport) summary() benchkit.Table {
	t := benchkit.Table{Align: "lrrrrrrl", Header: []string{"scenario", "sent", "delivered", "lost", "duplicated", "failed",
		"time to drain", "targets"}}
	for _, r := range rr.results {
		t.Rows = append(t.Rows, []string{fmt.Sprintf("%d. %s", r.number, r.title), strconv.Itoa(r.sent), strconv.Itoa(r.delivered),
			strconv.Itoa(r.lost), strconv.Itoa(r.duplicated), strconv.Itoa(r.failed), r.since(r.drained.sinkDone), r.verdict()})
	}
	return t
}

func (rr runReport) summaryText(w io.Writer) {
	fmt.Fprintln(w)
	for _, l := range rr.describe() {
		fmt.Fprintln(w, l)
	}
	fmt.Fprintln(w)
	rr.summary().Text(w)
}

func (rr runReport) markdown() []byte {
	var b bytes.Buffer
	fmt.Fprintln(&b, strings.Join(rr.describe(), "\n\n"))
	fmt.Fprintln(&b)
	rr.summary().Markdown(&b)
	for _, r := range rr.results {
		r.markdownTo(&b)
	}
	return b.Bytes()
}

// seconds formats d in seconds: "3.21 s".
func seconds(d time.Duration) string {
	return fmt.Sprintf("%.2f s", d.Seconds())
}
