// Package pgtest gives each test a PostgreSQL schema of its own, freshly migrated, so tests
// can run in parallel against one real server without seeing each other's data.
//
// The server is the one TEST_DATABASE_URL points at (default
// postgres://127.0.0.1:5432/postgres?sslmode=disable); only its address and credentials are
// used. The schemas live in the database oes_test on that server, created when missing. A test
// fails when the server cannot be reached, or is skipped when TEST_ALLOW_SKIP=1.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/oeshq/oes/db"
)

// Database is the database on the test server that holds the per-test schemas.
const Database = "oes_test"

const defaultServerURL = "postgres://127.0.0.1:5432/postgres?sslmode=disable"

// maxConnsPerTest keeps the parallel tests of several packages within the server's
// max_connections.
const maxConnsPerTest = 4

// New returns a pool on the schema of t (see URL), closed when t ends. Each call opens a new
// pool on the same schema.
func New(t testing.TB) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(URL(t))
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	cfg.MaxConns = maxConnsPerTest
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatalf("pgtest: open pool: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// URL returns the URL of a schema that belongs to t: created and migrated at the first call,
// dropped when t ends, the same for every call within t. Connections opened from it use the
// schema through search_path, so code under test that opens its own pool sees t's data. Such
// pools must be closed by the end of t. Call it from t's goroutine, as t.Fatal requires.
func URL(t testing.TB) string {
	t.Helper()
	schemas.mu.Lock()
	u, ok := schemas.byTest[t]
	schemas.mu.Unlock()
	if ok {
		return u
	}

	srv := testServer()
	if srv.err != nil {
		if os.Getenv("TEST_ALLOW_SKIP") == "1" {
			t.Skipf("pgtest: %v", srv.err)
		}
		t.Fatalf("pgtest: %v (set TEST_ALLOW_SKIP=1 to skip tests that need PostgreSQL)", srv.err)
	}

	name := "t_" + randomHex(8)
	u = srv.schemaURL(name)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := srv.admin.Exec(ctx, "CREATE SCHEMA "+name); err != nil {
		t.Fatalf("pgtest: create schema: %v", err)
	}
	t.Cleanup(func() {
		schemas.mu.Lock()
		delete(schemas.byTest, t)
		schemas.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := srv.admin.Exec(ctx, "DROP SCHEMA "+name+" CASCADE"); err != nil {
			t.Errorf("pgtest: drop schema %s: %v", name, err)
		}
	})
	if err := db.Migrate(ctx, u); err != nil {
		t.Fatalf("pgtest: migrate schema %s: %v", name, err)
	}

	schemas.mu.Lock()
	schemas.byTest[t] = u
	schemas.mu.Unlock()
	return u
}

var schemas = struct {
	mu     sync.Mutex
	byTest map[testing.TB]string
}{byTest: map[testing.TB]string{}}

// server is the test server as found once per test binary.
type server struct {
	base  *url.URL      // TEST_DATABASE_URL pointed at Database
	admin *pgxpool.Pool // creates and drops schemas; lives as long as the test binary
	err   error         // why the server cannot be used
}

func (s *server) schemaURL(schema string) string {
	u := *s.base
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

var testServer = sync.OnceValue(func() *server {
	raw := os.Getenv("TEST_DATABASE_URL")
	if raw == "" {
		raw = defaultServerURL
	}
	base, err := url.Parse(raw)
	if err != nil || (base.Scheme != "postgres" && base.Scheme != "postgresql") {
		return &server{err: fmt.Errorf("TEST_DATABASE_URL must be a postgres:// URL")}
	}
	base.Path = "/" + Database
	q := base.Query()
	q.Del("search_path")
	base.RawQuery = q.Encode()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := db.EnsureDatabase(ctx, base.String()); err != nil {
		return &server{err: fmt.Errorf("PostgreSQL at %s is unreachable or refuses to create database %s: %w",
			base.Redacted(), Database, err)}
	}
	cfg, err := pgxpool.ParseConfig(base.String())
	if err != nil {
		return &server{err: err}
	}
	cfg.MaxConns = 2
	admin, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return &server{err: err}
	}
	return &server{base: base, admin: admin}
})

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails; see crypto/rand.Read
	return hex.EncodeToString(b)
}
