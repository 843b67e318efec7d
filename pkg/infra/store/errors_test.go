package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/infra/store"
	"github.com/oeshq/oes/pkg/oes"
	"github.com/oeshq/oes/pkg/testkit/pgtest"
)

const missing = int64(987654321)

func TestMissingRowsAreNotFound(t *testing.T) {
	t.Parallel()
	b := setup(t)

	for name, call := range map[string]func() error{
		"GetExam":    func() error { _, err := b.store.GetExam(b.ctx, missing); return err },
		"UpdateExam": func() error { _, err := b.store.UpdateExam(b.ctx, missing, oes.ExamInput{Title: ptr("x")}); return err },
		"DeleteExam": func() error { return b.store.DeleteExam(b.ctx, missing) },
		"ListExamQuestions": func() error {
			_, err := b.store.ListExamQuestions(b.ctx, missing)
			return err
		},
		"CreateQuestion": func() error {
			_, err := b.store.CreateQuestion(b.ctx, missing, oes.QuestionInput{Text: ptr("q")})
			return err
		},
	} {
		t.Run(name, func(t *testing.T) {
			e := requireCode(t, call(), oes.ENOTFOUND)
			require.Equal(t, "exam 987654321 not found", e.Message)
		})
	}

	for name, call := range map[string]func() error{
		"GetQuestion": func() error { _, err := b.store.GetQuestion(b.ctx, missing); return err },
		"UpdateQuestion": func() error {
			_, err := b.store.UpdateQuestion(b.ctx, missing, oes.QuestionInput{Options: []oes.OptionInput{{Text: "o"}}})
			return err
		},
		"DeleteQuestion": func() error { _, err := b.store.DeleteQuestion(b.ctx, missing); return err },
	} {
		t.Run(name, func(t *testing.T) {
			e := requireCode(t, call(), oes.ENOTFOUND)
			require.Equal(t, "question 987654321 not found", e.Message)
		})
	}

	t.Run("GetUser", func(t *testing.T) {
		_, err := b.store.GetUser(b.ctx, missing)
		e := requireCode(t, err, oes.ENOTFOUND)
		require.Equal(t, "user 987654321 not found", e.Message)
	})
}

func TestEmailTakenInAnotherCaseIsAConflict(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.createUser(t, "ann@example.org", oes.RoleStudent)

	_, err := b.store.CreateUser(b.ctx, store.NewUser{Email: "ANN@example.org", Name: "A", PasswordHash: "h", Role: oes.RoleStudent})
	e := requireCode(t, err, oes.ECONFLICT)
	require.Equal(t, "an account with this email already exists", e.Message)
	var pgErr *pgconn.PgError
	require.ErrorAs(t, err, &pgErr, "the driver error stays reachable for logs")
	require.Equal(t, "23505", pgErr.Code)
}

func TestTakenQuestionPositionIsAConflict(t *testing.T) {
	t.Parallel()
	b := setup(t)
	exam := b.createExam(t, "E", true)
	first := b.createQuestion(t, exam.ID, "one")
	second := b.createQuestion(t, exam.ID, "two")

	_, err := b.store.CreateQuestion(b.ctx, exam.ID, oes.QuestionInput{Text: ptr("x"), Position: ptr(first.Position)})
	requireCode(t, err, oes.ECONFLICT)
	_, err = b.store.UpdateQuestion(b.ctx, second.ID, oes.QuestionInput{Position: ptr(first.Position)})
	requireCode(t, err, oes.ECONFLICT)
}

func TestRemovingWhatAttemptsReferToIsAConflict(t *testing.T) {
	t.Parallel()
	b := setup(t)
	student := b.createUser(t, "s@example.org", oes.RoleStudent)
	exam := b.createExam(t, "E", true)
	q := b.createQuestion(t, exam.ID, "q")
	b.answer(t, student.ID, q, q.Options[1].ID)

	err := b.store.DeleteExam(b.ctx, exam.ID)
	e := requireCode(t, err, oes.ECONFLICT)
	require.Contains(t, e.Message, "has attempts")

	_, err = b.store.DeleteQuestion(b.ctx, q.ID)
	e = requireCode(t, err, oes.ECONFLICT)
	require.Contains(t, e.Message, "has been answered")

	_, err = b.store.UpdateQuestion(b.ctx, q.ID, oes.QuestionInput{Text: ptr("new"), Options: []oes.OptionInput{{Text: "x"}}})
	e = requireCode(t, err, oes.ECONFLICT)
	require.Contains(t, e.Message, "options can no longer be replaced")

	// Nothing of the failed writes remains.
	got, err := b.store.GetQuestion(b.ctx, q.ID)
	require.NoError(t, err)
	require.Equal(t, q, got)

	// Changing the question without touching its options is still allowed.
	_, err = b.store.UpdateQuestion(b.ctx, q.ID, oes.QuestionInput{Text: ptr("clearer")})
	require.NoError(t, err)
}

