package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/oeshq/oes/db/dbsqlc"
	"github.com/oeshq/oes/pkg/oes"
)

// Answers maps a question id to the ids of the options chosen for it.
type Answers map[int64][]int64

// GradeFunc scores an attempt from the exam's questions, answer key included, and the answers
// chosen.
type GradeFunc func(questions []oes.Question, chosen Answers) (score, maxScore int32)

// startRetries bounds StartAttempt's loop when the open attempt it found is submitted before
// it can be read: each lap means another request finished an attempt meanwhile.
const startRetries = 3

// StartAttempt opens an attempt of userID at a published exam, or returns the one already
// open; created tells which. The open attempt returned may be past its deadline: the caller
// decides what that means. ENOTFOUND when the exam does not exist or is not published.
func (s *Store) StartAttempt(ctx context.Context, examID, userID int64) (a oes.Attempt, created bool, err error) {
	for range startRetries {
		id, err := s.q.StartAttempt(ctx, s.pool, dbsqlc.StartAttemptParams{ExamID: examID, UserID: userID})
		if err == nil {
			a, err := s.GetAttempt(ctx, id)
			return a, true, err
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return oes.Attempt{}, false, translate(err, "attempt")
		}
		st, err := s.q.ExamStartState(ctx, s.pool, dbsqlc.ExamStartStateParams{ExamID: examID, UserID: userID})
		if err != nil {
			return oes.Attempt{}, false, translate(err, examSubject(examID))
		}
		if !st.Published {
			return oes.Attempt{}, false, notFound(examSubject(examID))
		}
		id, err = s.q.GetOpenAttemptID(ctx, s.pool, dbsqlc.GetOpenAttemptIDParams{ExamID: examID, UserID: userID})
		if errors.Is(err, pgx.ErrNoRows) {
			if refusal := startRefusal(examID, st); refusal != nil {
				return oes.Attempt{}, false, refusal
			}
			continue // submitted between the insert and this read: try to open a new one
		}
		if err != nil {
			return oes.Attempt{}, false, translate(err, "attempt")
		}
		a, err := s.GetAttempt(ctx, id)
		return a, false, err
	}
	return oes.Attempt{}, false, oes.Errorf(oes.ECONFLICT, "the attempt at exam %d changed while it was being opened, try again", examID)
}

// startRefusal says why no attempt at exam examID may start now, by its state st; nil when
// one may.
func startRefusal(examID int64, st dbsqlc.ExamStartStateRow) error {
	const stamp = time.RFC3339
	switch {
	case st.Restricted && !st.Candidate:
		return &oes.Error{Code: oes.ENOTACANDIDATE, Message: fmt.Sprintf("exam %d is taken by its candidates only", examID)}
	case st.OpensAt != nil && st.Now.Before(*st.OpensAt):
		return &oes.Error{Code: oes.EEXAMNOTOPEN, Message: fmt.Sprintf("exam %d opens at %s", examID, st.OpensAt.UTC().Format(stamp))}
	case st.ClosesAt != nil && !st.Now.Before(*st.ClosesAt):
		return &oes.Error{Code: oes.EEXAMCLOSED, Message: fmt.Sprintf("exam %d closed at %s", examID, st.ClosesAt.UTC().Format(stamp))}
	case st.Attempts >= st.MaxAttempts:
		return &oes.Error{Code: oes.EATTEMPTSEXHAUSTED,
			Message: fmt.Sprintf("exam %d allows %d attempts and all of them have been used", examID, st.MaxAttempts)}
	}
	return nil
}

// GetAttempt returns an attempt with its exam's title and its student's email and name.
// ENOTFOUND when it does not exist.
func (s *Store) GetAttempt(ctx context.Context, id int64) (oes.Attempt, error) {
	return s.getAttempt(ctx, s.pool, id)
}

func (s *Store) getAttempt(ctx context.Context, db dbsqlc.DBTX, id int64) (oes.Attempt, error) {
	r, err := s.q.GetAttempt(ctx, db, id)
	if err != nil {
		return oes.Attempt{}, translate(err, attemptSubject(id))
	}
	a := attemptFromColumns(r.ID, r.ExamID, r.UserID, r.StartedAt, r.Deadline, r.SubmittedAt, r.Score, r.MaxScore)
	a.ExamTitle, a.UserEmail, a.UserName = r.ExamTitle, r.UserEmail, r.UserName
	return a, nil
}

