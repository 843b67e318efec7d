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

// AttemptTx is one transaction over attempts, begun by Store.AttemptTx: plain reads and
// writes, whose rules are the caller's. It is an interface so that the tests of those rules can
// stand in for the database. Its errors are *oes.Error, as the Store's are. It is not to be
// used after the function it was given to returns.
type AttemptTx interface {
	// LockAttempt returns attempt id, without its exam's title nor its student, and holds its
	// row until the transaction ends: the writers of one attempt's answers and its grade take
	// turns, so that a grade sees every answer saved before it. ENOTFOUND when it does not
	// exist.
	LockAttempt(ctx context.Context, id int64) (oes.Attempt, error)
	// GetAttempt is Store.GetAttempt within the transaction: it sees the transaction's writes.
	GetAttempt(ctx context.Context, id int64) (oes.Attempt, error)
	// ExamQuestions is Store.ListExamQuestions within the transaction: the answer key included.
	ExamQuestions(ctx context.Context, examID int64) ([]oes.Question, error)
	// Answers is Store.AttemptAnswers within the transaction.
	Answers(ctx context.Context, attemptID int64) (Answers, error)
	// ReplaceAnswers replaces the chosen options of every question in answers; an empty list
	// clears the question's answer, and an option named twice is stored once. The caller has
	// checked that the questions belong to the attempt's exam; an option that is not one of its
	// question's is EINVALID.
	ReplaceAnswers(ctx context.Context, attemptID int64, answers Answers) error
	// FinishAttempt records the submission time and score of attempt id unless it has one
	// already; changed tells whether it was recorded.
	FinishAttempt(ctx context.Context, id int64, submittedAt time.Time, score, maxScore int32) (changed bool, err error)
	// InsertEmail records e in the outbox, to be sent once the transaction commits, and returns
	// its id. EINVALID when e is not fit to send.
	InsertEmail(ctx context.Context, e NewEmail) (int64, error)
}

// AttemptTx runs fn in a transaction over attempts, committing when fn returns nil and rolling
// back otherwise. fn's error is returned as it is; a failure to begin or commit the
// transaction as an *oes.Error.
func (s *Store) AttemptTx(ctx context.Context, fn func(AttemptTx) error) error {
	var fnErr error
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		fnErr = fn(attemptTx{s: s, tx: tx})
		return fnErr
	})
	if fnErr != nil {
		return fnErr
	}
	return translate(err, "attempt")
}

// attemptTx is the store's AttemptTx.
type attemptTx struct {
	s  *Store
	tx pgx.Tx
}

func (t attemptTx) LockAttempt(ctx context.Context, id int64) (oes.Attempt, error) {
	r, err := t.s.q.LockAttempt(ctx, t.tx, id)
	if err != nil {
		return oes.Attempt{}, translate(err, attemptSubject(id))
	}
	return attemptFromColumns(r.ID, r.ExamID, r.UserID, r.StartedAt, r.Deadline, r.SubmittedAt, r.Score, r.MaxScore), nil
}

func (t attemptTx) GetAttempt(ctx context.Context, id int64) (oes.Attempt, error) {
	return t.s.getAttempt(ctx, t.tx, id)
}

func (t attemptTx) ExamQuestions(ctx context.Context, examID int64) ([]oes.Question, error) {
	return t.s.listExamQuestions(ctx, t.tx, examID)
}

func (t attemptTx) Answers(ctx context.Context, attemptID int64) (Answers, error) {
	return t.s.attemptAnswers(ctx, t.tx, attemptID)
}

func (t attemptTx) ReplaceAnswers(ctx context.Context, attemptID int64, answers Answers) error {
	del := dbsqlc.DeleteAttemptAnswersParams{AttemptID: attemptID}
	ins := dbsqlc.InsertAttemptAnswersParams{AttemptID: attemptID}
	for q, options := range sortedAnswers(answers) {
		del.QuestionIds = append(del.QuestionIds, q)
		for _, o := range options {
			ins.QuestionIds = append(ins.QuestionIds, q)
			ins.OptionIds = append(ins.OptionIds, o)
		}
	}
	if err := t.s.q.DeleteAttemptAnswers(ctx, t.tx, del); err != nil {
		return translate(err, "answers")
	}
	if len(ins.OptionIds) > 0 {
		if err := t.s.q.InsertAttemptAnswers(ctx, t.tx, ins); err != nil {
			return translate(err, "answers")
		}
	}
	return nil
}

func (t attemptTx) FinishAttempt(ctx context.Context, id int64, submittedAt time.Time, score, maxScore int32) (bool, error) {
	n, err := t.s.q.FinishAttempt(ctx, t.tx, dbsqlc.FinishAttemptParams{
		ID: id, SubmittedAt: &submittedAt, Score: &score, MaxScore: &maxScore,
	})
	if err != nil {
		return false, translate(err, attemptSubject(id))
	}
	return n == 1, nil
}

func (t attemptTx) InsertEmail(ctx context.Context, e NewEmail) (int64, error) {
	return t.s.insertEmail(ctx, t.tx, e)
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