func TestValuesTheSchemaRefusesAreInvalid(t *testing.T) {
	t.Parallel()
	b := setup(t)
	exam := b.createExam(t, "E", true)

	for _, tc := range []struct {
		name  string
		call  func() error
		field string
	}{
		{"zero duration", func() error {
			_, err := b.store.CreateExam(b.ctx, nil, oes.ExamInput{Title: ptr("T"), DurationMinutes: ptr(int32(0))})
			return err
		}, "duration_minutes"},
		{"negative duration on update", func() error {
			_, err := b.store.UpdateExam(b.ctx, exam.ID, oes.ExamInput{DurationMinutes: ptr(int32(-5))})
			return err
		}, "duration_minutes"},
		{"negative points", func() error {
			_, err := b.store.CreateQuestion(b.ctx, exam.ID, oes.QuestionInput{Text: ptr("q"), Points: ptr(int32(-1))})
			return err
		}, "points"},
		{"unknown role", func() error {
			_, err := b.store.CreateUser(b.ctx, store.NewUser{Email: "x@example.org", Name: "X", PasswordHash: "h", Role: "teacher"})
			return err
		}, "role"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := requireCode(t, tc.call(), oes.EINVALID)
			require.Len(t, e.Fields, 1)
			require.Equal(t, tc.field, e.Fields[0].Field)
		})
	}
}

func TestUnreachableDatabaseIsUnavailable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	// Nothing listens on port 1.
	const nowhere = "postgres://127.0.0.1:1/oes?sslmode=disable&connect_timeout=2"
	pool, err := store.Open(ctx, nowhere, 4) // connects lazily: start-up does not fail
	require.NoError(t, err)
	defer pool.Close()
	st := store.New(pool)
	requireCode(t, st.Ping(ctx), oes.EUNAVAILABLE)
	_, err = st.GetExam(ctx, 1)
	requireCode(t, err, oes.EUNAVAILABLE)
}

func TestQueriesThatRunOutOfTimeAreUnavailable(t *testing.T) {
	t.Parallel()
	b := setup(t)
	dbURL := pgtest.URL(t)
	exam := b.createExam(t, "E", true)

	// Another transaction holds the exam row, so an update waits until its time runs out.
	tx, err := b.pool.Begin(b.ctx)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback(b.ctx) }()
	_, err = tx.Exec(b.ctx, "SELECT 1 FROM exams WHERE id = $1 FOR UPDATE", exam.ID)
	require.NoError(t, err)

	t.Run("context deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(b.ctx, 200*time.Millisecond)
		defer cancel()
		_, err := b.store.UpdateExam(ctx, exam.ID, oes.ExamInput{Title: ptr("late")})
		requireCode(t, err, oes.EUNAVAILABLE)
		require.True(t, errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err), "cause kept: %v", err)
	})

	t.Run("statement timeout", func(t *testing.T) {
		cfg, err := pgxpool.ParseConfig(dbURL)
		require.NoError(t, err)
		cfg.ConnConfig.RuntimeParams["statement_timeout"] = "200"
		pool, err := pgxpool.NewWithConfig(b.ctx, cfg)
		require.NoError(t, err)
		defer pool.Close()
		_, err = store.New(pool).UpdateExam(b.ctx, exam.ID, oes.ExamInput{Title: ptr("late")})
		requireCode(t, err, oes.EUNAVAILABLE)
	})
}

func TestOpenHonoursMaxConnsAndNamesTheApplication(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, err := store.Open(ctx, pgtest.URL(t), 3)
	require.NoError(t, err)
	defer pool.Close()
	require.NoError(t, store.New(pool).Ping(ctx))
	require.EqualValues(t, 3, pool.Config().MaxConns)

	var app string
	require.NoError(t, pool.QueryRow(ctx, "SHOW application_name").Scan(&app))
	require.Equal(t, "oes", app)
}
