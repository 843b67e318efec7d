package pgtest_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/testkit/pgtest"
)

const insertUser = `INSERT INTO users (email, name, password_hash) VALUES ('a@example.org', 'A', 'x')`

func TestNewGivesEachTestItsOwnMigratedSchema(t *testing.T) {
	t.Parallel()
	// Both subtests write the same unique email; each only succeeds alone in its schema.
	for _, name := range []string{"first", "second"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			pool := pgtest.New(t)
			_, err := pool.Exec(context.Background(), insertUser)
			require.NoError(t, err)
		})
	}
}

func TestURLPointsAtTheSchemaOfNew(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.New(t)
	_, err := pool.Exec(ctx, insertUser)
	require.NoError(t, err)

	conn, err := pgx.Connect(ctx, pgtest.URL(t))
	require.NoError(t, err)
	defer conn.Close(ctx)
	var n int
	require.NoError(t, conn.QueryRow(ctx, "SELECT count(*) FROM users").Scan(&n))
	require.Equal(t, 1, n)
}

func TestSchemaIsDroppedWhenTheTestEnds(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var schema string
	t.Run("owner", func(t *testing.T) {
		require.NoError(t, pgtest.New(t).QueryRow(ctx, "SELECT current_schema()").Scan(&schema))
	})
	require.NotEmpty(t, schema)

	var exists bool
	err := pgtest.New(t).QueryRow(ctx,
		"SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", schema).Scan(&exists)
	require.NoError(t, err)
	require.False(t, exists)
}
