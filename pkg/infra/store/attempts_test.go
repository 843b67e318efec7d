package store_test

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/infra/store"
	"github.com/oeshq/oes/pkg/oes"
)

// resultEmail is the email a graded attempt makes: to its student, about them.
func resultEmail(a oes.Attempt) store.NewEmail {
	e := newEmail(oes.EmailResult, a.UserEmail)
	e.Message.Subject = "Your result in " + a.ExamTitle
	e.UserID = a.UserID
	return e
}

// replaceAnswers replaces answers of attempt id in a transaction of its own and returns all its
// answers as the transaction reads them.
func (b *testBundle) replaceAnswers(id int64, answers store.Answers) (store.Answers, error) {
	var saved store.Answers
	err := b.store.AttemptTx(b.ctx, func(tx store.AttemptTx) error {
		if err := tx.ReplaceAnswers(b.ctx, id, answers); err != nil {
			return err
		}
		var err error
		saved, err = tx.Answers(b.ctx, id)
		return err
	})
	return saved, err
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

func TestReplaceAnswersAndFinish(t *testing.T) {
	t.Parallel()
	b := setup(t)
	u := b.createUser(t, "ann@example.org", oes.RoleStudent)
	e := b.createExam(t, "Algebra", true)
	q := b.createQuestion(t, e.ID, "q")
	other := b.createQuestion(t, e.ID, "other")
	a, _, err := b.store.StartAttempt(b.ctx, e.ID, u.ID)
	require.NoError(t, err)
	now := time.Now()

	saved, err := b.replaceAnswers(a.ID, store.Answers{q.ID: {q.Options[1].ID, q.Options[0].ID, q.Options[0].ID}})
	require.NoError(t, err)
	require.Equal(t, store.Answers{q.ID: {q.Options[0].ID, q.Options[1].ID}}, saved, "sorted, duplicates dropped")

	_, err = b.replaceAnswers(a.ID, store.Answers{q.ID: {other.Options[0].ID}})
	e1 := requireCode(t, err, oes.EINVALID)
	require.Equal(t, "answers", e1.Fields[0].Field)
	kept, err := b.store.AttemptAnswers(b.ctx, a.ID)
	require.NoError(t, err)
	require.Equal(t, saved, kept, "a refused replace is rolled back whole")

	saved, err = b.replaceAnswers(a.ID, store.Answers{q.ID: {q.Options[0].ID}, other.ID: {}})
	require.NoError(t, err)
	require.Equal(t, store.Answers{q.ID: {q.Options[0].ID}}, saved, "an empty list clears a question")

	// Each transaction that locks the attempt sees what the one before it committed, so one
	// of them finishes it and makes its email, and the others find it finished.
	const n = 10
	var finished, emails atomic.Int32
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			err := b.store.AttemptTx(b.ctx, func(tx store.AttemptTx) error {
				locked, err := tx.LockAttempt(b.ctx, a.ID)
				if err != nil || locked.Submitted() {
					return err
				}
				require.True(t, a.Deadline.Equal(locked.Deadline))
				questions, err := tx.ExamQuestions(b.ctx, locked.ExamID)
				if err != nil {
					return err
				}
				require.Len(t, questions, 2)
				require.True(t, *questions[0].Options[0].IsCorrect, "the answer key is read")
				changed, err := tx.FinishAttempt(b.ctx, a.ID, now, 2, 2)
				if err != nil || !changed {
					return err
				}
				finished.Add(1)
				got, err := tx.GetAttempt(b.ctx, a.ID)
				if err != nil {
					return err
				}
				emails.Add(1)
				_, err = tx.InsertEmail(b.ctx, resultEmail(got))
				return err
			})
			require.NoError(t, err)
		})
	}
	wg.Wait()
	require.EqualValues(t, 1, finished.Load(), "one transaction finishes, the rest find it finished")
	require.EqualValues(t, 1, emails.Load(), "the result email is made by the transaction that finishes")
	got, err := b.store.GetAttempt(b.ctx, a.ID)
	require.NoError(t, err)
	require.EqualValues(t, 2, *got.Score)
	rows := b.outboxRows(t)
	require.Len(t, rows, 1)
	require.Equal(t, string(oes.EmailResult), rows[0].Kind)
	require.Equal(t, &u.ID, rows[0].UserID)
	require.Equal(t, "ann@example.org", rows[0].Recipient)

	err = b.store.AttemptTx(b.ctx, func(tx store.AttemptTx) error {
		changed, err := tx.FinishAttempt(b.ctx, a.ID, now.Add(time.Minute), 0, 2)
		require.False(t, changed)
		return err
	})
	require.NoError(t, err)
	again, err := b.store.GetAttempt(b.ctx, a.ID)
	require.NoError(t, err)
	require.Equal(t, got, again, "a later finish changes nothing")
	require.Len(t, b.outboxRows(t), 1)

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

