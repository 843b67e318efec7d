package store_test

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/oes"
	"github.com/oeshq/oes/pkg/store"
)

// scoreAll is a GradeFunc awarding every question its points.
func scoreAll(questions []oes.Question, _ store.Answers) (score, maxScore int32) {
	for _, q := range questions {
		score += q.Points
		maxScore += q.Points
	}
	return score, maxScore
}

// resultEmail is a SubmitAttempt result builder: the graded attempt's email to its student.
func resultEmail(a oes.Attempt) (store.NewEmail, error) {
	e := newEmail(oes.EmailResult, a.UserEmail)
	e.Message.Subject = "Your result in " + a.ExamTitle
	return e, nil
}

func TestStartAttempt(t *testing.T) {
	t.Parallel()
	b := setup(t)
	u := b.createUser(t, "ann@example.org", oes.RoleStudent)
	e := b.createExam(t, "Algebra", true)
	draft := b.createExam(t, "Draft", false)

	a, created, err := b.store.StartAttempt(b.ctx, e.ID, u.ID)
	require.NoError(t, err)
	require.True(t, created)
	require.Equal(t, a.StartedAt.Add(30*time.Minute), a.Deadline)
	require.Equal(t, "Algebra", a.ExamTitle)
	require.Equal(t, "ann@example.org", a.UserEmail)

	again, created, err := b.store.StartAttempt(b.ctx, e.ID, u.ID)
	require.NoError(t, err)
	require.False(t, created)
	require.Equal(t, a.ID, again.ID)

	_, _, err = b.store.StartAttempt(b.ctx, draft.ID, u.ID)
	requireCode(t, err, oes.ENOTFOUND)
	_, _, err = b.store.StartAttempt(b.ctx, 987654, u.ID)
	requireCode(t, err, oes.ENOTFOUND)
	_, _, err = b.store.StartAttempt(b.ctx, e.ID, 987654)
	requireCode(t, err, oes.ENOTFOUND)
}

func TestSaveAnswersAndSubmit(t *testing.T) {
	t.Parallel()
	b := setup(t)
	u := b.createUser(t, "ann@example.org", oes.RoleStudent)
	e := b.createExam(t, "Algebra", true)
	q := b.createQuestion(t, e.ID, "q")
	other := b.createQuestion(t, e.ID, "other")
	a, _, err := b.store.StartAttempt(b.ctx, e.ID, u.ID)
	require.NoError(t, err)
	now := time.Now()

	saved, err := b.store.SaveAnswers(b.ctx, a.ID, store.Answers{q.ID: {q.Options[1].ID, q.Options[0].ID, q.Options[0].ID}}, now)
	require.NoError(t, err)
	require.Equal(t, store.Answers{q.ID: {q.Options[0].ID, q.Options[1].ID}}, saved, "sorted, duplicates dropped")

	_, err = b.store.SaveAnswers(b.ctx, a.ID, store.Answers{q.ID: {other.Options[0].ID}}, now)
	e1 := requireCode(t, err, oes.EINVALID)
	require.Equal(t, "answers", e1.Fields[0].Field)

	_, err = b.store.SaveAnswers(b.ctx, a.ID, store.Answers{q.ID: {q.Options[0].ID}}, a.Deadline)
	requireCode(t, err, oes.ECONFLICT)

	const n = 10
	var graded int
	var built atomic.Int32
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			got, g, err := b.store.SubmitAttempt(b.ctx, a.ID, now, scoreAll, func(a oes.Attempt) (store.NewEmail, error) {
				built.Add(1)
				return resultEmail(a)
			})
			require.NoError(t, err)
			require.EqualValues(t, 2, *got.Score)
			mu.Lock()
			defer mu.Unlock()
			if g {
				graded++
			}
		})
	}
	wg.Wait()
	require.Equal(t, 1, graded, "one submit grades, the rest find it graded")
	require.EqualValues(t, 1, built.Load(), "the result email is made by the submit that grades")
	emails := b.outboxRows(t)
	require.Len(t, emails, 1)
	require.Equal(t, string(oes.EmailResult), emails[0].Kind)
	require.Equal(t, &u.ID, emails[0].UserID)
	require.Equal(t, "ann@example.org", emails[0].Recipient)

	_, g, err := b.store.SubmitAttempt(b.ctx, a.ID, now, scoreAll, resultEmail)
	require.NoError(t, err)
	require.False(t, g)
	require.Len(t, b.outboxRows(t), 1, "a later submit writes no second email")

	_, err = b.store.SaveAnswers(b.ctx, a.ID, store.Answers{q.ID: {}}, now)
	requireCode(t, err, oes.ECONFLICT)
	_, err = b.store.DeleteQuestion(b.ctx, q.ID)
	requireCode(t, err, oes.ECONFLICT)

	results, err := b.store.ListExamResults(b.ctx, e.ID, 1, 10)
	require.NoError(t, err)
	require.Len(t, results, 1)
	require.Equal(t, "ann@example.org", results[0].Email)
	results, err = b.store.ListExamResults(b.ctx, e.ID, 1<<40, 100)
	require.NoError(t, err)
	require.Empty(t, results)
}

