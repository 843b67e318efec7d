package attempt

import (
	"context"
	"time"

	"github.com/oeshq/oes/pkg/infra/store"
	"github.com/oeshq/oes/pkg/oes"
)

// attemptStore runs work on attempts in one transaction: all that saving answers and grading
// need of the store, so that their rules are tested without a database.
type attemptStore interface {
	AttemptTx(ctx context.Context, fn func(store.AttemptTx) error) error
}

var _ attemptStore = (*store.Store)(nil)

// checkOpen refuses changes to an attempt that is submitted or out of time at now.
func checkOpen(a oes.Attempt, now time.Time) error {
	switch {
	case a.Submitted():
		return oes.Errorf(oes.ECONFLICT, "attempt %d has been submitted; its answers can no longer change", a.ID)
	case a.Expired(now):
		return oes.Errorf(oes.ECONFLICT, "the time for attempt %d ran out at %s; its answers can no longer change",
			a.ID, a.Deadline.UTC().Format(time.RFC3339))
	}
	return nil
}

// saveAnswers replaces the chosen options of every question in answers (an empty list clears
// the question's answer) and returns all the answers of the attempt, sorted. The caller has
// checked that the questions belong to the attempt's exam; an option that is not one of its
// question's is EINVALID. The attempt's row is locked meanwhile, so a concurrent grade counts
// all of these answers or none. ENOTFOUND when the attempt does not exist; ECONFLICT when it
// has been submitted or its deadline is at or before now.
func saveAnswers(ctx context.Context, db attemptStore, id int64, answers store.Answers, now time.Time) (store.Answers, error) {
	var saved store.Answers
	err := db.AttemptTx(ctx, func(tx store.AttemptTx) error {
		a, err := tx.LockAttempt(ctx, id)
		if err != nil {
			return err
		}
		if err := checkOpen(a, now); err != nil {
			return err
		}
		if err := tx.ReplaceAnswers(ctx, id, answers); err != nil {
			return err
		}
		saved, err = tx.Answers(ctx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return saved, nil
}

// submit grades an open attempt with Grade and records its score, with its submission time
// now or, when the deadline came first, the deadline, together with the email that result
// makes of the graded attempt. graded is false when the attempt had been graded already, by an
// earlier call or a concurrent one: its stored result is returned untouched and no email is
// made. The attempt's row is locked while grading, so answers saved concurrently are either
// all counted or refused. When result fails, or makes an email that is not fit to send, the
// attempt stays ungraded and the error (result's own, or EINVALID) is returned. ENOTFOUND when
// the attempt does not exist.
func submit(ctx context.Context, db attemptStore, id int64, now time.Time,
	result func(oes.Attempt) (store.NewEmail, error)) (a oes.Attempt, graded bool, err error) {
	err = db.AttemptTx(ctx, func(tx store.AttemptTx) error {
		locked, err := tx.LockAttempt(ctx, id)
		if err != nil {
			return err
		}
		if !locked.Submitted() {
			questions, err := tx.ExamQuestions(ctx, locked.ExamID)
			if err != nil {
				return err
			}
			chosen, err := tx.Answers(ctx, id)
			if err != nil {
				return err
			}
			score, maxScore := Grade(questions, chosen)
			at := now
			if at.After(locked.Deadline) {
				at = locked.Deadline
			}
			if graded, err = tx.FinishAttempt(ctx, id, at, score, maxScore); err != nil {
				return err
			}
		}
		if a, err = tx.GetAttempt(ctx, id); err != nil || !graded {
			return err
		}
		email, err := result(a)
		if err != nil {
			return err
		}
		email.UserID = a.UserID
		_, err = tx.InsertEmail(ctx, email)
		return err
	})
	if err != nil {
		return oes.Attempt{}, false, err
	}
	return a, graded, nil
}
