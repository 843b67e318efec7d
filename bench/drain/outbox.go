package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/oeshq/oes/pkg/account"
	oesmail "github.com/oeshq/oes/pkg/infra/mail"
	"github.com/oeshq/oes/pkg/infra/outbox"
	"github.com/oeshq/oes/pkg/infra/queue"
	"github.com/oeshq/oes/pkg/infra/store"
	"github.com/oeshq/oes/pkg/oes"
)

// verificationEmail is m as the account service writes a verification email to the outbox:
// its kind, priority (10, the critical lane) and attempts.
func verificationEmail(m oesmail.Message) store.NewEmail {
	return store.NewEmail{Kind: oes.EmailVerify, Message: m, Priority: account.EmailPriority, MaxAttempts: account.EmailAttempts}
}

// measureOutboxWrite empties the outbox and writes msgs to it from workers goroutines, each
// email in a transaction of its own (store.InsertEmail), as producers write them; no worker
// runs, and Redis is not involved. The emails stay pending.
func measureOutboxWrite(ctx context.Context, r *rig, msgs []oesmail.Message, workers int) (enqueueRun, error) {
	pool, st, err := openStore(ctx, r.dbURL, workers)
	if err != nil {
		return enqueueRun{}, err
	}
	defer pool.Close()
	if err := truncateOutbox(ctx, pool); err != nil {
		return enqueueRun{}, err
	}
	pgBefore := r.meter.pg.stats(ctx)
	run := closedLoop(ctx, r.meter, 0, len(msgs), workers, func(ctx context.Context, i int) string {
		if _, err := st.InsertEmail(ctx, verificationEmail(msgs[i])); err != nil {
			return err.Error()
		}
		return ""
	})
	if err := ctx.Err(); err != nil {
		return run, err
	}
	if run.failed > 0 {
		return run, fmt.Errorf("outbox write: %d of %d failed (first: %s)", run.failed, len(msgs), run.firstErr)
	}
	if err := expectStates(ctx, pool, map[string]int{string(oes.EmailPending): len(msgs)}, 0, 0); err != nil {
		return run, fmt.Errorf("after the outbox write: %w", err)
	}
	pool.Close()
	run.use.pstats = r.meter.pg.settle(ctx).sub(pgBefore)
	return run, nil
}

// measureRelay runs the worker's relay (outbox.Relay's RelayPending, in this process) over
// the n pending emails of the outbox, onto the queue of client, and checks that all of them
// are queued in Postgres and waiting in Redis.
func measureRelay(ctx context.Context, r *rig, client *queue.Client, n int) (enqueueRun, error) {
	pool, st, err := openStore(ctx, r.dbURL, 1)
	if err != nil {
		return enqueueRun{}, err
	}
	defer pool.Close()
	relay := outbox.NewRelay(st, client, outbox.RelayConfig{JobTimeout: client.Config().Timeout}, slog.New(slog.DiscardHandler))
	// A relay that runs has set the queue's marker and named its lanes before it relays.
	if _, err := client.Recover(ctx); err != nil {
		return enqueueRun{}, err
	}
	pgBefore := r.meter.pg.stats(ctx)
	before := r.meter.read(ctx, 0)
	start := time.Now()
	relayed, err := relay.RelayPending(ctx)
	elapsed := time.Since(start)
	run := enqueueRun{jobs: relayed, elapsed: elapsed, use: r.meter.read(ctx, 0).since(before)}
	if err != nil {
		return run, fmt.Errorf("relay: %w", err)
	}
	if relayed != n {
		return run, fmt.Errorf("relay: %d emails relayed, want %d", relayed, n)
	}
	if err := expectStates(ctx, pool, map[string]int{string(oes.EmailQueued): n}, 0, 0); err != nil {
		return run, fmt.Errorf("after the relay: %w", err)
	}
	if err := expectLanes(ctx, client, n, 0); err != nil {
		return run, fmt.Errorf("after the relay: %w", err)
	}
	pool.Close()
	run.use.pstats = r.meter.pg.settle(ctx).sub(pgBefore)
	return run, nil
}

// expectLanes waits until the queue holds waiting jobs in the critical lane and nothing
// else, for at most within: the verification emails are priority 10.
func expectLanes(ctx context.Context, client *queue.Client, waiting int, within time.Duration) error {
	deadline := time.Now().Add(within)
	want := map[string]queue.Counts{
		queue.LaneCritical: {Waiting: waiting}, queue.LaneDefault: {}, queue.LaneLow: {},
	}
	for {
		got, err := client.LaneCounts(ctx)
		if err != nil {
			return err
		}
		same := len(got) == len(want)
		for lane, c := range want {
			same = same && got[lane] == c
		}
		if same {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the queue's lanes hold %+v, want %+v", got, want)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}
