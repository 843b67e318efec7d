package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/oeshq/oes/bench/internal/benchkit"
	"github.com/oeshq/oes/pkg/infra/store"
)

// settleWithin bounds the wait for the bench database's connections to close after a phase,
// so that their backends have flushed their statistics.
const settleWithin = 10 * time.Second

// pgProbe reads what Postgres spends on the bench database: the CPU time of its processes,
// from /proc, and the database's counters, from pg_stat_database (and pg_stat_statements when
// the server has it). It asks through a connection to the server's "postgres" database, so
// that its own queries count against no figure of the bench database.
type pgProbe struct {
	pool *pgxpool.Pool
	db   string // the bench database's name
	// procErr says why the CPU of Postgres's processes cannot be read, nil when it can.
	procErr error
	// stmtErr says why pg_stat_statements cannot be read, nil when it can.
	stmtErr error
}

func openPGProbe(ctx context.Context, dbURL string) (*pgProbe, error) {
	u, err := url.Parse(dbURL)
	if err != nil {
		return nil, errors.New("DATABASE_URL is not a valid URL")
	}
	name := strings.Trim(u.Path, "/")
	u.Path = "/postgres"
	pool, err := store.Open(ctx, u.String(), 1)
	if err != nil {
		return nil, err
	}
	p := &pgProbe{pool: pool, db: name}
	var pid int
	if err := pool.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres does not answer: %w", err)
	}
	// The server's processes are visible when its backend is a process called postgres here.
	comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	if err == nil && strings.TrimSpace(string(comm)) != "postgres" {
		err = fmt.Errorf("process %d is %q, not postgres", pid, strings.TrimSpace(string(comm)))
	}
	if err == nil {
		_, err = benchkit.CPUTime(pid)
	}
	if err != nil {
		p.procErr = fmt.Errorf("Postgres's processes are not visible in /proc (another host or container?): %w", err)
	}
	if _, err := p.statements(ctx); err != nil {
		p.stmtErr = err
	}
	return p, nil
}

func (p *pgProbe) close() { p.pool.Close() }

// pgCPU is the CPU time of each Postgres process working for the bench database: its
// backends and the server's background processes (WAL writer, checkpointer, ...), which other
// databases of the server share.
type pgCPU map[int]time.Duration

// cpu reads the CPU time of the processes now. A process that exits between two readings
// takes the CPU it spent since the first with it; one that started counts from its start.
func (p *pgProbe) cpu(ctx context.Context) (pgCPU, error) {
	if p.procErr != nil {
		return nil, p.procErr
	}
	rows, err := p.pool.Query(ctx, "SELECT pid FROM pg_stat_activity WHERE datname = $1 OR datname IS NULL", p.db)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	c := pgCPU{}
	for rows.Next() {
		var pid int
		if err := rows.Scan(&pid); err != nil {
			return nil, err
		}
		if t, err := benchkit.CPUTime(pid); err == nil {
			c[pid] = t
		}
	}
	return c, rows.Err()
}

// since returns the CPU time spent between before and c.
func (c pgCPU) since(before pgCPU) time.Duration {
	var d time.Duration
	for pid, t := range c {
		d += max(t-before[pid], 0)
	}
	return d
}

// pgStats are the bench database's counters: transactions, rows written and, with
// pg_stat_statements, statements run.
type pgStats struct {
	known                      bool
	commits, rollbacks         int64
	inserted, updated, deleted int64
	statements                 int64 // -1 without pg_stat_statements
}

// stats reads the counters now. Postgres counts a backend's work when the backend goes idle,
// at most once a second, or when it exits; settle waits for the latter.
func (p *pgProbe) stats(ctx context.Context) pgStats {
	s := pgStats{statements: -1}
	err := p.pool.QueryRow(ctx, `SELECT xact_commit, xact_rollback, tup_inserted, tup_updated, tup_deleted
		FROM pg_stat_database WHERE datname = $1`, p.db).Scan(&s.commits, &s.rollbacks, &s.inserted, &s.updated, &s.deleted)
	if err != nil {
		return pgStats{}
	}
	if p.stmtErr == nil {
		if s.statements, err = p.statements(ctx); err != nil {
			return pgStats{}
		}
	}
	s.known = true
	return s
}

func (p *pgProbe) statements(ctx context.Context) (int64, error) {
	var n int64
	err := p.pool.QueryRow(ctx, `SELECT coalesce(sum(calls), 0)::bigint FROM pg_stat_statements
		WHERE dbid = (SELECT oid FROM pg_database WHERE datname = $1)`, p.db).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("pg_stat_statements cannot be read (it must be in shared_preload_libraries, and its extension created in the postgres database): %w", err)
	}
	return n, nil
}

// settle waits until no connection to the bench database is left, since a backend's last
// counts reach pg_stat_database when it exits, then until two readings agree, and returns
// the counters. The caller closes its own pools and stops the processes of the phase first.
func (p *pgProbe) settle(ctx context.Context) pgStats {
	deadline := time.Now().Add(settleWithin)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		var n int
		if err := p.pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = $1 AND backend_type = 'client backend'`, p.db).Scan(&n); err != nil || n == 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	last := p.stats(ctx)
	for range 20 {
		time.Sleep(50 * time.Millisecond)
		s := p.stats(ctx)
		if s == last {
			break
		}
		last = s
	}
	return last
}

// sub returns the counts between before and s.
func (s pgStats) sub(before pgStats) pgStats {
	if !s.known || !before.known {
		return pgStats{}
	}
	d := pgStats{known: true, commits: s.commits - before.commits, rollbacks: s.rollbacks - before.rollbacks,
		inserted: s.inserted - before.inserted, updated: s.updated - before.updated, deleted: s.deleted - before.deleted,
		statements: -1}
	if s.statements >= 0 && before.statements >= 0 {
		d.statements = s.statements - before.statements
	}
	return d
}

// perJob describes the counts per job.
func (s pgStats) perJob(jobs int) string {
	if !s.known || jobs == 0 {
		return "n/a"
	}
	per := func(n int64) float64 { return float64(n) / float64(jobs) }
	stmts := "statements n/a"
	if s.statements >= 0 {
		stmts = fmt.Sprintf("%.2f statements", per(s.statements))
	}
	return fmt.Sprintf("%.2f transactions (%.2f rolled back), %s, rows: %.2f inserted, %.2f updated, %.2f deleted",
		per(s.commits+s.rollbacks), per(s.rollbacks), stmts, per(s.inserted), per(s.updated), per(s.deleted))
}
