package store

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
)

// OutboxListener is the outbox relay's own connection to Postgres. It holds the relay lock of
// the schema, so that one relay runs at a time however many workers there are, and hears the
// notification the outbox sends when an email becomes pending. When the connection breaks, the
// lock goes with it and Lost is closed; another process may then take over.
type OutboxListener struct {
	conn   *pgx.Conn
	notes  chan struct{}
	lost   chan struct{}
	err    error
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// ListenOutbox connects to Postgres and tries to take the relay lock. It returns false, and no
// listener, when another process holds the lock. The caller closes the listener.
func (s *Store) ListenOutbox(ctx context.Context) (*OutboxListener, bool, error) {
	cfg := s.pool.Config().ConnConfig.Copy()
	// A wait that ends by its context must not cost a cancel request (a new connection to the
	// server each time, as pgx's default does): a deadline on the socket ends it.
	cfg.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.DeadlineContextWatcherHandler{Conn: c.Conn()}
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, false, translate(err, "database")
	}
	var schema string
	var locked bool
	err = conn.QueryRow(ctx, "SELECT current_schema()").Scan(&schema)
	if err == nil {
		// Advisory locks are per database; the key is the schema's, so that the schemas of one
		// database (the tests') each have their relay.
		err = conn.QueryRow(ctx, "SELECT pg_try_advisory_lock(hashtextextended($1, 0))", schema+".email_outbox relay").Scan(&locked)
	}
	if err == nil && locked {
		_, err = conn.Exec(ctx, "LISTEN "+pgx.Identifier{schema + ".email_outbox"}.Sanitize())
	}
	if err != nil || !locked {
		_ = conn.Close(context.WithoutCancel(ctx))
		return nil, false, translate(err, "database")
	}

	waitCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	l := &OutboxListener{conn: conn, notes: make(chan struct{}, 1), lost: make(chan struct{}), cancel: cancel}
	l.wg.Add(1)
	go l.listen(waitCtx)
	return l, true, nil
}

func (l *OutboxListener) listen(ctx context.Context) {
	defer l.wg.Done()
	for {
		if err := l.conn.PgConn().WaitForNotification(ctx); err != nil {
			if ctx.Err() == nil {
				l.err = fmt.Errorf("store: outbox listener: %w", err)
			}
			close(l.lost)
			return
		}
		select {
		case l.notes <- struct{}{}:
		default: // one pending wake-up stands for any number of notifications
		}
	}
}

// Notified receives a value when emails became pending since the last receive.
func (l *OutboxListener) Notified() <-chan struct{} { return l.notes }

// Lost is closed when the connection broke, with it the lock; Err then says why.
func (l *OutboxListener) Lost() <-chan struct{} { return l.lost }

// Err is why the listener was lost, nil while it lives or after Close.
func (l *OutboxListener) Err() error {
	select {
	case <-l.lost:
		return l.err
	default:
		return nil
	}
}

// Close releases the lock and the connection.
//
//nolint:contextcheck // Close runs when the caller's context may have ended; closing the connection has its own deadline.
func (l *OutboxListener) Close() {
	l.cancel()
	l.wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = l.conn.Close(ctx)
}