func TestSubmitPastDeadlineIsDatedAtDeadline(t *testing.T) {
	t.Parallel()
	b := setup(t)
	u := b.createUser(t, "ann@example.org", oes.RoleStudent)
	e := b.createExam(t, "Algebra", true)
	a, _, err := b.store.StartAttempt(b.ctx, e.ID, u.ID)
	require.NoError(t, err)

	ids, err := b.store.ListExpiredExamAttempts(b.ctx, e.ID, a.Deadline)
	require.NoError(t, err)
	require.Equal(t, []int64{a.ID}, ids)

	got, graded, err := b.store.SubmitAttempt(b.ctx, a.ID, a.Deadline.Add(time.Hour), scoreAll, resultEmail)
	require.NoError(t, err)
	require.True(t, graded)
	require.True(t, got.SubmittedAt.Equal(a.Deadline))
	require.Equal(t, oes.AttemptExpired, got.State(time.Now()))
}

func TestSubmitAttemptIsGradedWithItsEmailOrNotAtAll(t *testing.T) {
	t.Parallel()
	b := setup(t)
	u := b.createUser(t, "ann@example.org", oes.RoleStudent)
	e := b.createExam(t, "Algebra", true)
	b.createQuestion(t, e.ID, "q")
	a, _, err := b.store.StartAttempt(b.ctx, e.ID, u.ID)
	require.NoError(t, err)
	now := time.Now()

	requireUngraded := func() {
		t.Helper()
		got, err := b.store.GetAttempt(b.ctx, a.ID)
		require.NoError(t, err)
		require.Nil(t, got.SubmittedAt)
		require.Nil(t, got.Score)
		require.Empty(t, b.outboxRows(t))
	}

	errBuild := errors.New("template broke")
	_, graded, err := b.store.SubmitAttempt(b.ctx, a.ID, now, scoreAll, func(oes.Attempt) (store.NewEmail, error) {
		return store.NewEmail{}, errBuild
	})
	require.ErrorIs(t, err, errBuild)
	require.False(t, graded)
	requireUngraded()

	_, _, err = b.store.SubmitAttempt(b.ctx, a.ID, now, scoreAll, func(a oes.Attempt) (store.NewEmail, error) {
		e, err := resultEmail(a)
		e.MaxAttempts = store.MaxEmailAttempts + 1
		return e, err
	})
	requireCode(t, err, oes.EINVALID)
	requireUngraded()

	var seen oes.Attempt
	got, graded, err := b.store.SubmitAttempt(b.ctx, a.ID, now, scoreAll, func(a oes.Attempt) (store.NewEmail, error) {
		seen = a
		return resultEmail(a)
	})
	require.NoError(t, err)
	require.True(t, graded)
	require.NotNil(t, seen.Score, "the builder sees the graded attempt")
	require.EqualValues(t, 1, *seen.Score)
	require.Equal(t, got.SubmittedAt, seen.SubmittedAt)
	require.Equal(t, "Algebra", seen.ExamTitle)
	require.Len(t, b.outboxRows(t), 1)
}
