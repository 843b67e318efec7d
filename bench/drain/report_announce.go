package main

import (
	"fmt"
	"strconv"
	"time"

	"github.com/oeshq/oes/bench/internal/benchkit"
	"github.com/oeshq/oes/pkg/exam"
)

// announcement is the table of the announcement phase: its times from the call, its rates and
// what it cost per email, from the call to the last delivery.
func (r report) announcement() benchkit.Table {
	a := *r.announce
	u := a.use
	return benchkit.Table{
		Title: fmt.Sprintf("An exam's announcement to %d candidates (exam.Service.Announce, one statement), one worker running; times from the call:",
			a.emails),
		Align: "rrrrrrrrrrrl",
		Header: []string{"candidates", "recorded", "queued", "delivered", "emails/s", "steady emails/s",
			"worker CPU/email", "drain CPU/email", "Redis CPU/email", "Postgres CPU/email", "other CPU",
			"queued < " + announceTarget.String()},
		Rows: [][]string{{strconv.Itoa(a.emails), benchkit.Millis(a.recorded), benchkit.Millis(a.queued),
			benchkit.Millis(a.delivered), fmt.Sprintf("%.0f", a.rate()), fmt.Sprintf("%.0f", a.steadyRate()),
			cpuShare(perItem(u.proc, a.emails)), cpuShare(perItem(u.self, a.emails)), cpuShare(perItem(u.redis, a.emails)),
			cpuShare(perItem(u.postgres, a.emails)), benchkit.Cores(u.cores(u.other)), verdict(a.met())}},
	}
}

// announcementSummary are the announcement's rows of the summary.
func (r report) announcementSummary() [][]string {
	if r.announce == nil {
		return [][]string{{"announcement", "-", "not measured (-announce 0)"}}
	}
	a := *r.announce
	target := func(d time.Duration) string {
		return fmt.Sprintf("target < %s %s", announceTarget, verdict(d < announceTarget))
	}
	name := fmt.Sprintf("announcement to %d candidates, ", a.emails)
	return [][]string{
		{name + "recorded", benchkit.Millis(a.recorded), target(a.recorded)},
		{name + "queued", benchkit.Millis(a.queued), target(a.queued)},
		{name + "delivered", benchkit.Millis(a.delivered), ""},
		{name + "emails/s to delivered", fmt.Sprintf("%.0f", a.rate()), ""},
	}
}

// announcementLine describes the announcement phase.
func (r report) announcementLine() string {
	a := *r.announce
	return fmt.Sprintf("The announcement: %d students made for the run in one INSERT ... SELECT (%s) and assigned to a new published exam with exam.Service.AddCandidates, %d at most a call (%s); "+
		"with a worker running (EMAIL_CONCURRENCY %d, the shipped EMAIL_FETCH_INTERVAL), exam.Service.Announce writes their %d emails (text and HTML, %.1f kB on the wire, low lane) in one statement. "+
		"Recorded: the call returned; queued: none of them pending, the outbox counted every %s; delivered: the sink accepted every message and the outbox recorded each delivered.",
		a.emails, benchkit.Millis(a.made), exam.MaxCandidatesPerCall, benchkit.Millis(a.assigned), r.opts.conns, a.emails, float64(a.wireBytes)/1e3, announcePoll)
}
