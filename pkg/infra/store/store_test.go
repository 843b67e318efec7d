package store_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/infra/mail"
	"github.com/oeshq/oes/pkg/infra/store"
	"github.com/oeshq/oes/pkg/oes"
	"github.com/oeshq/oes/pkg/testkit/pgtest"
)

type testBundle struct {
	ctx     context.Context
	pool    *pgxpool.Pool
	store   *store.Store
	queries *queryCounter // counts the queries sent through pool
}

func setup(t *testing.T) *testBundle {
	t.Helper()
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(pgtest.URL(t))
	require.NoError(t, err)
	counter := &queryCounter{}
	cfg.ConnConfig.Tracer = counter
	cfg.MaxConns = 4
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	return &testBundle{ctx: ctx, pool: pool, store: store.New(pool), queries: counter}
}

// queryCounter is a pgx tracer counting the queries a pool sends.
type queryCounter struct{ n atomic.Int64 }

func (c *queryCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.n.Add(1)
	return ctx
}

func (c *queryCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// count returns the number of queries fn sends.
func (c *queryCounter) count(fn func()) int64 {
	before := c.n.Load()
	fn()
	return c.n.Load() - before
}

func ptr[T any](v T) *T { return &v }

func (b *testBundle) createUser(t *testing.T, email, role string) oes.User {
	t.Helper()
	u, err := b.store.CreateUser(b.ctx, store.NewUser{Email: email, Name: "N", PasswordHash: "h", Role: role})
	require.NoError(t, err)
	return u
}

func (b *testBundle) createExam(t *testing.T, title string, published bool) oes.Exam {
	t.Helper()
	e, err := b.store.CreateExam(b.ctx, nil, oes.ExamInput{
		Title: ptr(title), DurationMinutes: ptr(int32(30)), Published: ptr(published),
	})
	require.NoError(t, err)
	return e
}

// createQuestion adds a question with options "a" (correct) and "b" at the next position.
func (b *testBundle) createQuestion(t *testing.T, examID int64, text string) oes.Question {
	t.Helper()
	q, err := b.store.CreateQuestion(b.ctx, examID, oes.QuestionInput{
		Text:    ptr(text),
		Options: []oes.OptionInput{{Text: "a", IsCorrect: true}, {Text: "b"}},
	})
	require.NoError(t, err)
	return q
}

// answer records a submitted attempt of user at the question's exam that chose option.
func (b *testBundle) answer(t *testing.T, userID int64, q oes.Question, optionID int64) {
	t.Helper()
	var attemptID int64
	err := b.pool.QueryRow(b.ctx, `
		INSERT INTO attempts (exam_id, user_id, submitted_at, score, max_score)
		VALUES ($1, $2, now(), 0, 1) RETURNING id`, q.ExamID, userID).Scan(&attemptID)
	require.NoError(t, err)
	_, err = b.pool.Exec(b.ctx,
		`INSERT INTO attempt_answers (attempt_id, question_id, option_id) VALUES ($1, $2, $3)`,
		attemptID, q.ID, optionID)
	require.NoError(t, err)
}

func (b *testBundle) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, b.pool.QueryRow(b.ctx, query, args...).Scan(&n))
	return n
}

// requireCode asserts that err is an *oes.Error with code and a message free of SQL and
// driver text.
func requireCode(t *testing.T, err error, code string) *oes.Error {
	t.Helper()
	require.Error(t, err)
	require.Equal(t, code, oes.ErrorCode(err), "error: %v", err)
	var e *oes.Error
	require.ErrorAs(t, err, &e)
	for _, leak := range []string{"SQLSTATE", "violates", "constraint", "pgx", "relation", "ERROR"} {
		require.NotContains(t, e.Message, leak)
	}
	return e
}

// message returns a valid message to to with both body parts.
func message(to string) mail.Message {
	return mail.Message{
		To: []string{to}, From: "oes@example.org", ReplyTo: "help@example.org",
		Subject: "Hello", HTML: "<p>Hi</p>", Text: "Hi",
	}
}

// newEmail returns a valid outbox email of kind to to.
func newEmail(kind oes.EmailKind, to string) store.NewEmail {
	return store.NewEmail{Kind: kind, Message: message(to), Priority: 5, MaxAttempts: 3}
}

// outboxRow is an outbox row as the table holds it, bodies included.
type outboxRow struct {
	ID                  int64
	Kind, State         string
	UserID              *int64
	Recipient           string
	HTML, Text          *string
	Attempts, Deferrals int
	LastError           string
	SMTPReply           string
	SendAfter           time.Time
	NextAttemptAt       *time.Time
	QueuedAt            *time.Time
	ClaimedAt           *time.Time
	FinishedAt          *time.Time
}

const outboxColumns = `id, kind, state, user_id, recipient, html_body, text_body, attempts, deferrals,
	last_error, smtp_reply, send_after, next_attempt_at, queued_at, claimed_at, finished_at`

func scanOutboxRow(row pgx.Row) (outboxRow, error) {
	var r outboxRow
	err := row.Scan(&r.ID, &r.Kind, &r.State, &r.UserID, &r.Recipient, &r.HTML, &r.Text, &r.Attempts, &r.Deferrals,
		&r.LastError, &r.SMTPReply, &r.SendAfter, &r.NextAttemptAt, &r.QueuedAt, &r.ClaimedAt, &r.FinishedAt)
	return r, err
}

// outbox returns the outbox row id.
func (b *testBundle) outbox(t *testing.T, id int64) outboxRow {
	t.Helper()
	r, err := scanOutboxRow(b.pool.QueryRow(b.ctx, "SELECT "+outboxColumns+" FROM email_outbox WHERE id = $1", id))
	require.NoError(t, err)
	return r
}

// outboxRows returns every outbox row, in id order.
func (b *testBundle) outboxRows(t *testing.T) []outboxRow {
	t.Helper()
	rows, err := b.pool.Query(b.ctx, "SELECT "+outboxColumns+" FROM email_outbox ORDER BY id")
	require.NoError(t, err)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (outboxRow, error) { return scanOutboxRow(r) })
	require.NoError(t, err)
	return out
}
