package db

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io/fs"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

// The helpers below repeat a little of pkg/testkit/pgtest, which cannot be used here: pkg
// depends on this module.

type testBundle struct {
	serverURL *url.URL // the server, database unset
	conn      *pgx.Conn
}

func setup(t *testing.T) *testBundle {
	t.Helper()
	raw := os.Getenv("TEST_DATABASE_URL")
	if raw == "" {
		raw = "postgres://127.0.0.1:5432/postgres?sslmode=disable"
	}
	u, err := url.Parse(raw)
	require.NoError(t, err, "TEST_DATABASE_URL")

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, raw)
	if err != nil {
		if os.Getenv("TEST_ALLOW_SKIP") == "1" {
			t.Skipf("PostgreSQL at TEST_DATABASE_URL is unreachable: %v", err)
		}
		t.Fatalf("PostgreSQL at TEST_DATABASE_URL (%s) is unreachable: %v; set TEST_ALLOW_SKIP=1 to skip", u.Redacted(), err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return &testBundle{serverURL: u, conn: conn}
}

// databaseURL returns the URL of database name on the test server, optionally with a
// search_path.
func (b *testBundle) databaseURL(name, searchPath string) string {
	u := *b.serverURL
	u.Path = "/" + name
	q := u.Query()
	if searchPath != "" {
		q.Set("search_path", searchPath)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// schemaURL creates an empty schema in the shared test database, dropped at cleanup, and
// returns a URL whose connections use it.
func (b *testBundle) schemaURL(t *testing.T) (string, *pgx.Conn) {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, EnsureDatabase(ctx, b.databaseURL("oes_test", "")))
	schema := "t_" + randomSuffix(t)
	dbURL := b.databaseURL("oes_test", schema)

	conn, err := pgx.Connect(ctx, b.databaseURL("oes_test", ""))
	require.NoError(t, err)
	_, err = conn.Exec(ctx, "CREATE SCHEMA "+schema)
	require.NoError(t, err)
	t.Cleanup(func() {
		_, err := conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
		require.NoError(t, err)
		_ = conn.Close(ctx)
	})
	return dbURL, conn
}

func randomSuffix(t *testing.T) string {
	b := make([]byte, 6)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return hex.EncodeToString(b)
}

func tablesIn(t *testing.T, conn *pgx.Conn, schema string) []string {
	t.Helper()
	rows, err := conn.Query(context.Background(),
		"SELECT tablename FROM pg_tables WHERE schemaname = $1 ORDER BY tablename", schema)
	require.NoError(t, err)
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	return names
}

func TestMigrate(t *testing.T) {
	t.Parallel()

	allTables := []string{"attempt_answers", "attempts", "email_outbox", "email_suppressions", "exam_candidates", "exams", "goose_db_version",
		"options", "questions", "user_tokens", "users"}

	t.Run("CreatesTablesAndVersionTableInsideTheURLsSchema", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		dbURL, conn := b.schemaURL(t)
		schema := mustSearchPath(t, dbURL)

		require.NoError(t, Migrate(context.Background(), dbURL))
		require.Equal(t, allTables, tablesIn(t, conn, schema))
		require.Empty(t, tablesIn(t, conn, "public"), "nothing may leak into public")
	})

	t.Run("IsANoOpWhenRunAgainOrConcurrently", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		dbURL, conn := b.schemaURL(t)
		ctx := context.Background()

		errs := make(chan error, 3)
		for range 3 {
			go func() { errs <- Migrate(ctx, dbURL) }()
		}
		for range 3 {
			require.NoError(t, <-errs)
		}
		require.NoError(t, Migrate(ctx, dbURL))

		var applied int
		err := conn.QueryRow(ctx,
			"SELECT count(*) FROM "+mustSearchPath(t, dbURL)+".goose_db_version WHERE version_id > 0").Scan(&applied)
		require.NoError(t, err)
		files, err := fs.Glob(migrations, "migrations/*.sql")
		require.NoError(t, err)
		require.Equal(t, len(files), applied, "each migration is applied once")
	})

	t.Run("RollsBackCompletelyAndAppliesAgain", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		dbURL, conn := b.schemaURL(t)
		schema := mustSearchPath(t, dbURL)
		ctx := context.Background()

		require.NoError(t, Migrate(ctx, dbURL))

		p, err := newProvider(dbURL)
		require.NoError(t, err)
		_, err = p.DownTo(ctx, 0)
		require.NoError(t, err)
		require.NoError(t, p.Close())
		require.Equal(t, []string{"goose_db_version"}, tablesIn(t, conn, schema))

		require.NoError(t, Migrate(ctx, dbURL))
		require.Equal(t, allTables, tablesIn(t, conn, schema))
	})
}

func mustSearchPath(t *testing.T, dbURL string) string {
	t.Helper()
	cfg, err := pgx.ParseConfig(dbURL)
	require.NoError(t, err)
	return cfg.RuntimeParams["search_path"]
}

func TestEnsureDatabase(t *testing.T) {
	t.Parallel()

	t.Run("CreatesAMissingDatabaseEvenWhenCalledConcurrently", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		ctx := context.Background()
		name := "oes_ensure_" + randomSuffix(t)
		t.Cleanup(func() {
			_, err := b.conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name)
			require.NoError(t, err)
		})

		errs := make(chan error, 4)
		for range 4 {
			go func() { errs <- EnsureDatabase(ctx, b.databaseURL(name, "")) }()
		}
		for range 4 {
			require.NoError(t, <-errs)
		}

		var exists bool
		err := b.conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists)
		require.NoError(t, err)
		require.True(t, exists)
	})

	t.Run("LeavesAnExistingDatabaseAlone", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		require.NoError(t, EnsureDatabase(context.Background(), b.databaseURL("postgres", "")))
	})

	t.Run("RefusesAURLWithoutADatabaseName", func(t *testing.T) {
		t.Parallel()
		err := EnsureDatabase(context.Background(), "postgres://127.0.0.1:1/?sslmode=disable")
		require.ErrorContains(t, err, "names no database")
	})
}