func TestFinishAtDeadlineIsExpired(t *testing.T) {
	t.Parallel()
	b := setup(t)
	u := b.createUser(t, "ann@example.org", oes.RoleStudent)
	e := b.createExam(t, "Algebra", true)
	a, _, err := b.store.StartAttempt(b.ctx, e.ID, u.ID)
	require.NoError(t, err)

	ids, err := b.store.ListExpiredExamAttempts(b.ctx, e.ID, a.Deadline)
	require.NoError(t, err)
	require.Equal(t, []int64{a.ID}, ids)

	var got oes.Attempt
	err = b.store.AttemptTx(b.ctx, func(tx store.AttemptTx) error {
		changed, err := tx.FinishAttempt(b.ctx, a.ID, a.Deadline, 0, 0)
		require.True(t, changed)
		if err != nil {
			return err
		}
		got, err = tx.GetAttempt(b.ctx, a.ID)
		return err
	})
	require.NoError(t, err)
	require.True(t, got.SubmittedAt.Equal(a.Deadline))
	require.Equal(t, oes.AttemptExpired, got.State(time.Now()))
	ids, err = b.store.ListExpiredExamAttempts(b.ctx, e.ID, a.Deadline)
	require.NoError(t, err)
	require.Empty(t, ids)
}

func TestAttemptTxCommitsAllOrNothing(t *testing.T) {
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
	// finish finishes the attempt, then makes its email with build.
	finish := func(build func(oes.Attempt) (store.NewEmail, error)) error {
		return b.store.AttemptTx(b.ctx, func(tx store.AttemptTx) error {
			if _, err := tx.FinishAttempt(b.ctx, a.ID, now, 1, 1); err != nil {
				return err
			}
			got, err := tx.GetAttempt(b.ctx, a.ID)
			if err != nil {
				return err
			}
			email, err := build(got)
			if err != nil {
				return err
			}
			_, err = tx.InsertEmail(b.ctx, email)
			return err
		})
	}

	errBuild := errors.New("template broke")
	err = finish(func(oes.Attempt) (store.NewEmail, error) { return store.NewEmail{}, errBuild })
	require.ErrorIs(t, err, errBuild, "fn's error is returned as it is")
	requireUngraded()

	err = finish(func(a oes.Attempt) (store.NewEmail, error) {
		e := resultEmail(a)
		e.MaxAttempts = store.MaxEmailAttempts + 1
		return e, nil
	})
	requireCode(t, err, oes.EINVALID)
	requireUngraded()

	var seen oes.Attempt
	err = finish(func(a oes.Attempt) (store.NewEmail, error) {
		seen = a
		return resultEmail(a), nil
	})
	require.NoError(t, err)
	require.NotNil(t, seen.Score, "the transaction reads its own writes")
	require.EqualValues(t, 1, *seen.Score)
	require.Equal(t, "Algebra", seen.ExamTitle)
	got, err := b.store.GetAttempt(b.ctx, a.ID)
	require.NoError(t, err)
	require.Equal(t, got.SubmittedAt, seen.SubmittedAt)
	require.Len(t, b.outboxRows(t), 1)

	err = b.store.AttemptTx(b.ctx, func(tx store.AttemptTx) error {
		_, err := tx.LockAttempt(b.ctx, 987654)
		return err
	})
	requireCode(t, err, oes.ENOTFOUND)
}
