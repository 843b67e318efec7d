package store_test

import (
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/infra/store"
	"github.com/oeshq/oes/pkg/testkit/pgtest"
)

// quiet is how long a listener is watched to show that no notification came. A notification
// that does come arrives within milliseconds on a local server.
const quiet = 300 * time.Millisecond

// listen takes st's relay lock, failing the test when another listener holds it, and closes
// the listener when the test ends.
func (b *testBundle) listen(t *testing.T, st *store.Store) *store.OutboxListener {
	t.Helper()
	l, ok, err := st.ListenOutbox(b.ctx)
	require.NoError(t, err)
	require.True(t, ok, "no other listener holds the lock")
	t.Cleanup(l.Close)
	return l
}

// namedStore returns a store over the test's schema whose connections carry application_name
// name, so that the test can find them in pg_stat_activity.
func namedStore(t *testing.T, name string) *store.Store {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(pgtest.URL(t))
	require.NoError(t, err)
	cfg.ConnConfig.RuntimeParams["application_name"] = name
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	return store.New(pool)
}

func requireNote(t *testing.T, l *store.OutboxListener) {
	t.Helper()
	select {
	case <-l.Notified():
	case <-time.After(5 * time.Second):
		t.Fatal("no notification")
	}
}

func requireNoNote(t *testing.T, l *store.OutboxListener) {
	t.Helper()
	select {
	case <-l.Notified():
		t.Fatal("notified")
	case <-time.After(quiet):
	}
}

// insertPending writes a pending email through q, which may be a transaction.
const insertPending = `INSERT INTO email_outbox (kind, recipient, subject, text_body, priority, max_attempts)
	VALUES ('message', 'ann@example.org', 'Hello', 'Hi', 5, 3) RETURNING id`

func TestListenOutboxHoldsTheRelayLockOfItsSchema(t *testing.T) {
	t.Parallel()
	b := setup(t)
	first, ok, err := b.store.ListenOutbox(b.ctx)
	require.NoError(t, err)
	require.True(t, ok)

	second, ok, err := b.store.ListenOutbox(b.ctx)
	require.NoError(t, err)
	require.False(t, ok, "one relay at a time")
	require.Nil(t, second)

	t.Run("another schema has a lock of its own", func(t *testing.T) {
		other := setup(t)
		other.listen(t, other.store)
	})

	first.Close()
	require.NoError(t, first.Err(), "closed, not lost")
	b.listen(t, b.store)
}

func TestListenOutboxIsNotifiedOfCommittedPendingEmails(t *testing.T) {
	t.Parallel()
	b := setup(t)
	l := b.listen(t, b.store)
	requireNoNote(t, l)

	tx, err := b.pool.Begin(b.ctx)
	require.NoError(t, err)
	var id int64
	require.NoError(t, tx.QueryRow(b.ctx, insertPending).Scan(&id))
	requireNoNote(t, l) // not before the email is committed: the relay would not see it
	require.NoError(t, tx.Commit(b.ctx))
	requireNote(t, l)

	tx, err = b.pool.Begin(b.ctx)
	require.NoError(t, err)
	require.NoError(t, tx.QueryRow(b.ctx, insertPending).Scan(new(int64)))
	require.NoError(t, tx.Rollback(b.ctx))
	requireNoNote(t, l)

	b.relay(t, id)
	requireNoNote(t, l) // only becoming pending wakes the relay

	b.insertEmail(t, "bob@example.org")
	requireNote(t, l)
	require.NoError(t, l.Err())
}

func TestListenOutboxIsLostWithItsConnection(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var schema string
	require.NoError(t, b.pool.QueryRow(b.ctx, "SELECT current_schema()").Scan(&schema))
	name := "outbox listener " + schema
	l := b.listen(t, namedStore(t, name))

	var pid int32
	require.NoError(t, b.pool.QueryRow(b.ctx,
		"SELECT pid FROM pg_stat_activity WHERE application_name = $1", name).Scan(&pid))
	select {
	case <-l.Lost():
		t.Fatal("lost before the connection broke")
	default:
	}
	require.NoError(t, l.Err())

	var terminated bool
	require.NoError(t, b.pool.QueryRow(b.ctx, "SELECT pg_terminate_backend($1, 5000)", pid).Scan(&terminated))
	require.True(t, terminated)
	select {
	case <-l.Lost():
	case <-time.After(5 * time.Second):
		t.Fatal("not lost after its backend was terminated")
	}
	require.Error(t, l.Err())

	// The lock went with the connection: another process takes over.
	b.listen(t, b.store)
}
