package main

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/oeshq/oes/bench/internal/benchkit"
	"github.com/oeshq/oes/pkg/oes"
)

const (
	restartEmails = 1000
	// restartAfter is how many emails the sink has accepted when the queue's Redis is stopped:
	// the rest are pending, queued or being sent.
	restartAfter = restartEmails / 5
	adminEmail   = "admin@faults.test"
	// password is every account's password in the scenarios.
	password = "fault-password-1"
)

// redisRestart is scenario 2: the queue's Redis restarted empty in the middle of a drain,
// with the admin API asked for every email meanwhile.
func redisRestart(ctx context.Context, env *environment, n int) (*result, error) {
	r, err := newRig(ctx, env, n, "redis_restart")
	if err != nil {
		return nil, err
	}
	defer r.close()
	res := &result{dupTarget: "0", drainFrom: "after Redis returned", drainBound: drainBound}
	r.sink.SetDelay(env.opts.sinkDelay)

	api, err := r.startAPI(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := benchkit.CreateAccount(ctx, r.st, adminEmail, "Fault Admin", password, oes.RoleAdmin); err != nil {
		return nil, err
	}
	token, err := api.login(ctx, adminEmail, password)
	if err != nil {
		return nil, err
	}
	if err := writeEmails(ctx, r.st, "restart", restartEmails, func(int) int { return 3 }); err != nil {
		return nil, err
	}
	before, err := takeCensus(ctx, r.st)
	if err != nil {
		return nil, err
	}
	ids := make([]int64, len(before.emails))
	for i, e := range before.emails {
		ids[i] = e.ID
	}
	slices.Sort(ids)

	w, err := r.startWorker(ctx, true)
	if err != nil {
		return nil, err
	}
	if err := r.sink.WaitFor(ctx, restartAfter, time.Minute, w.Check); err != nil {
		return nil, err
	}
	if err := r.redis.Stop(); err != nil {
		return nil, err
	}
	stoppedAt := time.Now()
	acceptedAtStop := r.sink.Delivered()
	atStop, err := takeCensus(ctx, r.st)
	if err != nil {
		return nil, err
	}
	env.progress("  Redis stopped with %d of %d emails accepted; it returns in %s", acceptedAtStop, restartEmails, span(env.opts.redisOutage))

	// While Redis is down: the admin API for every email, pass after pass, and the worker's
	// readiness.
	stop := make(chan struct{})
	timer := time.AfterFunc(time.Until(stoppedAt.Add(env.opts.redisOutage)), func() { close(stop) })
	defer timer.Stop()
	readyz := probe(ctx, "http://"+w.health+"/readyz")
	during := api.pollJobs(ctx, token, ids, stop)
	if err := sleep(ctx, time.Until(stoppedAt.Add(env.opts.redisOutage))); err != nil {
		return nil, err
	}
	acceptedDown := r.sink.Delivered() - acceptedAtStop
	if err := r.redis.Start(ctx); err != nil {
		return nil, err
	}
	res.drainStart = time.Now()
	env.progress("  Redis is back, empty; waiting for the emails")

	drained := make(chan struct{})
	afterc := make(chan jobPoll, 1)
	go func() { afterc <- api.pollJobs(ctx, token, ids, drained) }()
	res.drained, err = r.waitDrained(ctx, before.recipients(), res.drainBound, w.Check)
	close(drained)
	after := <-afterc
	if err != nil {
		return nil, err
	}
	// One more pass once everything is recorded: every email should read delivered.
	done := make(chan struct{})
	close(done)
	final := api.pollJobs(ctx, token, ids, done)
	after.passes, after.requests, after.ok = after.passes+final.passes, after.requests+final.requests, after.ok+final.ok
	for k, v := range final.others {
		after.others[k] += v
	}

	if _, err := r.tally(ctx, res); err != nil {
		return nil, err
	}
	res.judge()
	res.figure("admin API answers while Redis was down", fmt.Sprintf("%d of %d", during.ok, during.requests), "all",
		during.requests > 0 && during.ok == during.requests)
	res.figure("admin API answers after Redis returned", fmt.Sprintf("%d of %d", after.ok, after.requests), "all",
		after.requests > 0 && after.ok == after.requests)
	res.figure("admin API: emails read delivered at the end", fmt.Sprintf("%d of %d", final.delivered, len(ids)), "all",
		final.delivered == len(ids))
	res.note("Redis was stopped once the sink had accepted %d; the outbox then held %s", acceptedAtStop, atStop.states())
	res.note("messages accepted while Redis was down (sends already under way): %d", acceptedDown)
	res.note("GET /api/v1/admin/jobs/:id for the %d emails: while Redis was down %s; after it returned %s", len(ids), during, after)
	res.note("the worker's /readyz while Redis was down: %s", readyz)
	log := w.Tail(1 << 30)
	for _, line := range []string{"the queue's redis lost its data", "emails the queue's redis had lost are queued again"} {
		res.note("the worker logged %q: %s", line, yesNo(bytes.Contains(log, []byte(line))))
	}
	if err := w.Check(); err != nil {
		res.miss("the worker did not survive: %v", err)
	}
	return res, nil
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
