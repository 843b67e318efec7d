package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/oeshq/oes/bench/internal/benchkit/smtpsink"
	"github.com/oeshq/oes/pkg/oes"
)

const (
	killEmails = 5000
	// killDrainBound is how long the last worker has to finish after the last kill: asynq
	// recovers a dead worker's jobs once their 30 s lease has expired, looking once a minute.
	killDrainBound = 4 * time.Minute
	// killEvery and killJitter space the kills: every 1 to 2 s.
	killEvery, killJitter = time.Second, time.Second
)

// kill is one SIGKILL of the worker.
type kill struct {
	at       time.Duration // after the first worker started
	accepted int           // messages the sink had accepted just before
	sending  int           // emails the outbox showed being sent just after: the dead worker's
}

// workerKills is scenario 4: the worker killed again and again while it drains a backlog.
func workerKills(ctx context.Context, env *environment, n int) (*result, error) {
	r, err := newRig(ctx, env, n, "kills")
	if err != nil {
		return nil, err
	}
	defer r.close()
	res := &result{drainFrom: "after the last kill", drainBound: killDrainBound}
	r.sink.SetDelay(env.opts.sinkDelay)

	// One email in four may be tried once: every try of it is its last.
	if err := writeEmails(ctx, r.st, "kills", killEmails, func(i int) int { return 1 + 2*min(i%4, 1) }); err != nil {
		return nil, err
	}
	before, err := takeCensus(ctx, r.st)
	if err != nil {
		return nil, err
	}
	w, err := r.spawnWorker()
	if err != nil {
		return nil, err
	}
	start := time.Now()
	var kills []kill
	for k := range env.opts.kills {
		if err := sleep(ctx, killEvery+rand.N(killJitter)); err != nil {
			return nil, err
		}
		if err := w.Check(); err != nil {
			res.miss("emailworker %d exited before it was killed: %v", k+1, err)
		}
		accepted := r.sink.Delivered()
		w.Kill()
		at := time.Since(start)
		counts, err := r.st.CountEmails(ctx, time.Time{})
		if err != nil {
			return nil, err
		}
		kills = append(kills, kill{at: at, accepted: accepted, sending: counts.Active})
		if w, err = r.spawnWorker(); err != nil {
			return nil, err
		}
		env.progress("  kill %d at %s: %d accepted, %d sending in all", k+1, seconds(at), accepted, counts.Active)
	}
	res.drainStart = start.Add(kills[len(kills)-1].at)
	env.progress("  killed %d times; waiting for the last worker to finish", len(kills))

	res.drained, err = r.waitDrained(ctx, before.recipients(), res.drainBound, w.Check)
	if err != nil {
		return nil, err
	}
	end, err := r.tally(ctx, res)
	if err != nil {
		return nil, err
	}
	res.judge()

	lastTry, lastTryDelivered := 0, 0
	for _, e := range end.emails {
		if e.AttemptsAllowed == 1 {
			lastTry++
			if e.State == oes.EmailDelivered {
				lastTryDelivered++
			}
		}
	}
	res.figure("emails allowed one attempt, delivered", fmt.Sprintf("%d of %d", lastTryDelivered, lastTry), "all",
		lastTryDelivered == lastTry)
	during := 0
	for _, k := range kills {
		if k.accepted < killEmails {
			during++
		}
	}
	res.figure("kills during the drain (the sink short of 5,000)", fmt.Sprintf("%d of %d", during, len(kills)), "all",
		during == len(kills))
	if !res.drained.sinkDone.IsZero() {
		res.note("the whole drain took %s from the first worker's start", seconds(res.drained.sinkDone.Sub(start)))
	}
	var ks []string
	for i, k := range kills {
		ks = append(ks, fmt.Sprintf("#%d at %s (%d accepted, %d sending)", i+1, seconds(k.at), k.accepted, k.sending))
	}
	res.note("kills, after the first start, with the messages the sink had accepted before each and the emails the dead "+
		"workers had left sending after it: %s", strings.Join(ks, "; "))
	if dups := duplicates(r.sink.Accepted(), start); len(dups) > 0 {
		res.note("sent more than once, with when each copy was accepted (at most EMAIL_CONCURRENCY, 5, per kill): %s",
			strings.Join(dups, "; "))
	}
	if err := w.Check(); err != nil {
		res.miss("the last worker did not survive: %v", err)
	}
	return res, nil
}

// duplicates lists the recipients the sink accepted more than one message for, each with the
// times of its accepts after start: the first should lie just before a kill.
func duplicates(accepted []smtpsink.Accepted, start time.Time) []string {
	at := map[string][]string{}
	for _, a := range accepted {
		for _, to := range a.To {
			at[to] = append(at[to], seconds(a.At.Sub(start)))
		}
	}
	var out []string
	for to, times := range at {
		if len(times) > 1 {
			out = append(out, fmt.Sprintf("%s at %s", to, strings.Join(times, " and ")))
		}
	}
	slices.Sort(out)
	return out
}
