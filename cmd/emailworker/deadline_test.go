package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/infra/store"
	"github.com/oeshq/oes/pkg/oes"
	"github.com/oeshq/oes/pkg/testkit/nettest"
	"github.com/oeshq/oes/pkg/testkit/pgtest"
)

func ptr[T any](v T) *T { return &v }

// A student who starts an attempt and never comes back is graded when their time runs out, or
// when the exam closes, and their result email delivered, nobody reading or submitting the
// attempt: the worker does it. One attempt's start is moved back past its one-minute duration,
// the other's exam closed, as if the time had passed.
func TestAnAttemptLeftAlonePastItsDeadlineIsGradedAndEmailed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	pool := pgtest.New(t) // a pool on the test's schema, to move the attempt's start back
	st := store.New(pool)

	exam, err := st.CreateExam(ctx, nil, oes.ExamInput{Title: ptr("Left alone"), DurationMinutes: ptr(int32(1)), Published: ptr(true)})
	require.NoError(t, err)
	_, err = st.CreateQuestion(ctx, exam.ID, oes.QuestionInput{Text: ptr("2+2?"), Points: ptr(int32(1)),
		Options: []oes.OptionInput{{Text: "4", IsCorrect: true}, {Text: "5"}}})
	require.NoError(t, err)
	now := time.Now()
	student, err := st.CreateUser(ctx, store.NewUser{Email: "gone@example.com", Name: "Gone", PasswordHash: "x",
		Role: oes.RoleStudent, EmailVerifiedAt: &now})
	require.NoError(t, err)
	a, created, err := st.StartAttempt(ctx, exam.ID, student.ID)
	require.NoError(t, err)
	require.True(t, created)
	_, err = pool.Exec(ctx, "UPDATE attempts SET started_at = started_at - interval '61 seconds' WHERE id = $1", a.ID)
	require.NoError(t, err)
	// An attempt with an hour left at an exam that has just closed is over too.
	closing, err := st.CreateExam(ctx, nil, oes.ExamInput{Title: ptr("Closed"), DurationMinutes: ptr(int32(60)), Published: ptr(true)})
	require.NoError(t, err)
	other, err := st.CreateUser(ctx, store.NewUser{Email: "late@example.com", Name: "Late", PasswordHash: "x",
		Role: oes.RoleStudent, EmailVerifiedAt: &now})
	require.NoError(t, err)
	cut, _, err := st.StartAttempt(ctx, closing.ID, other.ID)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, "UPDATE exams SET closes_at = now() - interval '1 second' WHERE id = $1", closing.ID)
	require.NoError(t, err)

	start := time.Now()
	w := startWorker(t, append(b.env(nettest.FreeAddr(t)), "ATTEMPT_GRADE_INTERVAL=1s"))
	msgs := b.smtp.WaitForMessages(t, 2, 60*time.Second)
	t.Logf("graded and their result emails delivered %s after the worker started", time.Since(start).Round(time.Millisecond))
	byTo := map[string]string{}
	for _, m := range msgs {
		byTo[strings.Join(m.To, ",")] = m.Subject + m.Text
	}
	require.Contains(t, byTo["gone@example.com"], "Left alone")
	require.Contains(t, byTo["late@example.com"], "Closed")
	cutGraded, err := st.GetAttempt(ctx, cut.ID)
	require.NoError(t, err)
	require.True(t, cutGraded.Submitted())

	graded, err := st.GetAttempt(ctx, a.ID)
	require.NoError(t, err)
	require.True(t, graded.Submitted(), "the attempt was submitted as it stood")
	require.Equal(t, oes.AttemptExpired, graded.State(time.Now()))
	require.Equal(t, int32(0), *graded.Score)
	require.Eventually(t, func() bool { return strings.Contains(w.out.String(), "attempts past their deadline graded") },
		5*time.Second, 20*time.Millisecond, "the worker says what it did")
}
