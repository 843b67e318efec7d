package main

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/oeshq/oes/bench/internal/benchkit/smtpsink"
	oesmail "github.com/oeshq/oes/pkg/infra/mail"
	"github.com/oeshq/oes/pkg/infra/queue"
	"github.com/oeshq/oes/pkg/infra/store"
	"github.com/oeshq/oes/pkg/oes"
)

// latencyTarget is the project's target for the time from an email's commit to the SMTP
// server's accepting it, at the 99th percentile, with a worker running and a steady producer.
const latencyTarget = 50 * time.Millisecond

// producerConns bounds the latency phase's writes in flight, and its pool.
const producerConns = 16

// latencyRun is the latency phase with one EMAIL_FETCH_INTERVAL.
type latencyRun struct {
	fetch   time.Duration
	shipped bool
	emails  int
	rate    float64 // achieved: emails committed per second
	// Of each email, sorted: from its commit to the sink's accept, and the parts of that
	// time the outbox's timestamps tell apart (see measureLatency).
	total, toRelay, inQueue, sending []time.Duration
	use                              usage
}

// measureLatency starts a worker on the queue of prefix with asynq's fetch interval fetch
// (the shipped one when 0), writes emails to the outbox at o.latencyRate a second, each its
// own transaction, for one second of warm-up and then o.latencyDuration, and measures for
// each email of the measured part the time from its commit (InsertEmail returning) to the
// sink accepting its message. The outbox's timestamps split that time: from the commit to the
// start of the relay's transaction that queued it (queued_at), from there to the worker's
// claim (claimed_at: the relay's commit, the wait in Redis until a worker fetched the job),
// and from the claim to the accept (the SMTP transaction).
func measureLatency(ctx context.Context, r *rig, qcfg queue.Config, fetch time.Duration, o options) (latencyRun, error) {
	run := latencyRun{fetch: fetch, shipped: fetch == 0}
	if run.shipped {
		run.fetch = shippedFetchInterval()
	}
	warm := o.latencyRate
	n := int(o.latencyDuration.Seconds() * float64(o.latencyRate))
	msgs, err := benchMessages(fmt.Sprintf("lat-%s-", run.fetch), warm+n)
	if err != nil {
		return run, err
	}
	pool, st, err := openStore(ctx, r.dbURL, producerConns)
	if err != nil {
		return run, err
	}
	defer pool.Close()
	if err := truncateOutbox(ctx, pool); err != nil {
		return run, err
	}
	w, err := r.startWorker(ctx, fmt.Sprintf("emailworker (latency, %s)", run.fetch), qcfg.QueuePrefix, o.conns, run.fetch)
	if err != nil {
		return run, err
	}
	// This Stop is for an early return; the one below reports how the process ended.
	defer func() { _ = w.proc.Stop() }()

	// The warm-up lets the relay take the lead and the worker dial its SMTP connections.
	base := r.sink.Delivered()
	if _, err := produce(ctx, st, msgs[:warm], o.latencyRate); err != nil {
		return run, fmt.Errorf("latency warm-up: %w", err)
	}
	if err := r.sink.WaitFor(ctx, base+warm, deliverWithin, w.proc.Check); err != nil {
		return run, fmt.Errorf("latency warm-up: %w", err)
	}
	measured := r.sink.Delivered()
	before := r.meter.read(ctx, w.proc.Pid())
	commits, err := produce(ctx, st, msgs[warm:], o.latencyRate)
	if err != nil {
		return run, fmt.Errorf("latency: %w", err)
	}
	if err := r.sink.WaitFor(ctx, measured+n, deliverWithin, w.proc.Check); err != nil {
		return run, fmt.Errorf("latency: %w", err)
	}
	run.use = r.meter.read(ctx, w.proc.Pid()).since(before)
	delivered := map[string]int{string(oes.EmailDelivered): warm + n}
	if err := expectStates(ctx, pool, delivered, completeWithin, 5*time.Millisecond); err != nil {
		return run, fmt.Errorf("after the latency phase: %w", err)
	}
	if err := r.expectRecipients(base, msgs); err != nil {
		return run, fmt.Errorf("latency: %w", err)
	}
	if err := run.split(ctx, pool, msgs[warm:], commits, r.sink.AcceptedFrom(measured)); err != nil {
		return run, err
	}
	run.emails, run.rate = n, float64(n)/o.latencyDuration.Seconds()
	if first, last := slices.MinFunc(commits, time.Time.Compare), slices.MaxFunc(commits, time.Time.Compare); n > 1 && last.After(first) {
		run.rate = float64(n-1) / last.Sub(first).Seconds()
	}
	return run, w.proc.Stop()
}

// split works out each measured email's times from its commit, the outbox's timestamps and
// the sink's accept.
func (l *latencyRun) split(ctx context.Context, pool *pgxpool.Pool, msgs []oesmail.Message, commits []time.Time, accepted []smtpsink.Accepted) error {
	acceptAt := make(map[string]time.Time, len(accepted))
	for _, a := range accepted {
		for _, to := range a.To {
			acceptAt[to] = a.At
		}
	}
	type marks struct{ queued, claimed time.Time }
	rows, err := pool.Query(ctx, "SELECT recipient, queued_at, claimed_at FROM email_outbox")
	if err != nil {
		return err
	}
	byRecipient := map[string]marks{}
	for rows.Next() {
		var to string
		var m marks
		if err := rows.Scan(&to, &m.queued, &m.claimed); err != nil {
			rows.Close()
			return err
		}
		byRecipient[to] = m
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for i, m := range msgs {
		to := m.To[0]
		at, ok1 := acceptAt[to]
		mk, ok2 := byRecipient[to]
		if !ok1 || !ok2 {
			return fmt.Errorf("latency: no accept or no outbox row for %s", to)
		}
		l.total = append(l.total, at.Sub(commits[i]))
		l.toRelay = append(l.toRelay, mk.queued.Sub(commits[i]))
		l.inQueue = append(l.inQueue, mk.claimed.Sub(mk.queued))
		l.sending = append(l.sending, at.Sub(mk.claimed))
	}
	for _, s := range [][]time.Duration{l.total, l.toRelay, l.inQueue, l.sending} {
		slices.Sort(s)
	}
	return nil
}

// produce writes msgs to the outbox at rate a second, paced by a ticker, each in a
// transaction of its own started on its tick, so that a slow write does not hold back the
// next; at most producerConns are in flight. It returns when each one committed.
func produce(ctx context.Context, st *store.Store, msgs []oesmail.Message, rate int) ([]time.Time, error) {
	commits := make([]time.Time, len(msgs))
	errs := make([]error, len(msgs))
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	slots := make(chan struct{}, producerConns)
	var wg sync.WaitGroup
	defer wg.Wait()
	for i, m := range msgs {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-tick.C:
		}
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			_, errs[i] = st.InsertEmail(ctx, verificationEmail(m))
			commits[i] = time.Now()
		})
	}
	wg.Wait()
	var first error
	failed := 0
	for _, err := range errs {
		if err != nil && first == nil {
			first = err
		}
		if err != nil {
			failed++
		}
	}
	if failed > 0 {
		return nil, fmt.Errorf("%d of %d writes failed (first: %w)", failed, len(msgs), first)
	}
	return commits, nil
}
