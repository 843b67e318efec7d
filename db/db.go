// Package db owns the PostgreSQL schema: the goose migrations embedded from migrations/ and
// the code that applies them. The queries generated from that schema live in db/dbsqlc and are
// used only by the store in pkg/infra/store.
package db

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrate applies every migration not yet applied to the database at databaseURL. It logs
// nothing; a failure is returned.
//
// Unqualified names resolve through the connection's search_path, so a URL carrying
// ?search_path=s migrates schema s, goose's version table included. Concurrent calls for the
// same database and search_path take turns on an advisory lock; other schemas do not wait.
func Migrate(ctx context.Context, databaseURL string) error {
	p, err := newProvider(databaseURL)
	if err != nil {
		return err
	}
	_, err = p.Up(ctx)
	closeErr := p.Close()
	if err != nil {
		return fmt.Errorf("db: migrate: %w", err)
	}
	if closeErr != nil {
		return fmt.Errorf("db: close migration connections: %w", closeErr)
	}
	return nil
}

// newProvider returns a goose provider over its own connection pool; Close releases it.
func newProvider(databaseURL string) (*goose.Provider, error) {
	cfg, err := pgx.ParseConfig(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("db: parse database URL: %w", err)
	}
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, fmt.Errorf("db: migrations: %w", err)
	}
	// goose's default lock id is one per database; keying it on the search_path as well lets
	// parallel tests migrate their own schemas at once. It retries every second because
	// migrations of this schema take well under one.
	locker, err := lock.NewPostgresSessionLocker(
		lock.WithLockID(migrationLockID(cfg.RuntimeParams["search_path"])),
		lock.WithLockTimeout(1, 300),
	)
	if err != nil {
		return nil, fmt.Errorf("db: migration lock: %w", err)
	}
	sqlDB := stdlib.OpenDB(*cfg)
	p, err := goose.NewProvider(goose.DialectPostgres, sqlDB, fsys,
		goose.WithSessionLocker(locker),
		goose.WithDisableGlobalRegistry(true),
	)
	if err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("db: migrations: %w", err)
	}
	return p, nil
}

func migrationLockID(searchPath string) int64 {
	h := fnv.New64a()
	h.Write([]byte("oes migrations\x00" + searchPath))
	return int64(h.Sum64())
}

// EnsureDatabase creates the database named in databaseURL when it does not exist yet. To
// create it, it connects to the "postgres" maintenance database of the same server with the
// same credentials, which therefore need the CREATEDB privilege; a database that exists
// needs neither. Another process creating the same database at the same time is not an error.
func EnsureDatabase(ctx context.Context, databaseURL string) error {
	cfg, err := pgx.ParseConfig(databaseURL)
	if err != nil {
		return fmt.Errorf("db: parse database URL: %w", err)
	}
	name := cfg.Database
	if name == "" {
		return errors.New("db: the database URL names no database")
	}

	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err == nil {
		return conn.Close(ctx)
	}
	if !isPgCode(err, "3D000") { // invalid_catalog_name: the database does not exist
		return fmt.Errorf("db: connect to %s: %w", name, err)
	}

	admin := cfg.Copy()
	admin.Database = "postgres"
	// The schema a search_path names lives in the new database, not in this one.
	delete(admin.RuntimeParams, "search_path")
	conn, err = pgx.ConnectConfig(ctx, admin)
	if err != nil {
		return fmt.Errorf("db: connect to the postgres database to create %s: %w", name, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))

	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	// A concurrent CREATE DATABASE of the same name fails with duplicate_database, or with a
	// unique violation on pg_database when both passed the existence check together.
	if err != nil && !isPgCode(err, "42P04") && !isPgCode(err, "23505") {
		return fmt.Errorf("db: create database %s: %w", name, err)
	}
	return nil
}

func isPgCode(err error, code string) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == code
}
