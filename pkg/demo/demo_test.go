package demo_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/oeshq/oes/pkg/demo"
	"github.com/oeshq/oes/pkg/infra/store"
	"github.com/oeshq/oes/pkg/testkit/pgtest"
)

type counts struct {
	exams, published, questions, options, correct, users int
}

func countRows(t *testing.T, pool *pgxpool.Pool) counts {
	t.Helper()
	var c counts
	err := pool.QueryRow(context.Background(), `
		SELECT
			(SELECT count(*) FROM exams),
			(SELECT count(*) FROM exams WHERE published),
			(SELECT count(*) FROM questions),
			(SELECT count(*) FROM options),
			(SELECT count(*) FROM options WHERE is_correct),
			(SELECT count(*) FROM users)`).
		Scan(&c.exams, &c.published, &c.questions, &c.options, &c.correct, &c.users)
	require.NoError(t, err)
	return c
}

// TestSeed seeds one schema and checks the result in subtests: seeding costs seconds under
// the race detector, most of it bcrypt.
func TestSeed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.New(t)

	start := time.Now()
	first, err := demo.Seed(ctx, pool)
	require.NoError(t, err)
	t.Logf("seeding took %s", time.Since(start))
	require.Equal(t, demo.Exams, first.ExamsCreated)
	require.Zero(t, first.ExamsSkipped)

	want := counts{exams: 100, published: 100, questions: 5000, options: 20000, correct: 5000, users: 2}
	require.Equal(t, want, countRows(t, pool))

	t.Run("AgainChangesNothing", func(t *testing.T) {
		second, err := demo.Seed(ctx, pool)
		require.NoError(t, err)
		require.Zero(t, second.ExamsCreated)
		require.Equal(t, demo.Exams, second.ExamsSkipped)
		require.Equal(t, first.Admin.ID, second.Admin.ID)
		require.Equal(t, first.Student.ID, second.Student.ID)
		require.Equal(t, want, countRows(t, pool))
	})

	t.Run("AccountsSignInWithTheDocumentedPasswords", func(t *testing.T) {
		st := store.New(pool)
		for _, acc := range []struct{ email, password, role string }{
			{demo.AdminEmail, demo.AdminPassword, "admin"},
			{demo.StudentEmail, demo.StudentPassword, "student"},
		} {
			a, err := st.GetAccountByEmail(ctx, acc.email)
			require.NoError(t, err)
			require.Equal(t, acc.role, a.Role)
			require.NotNil(t, a.EmailVerifiedAt)
			require.NoError(t, bcrypt.CompareHashAndPassword([]byte(a.PasswordHash), []byte(acc.password)))
		}
	})

	t.Run("ContentFollowsFromTheNumbers", func(t *testing.T) {
		st := store.New(pool)
		exams, err := st.ListPublishedExams(ctx)
		require.NoError(t, err)
		require.Len(t, exams, demo.Exams)
		require.Equal(t, "Exam 001", exams[0].Title)
		require.Equal(t, "Exam 100", exams[99].Title)
		require.Equal(t, &first.Admin.ID, exams[0].CreatedBy)

		qs, err := st.ListExamQuestions(ctx, exams[0].ID)
		require.NoError(t, err)
		require.Len(t, qs, demo.QuestionsPerExam)
		q := qs[0]
		require.Equal(t, "Exam 001, question 01: which statement about binary search trees holds in case 2?", q.Text)
		require.Len(t, q.Options, demo.OptionsPerQuestion)
		require.Equal(t, "Statement A for case 001-01", q.Options[0].Text)
		// (exam 1 * 7 + question index 0 * 3) mod 4 = 3: the fourth option is correct.
		for i, o := range q.Options {
			require.Equal(t, i == 3, *o.IsCorrect, "option %d", i+1)
		}
	})
}
