package main

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/oeshq/oes/pkg/benchkit"
	oesmail "github.com/oeshq/oes/pkg/mail"
	"github.com/oeshq/oes/pkg/queue"
)

// delivery is one sender's delivery of its messages to the sink.
type delivery struct {
	messages int
	// elapsed runs from the start (go said to a reference sender; /readyz answering for the
	// worker, or its first delivery if that came first) to the sink accepting the last message.
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
func measureSender(ctx context.Context, procs *benchkit.Group, self, kind, name string, sk *sink, rdb *redis.Client, o options) (delivery, error) {
	args := []string{"-send", kind, "-sink", sk.addr(), "-n", strconv.Itoa(o.n), "-conns", strconv.Itoa(o.conns)}
	p, err := startSender(procs, name, self, args, benchkit.ChildEnv())
	if err != nil {
		return delivery{}, err
	}
	defer p.stop()
	if err := p.expectLine(ctx, lineReady, readyWithin); err != nil {
		return delivery{}, err
	}
	base := sk.delivered()
	before := readCounters(ctx, rdb, p.proc.Pid())
	start := time.Now()
	if err := p.say(lineGo); err != nil {
		return delivery{}, fmt.Errorf("%s: %w", name, err)
	}
	if err := sk.waitFor(ctx, base+o.n, deliverWithin, p.proc.Check); err != nil {
		return delivery{}, fmt.Errorf("%s: %w", name, err)
	}
	after := readCounters(ctx, rdb, p.proc.Pid())
	if err := p.expectLine(ctx, lineSent, stopWithin); err != nil {
		return delivery{}, err
	}
	if err := p.say(lineExit); err != nil {
		return delivery{}, fmt.Errorf("%s: %w", name, err)
	}
	if err := p.wait(stopWithin); err != nil {
		return delivery{}, err
	}
	if got := sk.delivered() - base; got != o.n {
		return delivery{}, fmt.Errorf("%s: the sink accepted %d messages, want %d", name, got, o.n)
	}
	first, last := sk.span(base, base+o.n)
	return delivery{messages: o.n, elapsed: last.Sub(start), steady: last.Sub(first), use: after.since(before)}, nil
}

// workerRound is what one round of the worker measured: queueing the messages through the
// library with no worker running, then one worker delivering them.
type workerRound struct {
	enqueue enqueueRun
	drain   delivery
}

// measureWorker queues msgs on the queue qcfg names, then starts one worker on it and
// measures how fast it delivers them to the sink. It checks that every job completed, and
// writes the worker's metrics check to check before it stops the worker.
func measureWorker(ctx context.Context, procs *benchkit.Group, bin string, sk *sink, rdb *redis.Client, qcfg queue.Config,
	msgs []oesmail.Message, o options, check io.Writer) (workerRound, error) {
	var r workerRound
	client, err := queue.New(qcfg)
	if err != nil {
		return r, err
	}
	defer client.Close()
	if r.enqueue, err = enqueueAll(ctx, client, rdb, msgs, o.enqueuers, queue.Options{}, nil); err != nil {
		return r, err
	}
	if r.enqueue.failed > 0 {
		return r, fmt.Errorf("library enqueue: %d of %d failed (first: %s)", r.enqueue.failed, len(msgs), r.enqueue.firstErr)
	}
	if err := expectCounts(ctx, client, queue.Counts{Waiting: len(msgs)}, time.Second); err != nil {
		return r, fmt.Errorf("after the enqueue: %w", err)
	}

	healthAddr, err := benchkit.FreeAddr()
	if err != nil {
		return r, err
	}
	base := sk.delivered()
	before := readCounters(ctx, rdb, 0)
	cmd := exec.Command(bin)
	cmd.Env = benchkit.ChildEnv(
		"QUEUE_PREFIX="+qcfg.QueuePrefix,
		"EMAIL_CONCURRENCY="+strconv.Itoa(o.conns),
		"SMTP_HOST=127.0.0.1",
		"SMTP_PORT="+strconv.Itoa(sk.port()),
		"SMTP_TLS=none",
		"SMTP_FROM="+smtpFrom,
		"HEALTH_ADDR="+healthAddr,
	)
	p, err := procs.Start("emailworker", cmd)
	if err != nil {
		return r, err
	}
	defer p.Stop()
	readyAt, err := p.WaitReady(ctx, healthAddr, readyWithin, readyPoll)
	if err != nil {
		return r, err
	}
	// The worker's start-up (runtime, configuration, connecting to Redis) is not measured.
	startCPU, err := benchkit.CPUTime(p.Pid())
	if err != nil {
		startCPU = -1
	}
	if err := sk.waitFor(ctx, base+len(msgs), deliverWithin, p.Check); err != nil {
		return r, fmt.Errorf("emailworker: %w", err)
	}
	after := readCounters(ctx, rdb, p.Pid())
	first, last := sk.span(base, base+len(msgs))
	start := readyAt
	if first.Before(start) {
		start = first
	}
	use := after.since(before)
	if use.proc >= 0 && startCPU >= 0 {
		use.proc -= startCPU
	}
	r.drain = delivery{messages: len(msgs), elapsed: last.Sub(start), steady: last.Sub(first), use: use}

	if err := expectCounts(ctx, client, queue.Counts{Completed: len(msgs)}, completeWithin); err != nil {
		return r, fmt.Errorf("after the drain: %w", err)
	}
	if got := sk.delivered() - base; got != len(msgs) {
		return r, fmt.Errorf("emailworker: the sink accepted %d messages for %d jobs", got, len(msgs))
	}
	metricsCheck(ctx, check, healthAddr)
	if err := p.Stop(); err != nil {
		return r, err
	}
	return r, nil
}

// expectCounts waits until the queue's counts equal want, for at most within.
func expectCounts(ctx context.Context, client *queue.Client, want queue.Counts, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		got, err := client.Counts(ctx)
		if err != nil {
			return err
		}
		if got == want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("queue counts %+v, want %+v", got, want)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
