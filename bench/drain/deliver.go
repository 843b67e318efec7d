package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/oeshq/oes/bench/internal/benchkit"
	oesmail "github.com/oeshq/oes/pkg/infra/mail"
	"github.com/oeshq/oes/pkg/infra/queue"
	"github.com/oeshq/oes/pkg/oes"
)

// delivery is one sender's delivery of its messages to the sink.
type delivery struct {
	messages int
	// elapsed runs from the start (go said to a reference sender; /readyz answering for the
	// worker, or its first delivery if that came first) to the sink accepting the last message,
	// and for the worker to the last email recorded as delivered, whichever came later.
	elapsed time.Duration
	// steady runs from the first message accepted to the last, without the start-up.
	steady time.Duration
	use    usage
}

func (d delivery) rate() float64 { return float64(d.messages) / d.elapsed.Seconds() }

func (d delivery) steadyRate() float64 {
	if d.messages < 2 || d.steady <= 0 {
		return d.rate()
	}
	return float64(d.messages-1) / d.steady.Seconds()
}

// measureSender runs one reference sender (senderCeiling or senderLibrary) as its own process
// and measures its delivery of n messages to the sink.
func measureSender(ctx context.Context, r *rig, self, kind, name string, msgs []oesmail.Message, o options) (delivery, error) {
	sk := r.sink
	args := []string{"-send", kind, "-sink", sk.Addr(), "-n", strconv.Itoa(o.n), "-conns", strconv.Itoa(o.conns)}
	p, err := startSender(r.procs, name, self, args, benchkit.ChildEnv())
	if err != nil {
		return delivery{}, err
	}
	defer p.stop()
	if err := p.expectLine(ctx, lineReady, readyWithin); err != nil {
		return delivery{}, err
	}
	base := sk.Delivered()
	before := r.meter.read(ctx, p.proc.Pid())
	start := time.Now()
	if err := p.say(lineGo); err != nil {
		return delivery{}, fmt.Errorf("%s: %w", name, err)
	}
	if err := sk.WaitFor(ctx, base+o.n, deliverWithin, p.proc.Check); err != nil {
		return delivery{}, fmt.Errorf("%s: %w", name, err)
	}
	after := r.meter.read(ctx, p.proc.Pid())
	if err := p.expectLine(ctx, lineSent, stopWithin); err != nil {
		return delivery{}, err
	}
	if err := p.say(lineExit); err != nil {
		return delivery{}, fmt.Errorf("%s: %w", name, err)
	}
	if err := p.wait(stopWithin); err != nil {
		return delivery{}, err
	}
	if err := r.expectRecipients(base, msgs); err != nil {
		return delivery{}, fmt.Errorf("%s: %w", name, err)
	}
	first, last := sk.Span(base, base+o.n)
	return delivery{messages: o.n, elapsed: last.Sub(start), steady: last.Sub(first), use: after.since(before)}, nil
}

// measureDrain starts one worker on the queue qcfg names, whose lanes hold the n emails of
// the outbox, all queued, and measures how fast it delivers them: until the sink has accepted
// every message and every email is recorded as delivered. It checks that no message was lost
// or sent twice and that the queue is empty, and writes the worker's metrics check to check
// before it stops the worker.
func measureDrain(ctx context.Context, r *rig, client *queue.Client, msgs []oesmail.Message, o options, check io.Writer) (delivery, error) {
	n := len(msgs)
	base := r.sink.Delivered()
	pgBefore := r.meter.pg.stats(ctx)
	before := r.meter.read(ctx, 0)
	w, err := r.startWorker(ctx, "emailworker", client.Config().QueuePrefix, o.conns, 0)
	if err != nil {
		return delivery{}, err
	}
	// This Stop is for an early return; the one below reports how the process ended.
	defer func() { _ = w.proc.Stop() }()
	// The worker's start-up (runtime, configuration, connecting) is not measured.
	startCPU, err := benchkit.CPUTime(w.proc.Pid())
	if err != nil {
		startCPU = -1
	}
	pool, _, err := openStore(ctx, r.dbURL, 1)
	if err != nil {
		return delivery{}, err
	}
	defer pool.Close()
	if err := r.sink.WaitFor(ctx, base+n, deliverWithin, w.proc.Check); err != nil {
		return delivery{}, fmt.Errorf("emailworker: %w", err)
	}
	delivered := map[string]int{string(oes.EmailDelivered): n}
	if err := expectStates(ctx, pool, delivered, completeWithin, 2*time.Millisecond); err != nil {
		return delivery{}, fmt.Errorf("after the drain: %w", err)
	}
	after := r.meter.read(ctx, w.proc.Pid())
	finished, err := lastFinished(ctx, pool)
	if err != nil {
		return delivery{}, err
	}
	first, last := r.sink.Span(base, base+n)
	start := w.readyAt
	if first.Before(start) {
		start = first
	}
	end := last
	if finished.After(end) {
		end = finished
	}
	use := after.since(before)
	if use.proc >= 0 && startCPU >= 0 {
		use.proc -= startCPU
	}
	d := delivery{messages: n, elapsed: end.Sub(start), steady: last.Sub(first), use: use}

	if err := expectLanes(ctx, client, 0, completeWithin); err != nil {
		return d, fmt.Errorf("after the drain: %w", err)
	}
	if err := r.expectRecipients(base, msgs); err != nil {
		return d, fmt.Errorf("emailworker: %w", err)
	}
	if err := expectReplies(ctx, pool); err != nil {
		return d, err
	}
	metricsCheck(ctx, check, w.healthAddr)
	if err := w.proc.Stop(); err != nil {
		return d, err
	}
	pool.Close()
	d.use.pstats = r.meter.pg.settle(ctx).sub(pgBefore)
	return d, nil
}

// expectRecipients checks that the sink accepted, since its count was base, one message for
// each of msgs and no other: none lost, none twice.
func (r *rig) expectRecipients(base int, msgs []oesmail.Message) error {
	to := make([]string, len(msgs))
	for i, m := range msgs {
		to[i] = m.To[0]
	}
	return r.expectAddresses(base, to)
}

// expectAddresses checks that the sink accepted, since its count was base, one message for
// each address of addrs and none for any other address: none lost, none twice.
func (r *rig) expectAddresses(base int, addrs []string) error {
	got := r.sink.ByRecipientFrom(base)
	var lost, twice []string
	for _, to := range addrs {
		switch n := got[to]; {
		case n == 0:
			lost = append(lost, to)
		case n > 1:
			twice = append(twice, fmt.Sprintf("%s %d times", to, n))
		}
		delete(got, to)
	}
	if len(lost) == 0 && len(twice) == 0 && len(got) == 0 {
		return nil
	}
	err := fmt.Errorf("the sink accepted %d messages for %d emails: %d lost, %d sent more than once, %d to addresses of no email",
		r.sink.Delivered()-base, len(addrs), len(lost), len(twice), len(got))
	if len(lost) > 0 {
		err = fmt.Errorf("%w; first lost: %s", err, lost[0])
	}
	if len(twice) > 0 {
		err = fmt.Errorf("%w; first sent more than once: %s", err, twice[0])
	}
	return err
}
