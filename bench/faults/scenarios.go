package main

import (
	"context"
	"fmt"
	"time"
)

// scenario is one fault and what is measured around it.
type scenario struct {
	title  func(o options) string
	breaks string
	run    func(ctx context.Context, env *environment, n int) (*result, error)
}

// scenarios are run in this order; -run picks them by their number, from 1.
var scenarios = []scenario{
	{
		title: func(o options) string {
			return fmt.Sprintf("SMTP down %s while 200 emails are queued", span(o.smtpOutage))
		},
		breaks: "The SMTP server resets every connection before its greeting while 200 emails are written to the outbox; " +
			"then it answers again. Nobody acts. Target: 200 of 200 delivered within 30 s of its return, none failed, none twice, " +
			"and no attempt spent on the outage.",
		run: smtpDown,
	},
	{
		title: func(o options) string { return "queue Redis restarted empty with 1,000 emails pending or in flight" },
		breaks: "1,000 emails are written; once the worker has delivered some of them to a slow SMTP server, the queue's " +
			"redis-server (no persistence) is stopped, and started again empty on the same port after -redis-outage. Meanwhile " +
			"and afterwards, GET /api/v1/admin/jobs/:id is asked for every one of the 1,000 through the api. Target: every email " +
			"delivered, none failed; no duplicate (no worker dies and Postgres stays up, so none falls in the at-least-once " +
			"window); every admin request answered 200.",
		run: redisRestart,
	},
	{
		title: func(o options) string { return "queue Redis down during 20 registrations and 20 submissions" },
		breaks: "With the queue's redis-server stopped and a worker running, 20 students register through the api and 20 " +
			"others sign in, start an attempt at a published exam and submit it: 40 emails committed with their changes. " +
			"Then Redis is started, empty. Nobody acts. Target: every request answered as usual (201 with queued true " +
			"and a jobId; 200), the 40 emails delivered once each, none failed.",
		run: redisDown,
	},
	{
		title: func(o options) string {
			return fmt.Sprintf("%d SIGKILLs of the worker during a 5,000-email drain", o.kills)
		},
		breaks: "5,000 emails are written, one in four allowed a single attempt (each try of those is its last). The worker " +
			"drains them to a slow SMTP server and is killed with SIGKILL every 1-2 s, and started again at once, until it " +
			"has been killed -kills times; then the last one is left to finish. Target: none lost, none failed, drained " +
			"within 4 minutes of the last kill (asynq gives a dead worker's jobs to another once their 30 s lease " +
			"expires, and looks every minute). Duplicates are reported: a kill between the server's acceptance and the " +
			"outbox's record sends that email again, as documented.",
		run: workerKills,
	},
}

// span formats a duration of whole seconds as "60 s", any other as Go does.
func span(d time.Duration) string {
	if d%time.Second == 0 {
		return fmt.Sprintf("%d s", d/time.Second)
	}
	return d.String()
}
