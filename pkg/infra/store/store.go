// Package store keeps the application's data in PostgreSQL. It is the only user of the
// generated queries in db/dbsqlc: it speaks the domain types of package oes and turns every
// driver error into an *oes.Error before returning it.
//
// A service whose rules stand between several reads and writes that must hold together makes
// them in a transaction the store gives it (AttemptTx), with plain operations on it.
package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/oeshq/oes/db/dbsqlc"
)

// Store reads and writes exams, questions and users. Its methods are safe for concurrent use.
type Store struct {
	pool *pgxpool.Pool
	q    *dbsqlc.Queries
}

// New returns a Store over pool. The caller keeps ownership of the pool and closes it.
func New(pool *pgxpool.Pool) *Store {
	return &Store{pool: pool, q: dbsqlc.New()}
}

// Open returns a pool for databaseURL holding at most maxConns connections. It connects
// lazily: a server that is down now is no reason to fail start-up, since every query reports
// it as EUNAVAILABLE until it returns. Pool settings in the URL (pool_max_conns and the like)
// win over the arguments and defaults here. The caller closes the pool.
func Open(ctx context.Context, databaseURL string, maxConns int32, opts ...OpenOption) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		// The URL may carry a password; pgx redacts it in parse errors.
		return nil, fmt.Errorf("store: parse database URL: %w", err)
	}
	if maxConns > 0 && !strings.Contains(databaseURL, "pool_max_conns") {
		cfg.MaxConns = maxConns
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		// Without it a dial to a black-holed address waits for the request's context, which
		// may be long; a database that does not answer in 5s is unavailable.
		cfg.ConnConfig.ConnectTimeout = 5 * time.Second
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		cfg.ConnConfig.RuntimeParams["application_name"] = "oes"
	}
	if cfg.MaxConnLifetimeJitter == 0 {
		// Connections opened together at start-up would otherwise all expire together.
		cfg.MaxConnLifetimeJitter = cfg.MaxConnLifetime / 10
	}
	for _, o := range opts {
		o(cfg)
	}

	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: open pool: %w", err)
	}
	return pool, nil
}

// OpenOption adjusts the pool Open makes.
type OpenOption func(*pgxpool.Config)

// GenericPlans makes the pool's connections plan each prepared statement once, for any
// parameters (plan_cache_mode force_generic_plan), instead of planning it afresh at each run
// until Postgres judges a generic plan good enough, which it may never do. It suits the email
// worker, whose few statements run thousands of times a second by primary key: planning the
// statement that claims and records emails cost Postgres more than running it.
func GenericPlans() OpenOption {
	return func(c *pgxpool.Config) {
		if _, ok := c.ConnConfig.RuntimeParams["plan_cache_mode"]; !ok {
			c.ConnConfig.RuntimeParams["plan_cache_mode"] = "force_generic_plan"
		}
	}
}

// Ping checks that the database answers a query. It fails with EUNAVAILABLE when it does not.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return translate(err, "database")
	}
	return nil
}

// inTx runs fn in a transaction, committing when it returns nil and rolling back otherwise.
func (s *Store) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, s.pool, fn)
}
