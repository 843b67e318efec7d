package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/oeshq/oes/db"
	"github.com/oeshq/oes/pkg/infra/store"
)

// prepareDatabase creates the bench database when it does not exist and applies the schema's
// migrations.
func prepareDatabase(ctx context.Context, dbURL string) error {
	ctx, cancel := context.WithTimeout(ctx, toolWithin)
	defer cancel()
	if err := db.EnsureDatabase(ctx, dbURL); err != nil {
		return fmt.Errorf("bench database: %w", err)
	}
	if err := db.Migrate(ctx, dbURL); err != nil {
		return fmt.Errorf("bench database: %w", err)
	}
	return nil
}

// openStore opens a pool of conns connections to the bench database, all of them dialled
// before it returns, as a producer's pool that has been running for a while: a phase does not
// measure connecting. The caller closes the pool.
func openStore(ctx context.Context, dbURL string, conns int) (*pgxpool.Pool, *store.Store, error) {
	pool, err := store.Open(ctx, dbURL, int32(conns))
	if err != nil {
		return nil, nil, err
	}
	held := make([]*pgxpool.Conn, 0, conns)
	defer func() {
		for _, c := range held {
			c.Release()
		}
	}()
	for range conns {
		c, err := pool.Acquire(ctx)
		if err != nil {
			pool.Close()
			return nil, nil, fmt.Errorf("bench database: %w", err)
		}
		held = append(held, c)
	}
	return pool, store.New(pool), nil
}

// truncateOutbox empties the bench database's outbox (and its suppression list, which refers
// to it) before a phase, so that the phase's counts are its own.
func truncateOutbox(ctx context.Context, pool *pgxpool.Pool) error {
	_, err := pool.Exec(ctx, "TRUNCATE email_outbox, email_suppressions")
	return err
}

// outboxStates counts the outbox's emails by state.
func outboxStates(ctx context.Context, pool *pgxpool.Pool) (map[string]int, error) {
	rows, err := pool.Query(ctx, "SELECT state, count(*) FROM email_outbox GROUP BY state")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	n := map[string]int{}
	for rows.Next() {
		var state string
		var c int
		if err := rows.Scan(&state, &c); err != nil {
			return nil, err
		}
		n[state] = c
	}
	return n, rows.Err()
}

// pendingEmails counts the outbox's pending emails, from the relay's index of them.
func pendingEmails(ctx context.Context, pool *pgxpool.Pool) (int, error) {
	var n int
	err := pool.QueryRow(ctx, "SELECT count(*) FROM email_outbox WHERE state = 'pending'").Scan(&n)
	return n, err
}

// expectStates waits until the outbox's emails are in the states want counts, for at most
// within, polling every poll.
func expectStates(ctx context.Context, pool *pgxpool.Pool, want map[string]int, within, poll time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		got, err := outboxStates(ctx, pool)
		if err != nil {
			return err
		}
		if maps.Equal(got, want) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the outbox's emails by state are %v, want %v", got, want)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(poll):
		}
	}
}

// lastFinished returns when the last email of the outbox was finished (delivered), by
// Postgres's clock: the start of the transaction that recorded it, just before its commit.
func lastFinished(ctx context.Context, pool *pgxpool.Pool) (time.Time, error) {
	var t *time.Time
	if err := pool.QueryRow(ctx, "SELECT max(finished_at) FROM email_outbox").Scan(&t); err != nil {
		return time.Time{}, err
	}
	if t == nil {
		return time.Time{}, errors.New("no email of the outbox is finished")
	}
	return *t, nil
}

// expectReplies checks that every delivered email kept the server's reply.
func expectReplies(ctx context.Context, pool *pgxpool.Pool) error {
	var missing int
	err := pool.QueryRow(ctx, "SELECT count(*) FROM email_outbox WHERE state = 'delivered' AND smtp_reply NOT LIKE '250%'").Scan(&missing)
	if err == nil && missing > 0 {
		err = fmt.Errorf("%d delivered emails did not keep the server's 250 reply", missing)
	}
	return err
}
