package main

import (
	"context"
	"strconv"
	"time"

	"github.com/oeshq/oes/bench/internal/benchkit"
)

const (
	smtpEmails      = 200
	smtpDrainTarget = 30 * time.Second
	// drainBound is how long a scenario waits for its emails once the fault is over, when no
	// longer target applies: an email still missing then is lost.
	drainBound = 2 * time.Minute
)

// smtpDown is scenario 1: the SMTP server down while emails are queued.
func smtpDown(ctx context.Context, env *environment, n int) (*result, error) {
	r, err := newRig(ctx, env, n, "smtp")
	if err != nil {
		return nil, err
	}
	defer r.close()
	res := &result{dupTarget: "0", drainFrom: "after SMTP returned", drainTarget: smtpDrainTarget, drainBound: drainBound}

	w, err := r.startWorker(ctx, true)
	if err != nil {
		return nil, err
	}
	r.sink.Down()
	downAt := time.Now()
	if err := writeEmails(ctx, r.st, "smtp", smtpEmails, func(int) int { return 3 }); err != nil {
		return nil, err
	}
	env.progress("  %d emails written; SMTP stays down until %s", smtpEmails, downAt.Add(env.opts.smtpOutage).Format("15:04:05"))
	if err := sleep(ctx, time.Until(downAt.Add(env.opts.smtpOutage))); err != nil {
		return nil, err
	}

	// What the outage did, read just before it ends.
	refused, accepted := r.sink.Refused(), r.sink.Delivered()
	during, err := takeCensus(ctx, r.st)
	if err != nil {
		return nil, err
	}
	m, merr := benchkit.ScrapeMetrics(ctx, w.health)
	r.sink.Up()
	res.drainStart = time.Now()
	env.progress("  SMTP is up again; waiting for the emails")

	res.drained, err = r.waitDrained(ctx, during.recipients(), res.drainBound, w.Check)
	if err != nil {
		return nil, err
	}
	end, err := r.tally(ctx, res)
	if err != nil {
		return nil, err
	}
	res.judge()

	spentDuring, deferrals := during.spent()
	res.figure("attempts spent during the outage", strconv.Itoa(spentDuring), "0", spentDuring == 0)
	res.figure("messages accepted during the outage", strconv.Itoa(accepted), "0", accepted == 0)
	res.figure("SMTP connection attempts during the outage", strconv.Itoa(refused), "", true)
	spentEnd, deferralsEnd := end.spent()
	res.note("at the end of the outage the outbox held %s, with %d deferrals recorded", during.states(), deferrals)
	if merr != nil {
		res.note("the worker's metrics could not be read at the end of the outage: %v", merr)
	} else {
		paused, _ := m.Sum("oes_email_deliveries_paused", `dependency="smtp"`)
		retried, _ := m.Sum("oes_emails_retried_total")
		res.note("the worker's metrics at the end of the outage: oes_email_deliveries_paused{dependency=\"smtp\"} %s, "+
			"oes_emails_retried_total %s", benchkit.FormatValue(paused), benchkit.FormatValue(retried))
	}
	res.note("attempts recorded at the end: %d for %d emails; deferrals %d", spentEnd, res.sent, deferralsEnd)
	if err := w.Check(); err != nil {
		res.miss("the worker did not survive: %v", err)
	}
	return res, nil
}