// ListUserAttempts returns a user's attempts, newest first, with their exams' titles; an empty
// slice when there are none.
func (s *Store) ListUserAttempts(ctx context.Context, userID int64) ([]oes.Attempt, error) {
	rows, err := s.q.ListUserAttempts(ctx, s.pool, userID)
	if err != nil {
		return nil, translate(err, "attempts")
	}
	attempts := make([]oes.Attempt, len(rows))
	for i, r := range rows {
		attempts[i] = attemptFromColumns(r.ID, r.ExamID, r.UserID, r.StartedAt, r.Deadline, r.SubmittedAt, r.Score, r.MaxScore)
		attempts[i].ExamTitle = r.ExamTitle
	}
	return attempts, nil
}

// ListExpiredExamAttempts returns the ids of the open attempts at an exam whose deadline is at
// or before now.
func (s *Store) ListExpiredExamAttempts(ctx context.Context, examID int64, now time.Time) ([]int64, error) {
	ids, err := s.q.ListExpiredExamAttempts(ctx, s.pool, dbsqlc.ListExpiredExamAttemptsParams{ExamID: examID, Now: now})
	if err != nil {
		return nil, translate(err, "attempts")
	}
	return ids, nil
}

// ListExpiredAttempts returns the ids of up to max open attempts, at any exam, whose deadline
// is at or before now, the first started first.
func (s *Store) ListExpiredAttempts(ctx context.Context, now time.Time, max int) ([]int64, error) {
	ids, err := s.q.ListExpiredAttempts(ctx, s.pool, dbsqlc.ListExpiredAttemptsParams{Now: now, Max: int32(max)})
	if err != nil {
		return nil, translate(err, "attempts")
	}
	return ids, nil
}

// AttemptAnswers returns the options chosen in an attempt, by question, each list sorted.
func (s *Store) AttemptAnswers(ctx context.Context, attemptID int64) (Answers, error) {
	return s.attemptAnswers(ctx, s.pool, attemptID)
}

func (s *Store) attemptAnswers(ctx context.Context, db dbsqlc.DBTX, attemptID int64) (Answers, error) {
	rows, err := s.q.ListAttemptAnswers(ctx, db, attemptID)
	if err != nil {
		return nil, translate(err, attemptSubject(attemptID))
	}
	answers := Answers{}
	for _, r := range rows {
		answers[r.QuestionID] = append(answers[r.QuestionID], r.OptionID)
	}
	return answers, nil
}

// SaveAnswers replaces the chosen options of every question in answers (an empty list clears
// the question's answer) and returns all the answers of the attempt. The caller has checked
// that the questions belong to the attempt's exam; an option that is not one of its
// question's is EINVALID. ENOTFOUND when the attempt does not exist; ECONFLICT when it has
// been submitted or its deadline is at or before now.
func (s *Store) SaveAnswers(ctx context.Context, attemptID int64, answers Answers, now time.Time) (Answers, error) {
	answers = sortedAnswers(answers)
	var saved Answers
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		a, err := s.lockAttempt(ctx, tx, attemptID)
		if err != nil {
			return err
		}
		if err := checkOpen(a, now); err != nil {
			return err
		}
		del := dbsqlc.DeleteAttemptAnswersParams{AttemptID: attemptID}
		ins := dbsqlc.InsertAttemptAnswersParams{AttemptID: attemptID}
		for q, options := range answers {
			del.QuestionIds = append(del.QuestionIds, q)
			for _, o := range options {
				ins.QuestionIds = append(ins.QuestionIds, q)
				ins.OptionIds = append(ins.OptionIds, o)
			}
		}
		if err := s.q.DeleteAttemptAnswers(ctx, tx, del); err != nil {
			return translate(err, "answers")
		}
		if len(ins.OptionIds) > 0 {
			if err := s.q.InsertAttemptAnswers(ctx, tx, ins); err != nil {
				return translate(err, "answers")
			}
		}
		saved, err = s.attemptAnswers(ctx, tx, attemptID)
		return err
	})
	return saved, err
}

// SubmitAttempt grades an open attempt with grade and records its score, with submittedAt set
// to now or, when the deadline came first, the deadline, together with the email that result
// makes of the graded attempt. graded is false when the attempt had been graded already, by an
// earlier call or a concurrent one: its stored result is returned untouched and no email is
// made. The attempt row is locked while grading, so answers saved concurrently are either all
// counted or refused. When result fails, or makes an email that is not fit to send, the
// attempt stays ungraded and the error (result's own, or EINVALID) is returned. ENOTFOUND when
// the attempt does not exist.
func (s *Store) SubmitAttempt(ctx context.Context, attemptID int64, now time.Time, grade GradeFunc,
	result func(oes.Attempt) (NewEmail, error)) (a oes.Attempt, graded bool, err error) {
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		locked, err := s.lockAttempt(ctx, tx, attemptID)
		if err != nil {
			return err
		}
		if locked.Submitted() {
			return nil
		}
		questions, err := s.listExamQuestions(ctx, tx, locked.ExamID)
		if err != nil {
			return err
		}
		chosen, err := s.attemptAnswers(ctx, tx, attemptID)
		if err != nil {
			return err
		}
		score, maxScore := grade(questions, chosen)
		at := now
		if at.After(locked.Deadline) {
			at = locked.Deadline
		}
		n, err := s.q.FinishAttempt(ctx, tx, dbsqlc.FinishAttemptParams{
			ID: attemptID, SubmittedAt: &at, Score: &score, MaxScore: &maxScore,
		})
		if err != nil {
			return translate(err, attemptSubject(attemptID))
		}
		if graded = n == 1; !graded {
			return nil
		}
		if a, err = s.getAttempt(ctx, tx, attemptID); err != nil {
			return err
		}
		email, err := result(a)
		if err != nil {
			return err
		}
		email.UserID = a.UserID
		_, err = s.insertEmail(ctx, tx, email)
		return err
	})
	if err != nil {
		return oes.Attempt{}, false, err
	}
	if !graded {
		a, err = s.GetAttempt(ctx, attemptID)
	}
	return a, graded, err
}

// ListExamResults returns one page (from 1) of an exam's graded attempts in the order they
// were submitted. ENOTFOUND when the exam does not exist.
func (s *Store) ListExamResults(ctx context.Context, examID int64, page, size int) ([]oes.ExamResult, error) {
	if _, err := s.q.GetExam(ctx, s.pool, examID); err != nil {
		return nil, translate(err, examSubject(examID))
	}
	skip, ok := offset(page, size)
	if !ok {
		return []oes.ExamResult{}, nil
	}
	rows, err := s.q.ListExamResults(ctx, s.pool, dbsqlc.ListExamResultsParams{
		ExamID: examID, Skip: skip, Size: int32(size),
	})
	if err != nil {
		return nil, translate(err, "results")
	}
	results := make([]oes.ExamResult, len(rows))
	for i, r := range rows {
		results[i] = oes.ExamResult{
			AttemptID: r.ID, UserID: r.UserID, Email: r.Email, Name: r.Name, StartedAt: r.StartedAt,
			SubmittedAt: deref(r.SubmittedAt), Score: deref(r.Score), MaxScore: deref(r.MaxScore),
		}
	}
	return results, nil
}

func (s *Store) lockAttempt(ctx context.Context, tx pgx.Tx, id int64) (oes.Attempt, error) {
	r, err := s.q.LockAttempt(ctx, tx, id)
	if err != nil {
		return oes.Attempt{}, translate(err, attemptSubject(id))
	}
	return attemptFromColumns(r.ID, r.ExamID, r.UserID, r.StartedAt, r.Deadline, r.SubmittedAt, r.Score, r.MaxScore), nil
}

// checkOpen refuses changes to an attempt that is submitted or out of time.
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

func attemptSubject(id int64) string { return fmt.Sprintf("attempt %d", id) }

func attemptFromColumns(id, examID, userID int64, startedAt, deadline time.Time, submittedAt *time.Time, score, maxScore *int32) oes.Attempt {
	return oes.Attempt{
		ID: id, ExamID: examID, UserID: userID, StartedAt: startedAt, Deadline: deadline,
		SubmittedAt: submittedAt, Score: score, MaxScore: maxScore,
	}
}

// sortedAnswers returns a copy of a with each option list sorted and free of duplicates.
func sortedAnswers(a Answers) Answers {
	out := make(Answers, len(a))
	for q, options := range a {
		o := slices.Clone(options)
		slices.Sort(o)
		out[q] = slices.Compact(o)
	}
	return out
}

// OpenExam is a published exam that has not closed, as one student stands with it.
type OpenExam struct {
	ID              int64
	Title           string
	DurationMinutes int32
	OpensAt         *time.Time
	ClosesAt        *time.Time
	MaxAttempts     int32
	AttemptsUsed    int32
	OpenAttemptID   int64 // the attempt in progress, 0 when none
}

// ListOpenExams returns the published exams that have not closed at now, open already or
// later, with how student userID stands with each.
func (s *Store) ListOpenExams(ctx context.Context, userID int64, now time.Time) ([]OpenExam, error) {
	rows, err := s.q.ListOpenExamsForUser(ctx, s.pool, dbsqlc.ListOpenExamsForUserParams{UserID: userID, Now: now})
	if err != nil {
		return nil, translate(err, "exams")
	}
	out := make([]OpenExam, len(rows))
	for i, r := range rows {
		out[i] = OpenExam(r)
	}
	return out, nil
}
