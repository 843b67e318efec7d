package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/oeshq/oes/db/dbsqlc"
	"github.com/oeshq/oes/pkg/oes"
)

// ListPublishedExams returns the published exams ordered by id; an empty slice when there are
// none.
func (s *Store) ListPublishedExams(ctx context.Context) ([]oes.Exam, error) {
	rows, err := s.q.ListPublishedExams(ctx, s.pool)
	if err != nil {
		return nil, translate(err, "exams")
	}
	exams := make([]oes.Exam, len(rows))
	for i, r := range rows {
		exams[i] = examFromRow(r)
	}
	return exams, nil
}

// GetExam returns the exam with the given id, published or not. ENOTFOUND when there is none.
func (s *Store) GetExam(ctx context.Context, id int64) (oes.Exam, error) {
	row, err := s.q.GetExam(ctx, s.pool, id)
	if err != nil {
		return oes.Exam{}, translate(err, examSubject(id))
	}
	return examFromRow(row), nil
}

// CreateExam stores a new exam written by the user createdBy (nil when no user is known). in
// must have been validated: an absent Description is stored empty, other absent fields as
// zero values, which the schema may refuse with EINVALID.
func (s *Store) CreateExam(ctx context.Context, createdBy *int64, in oes.ExamInput) (oes.Exam, error) {
	row, err := s.q.CreateExam(ctx, s.pool, dbsqlc.CreateExamParams{
		Title:              deref(in.Title),
		Description:        deref(in.Description),
		DurationMinutes:    deref(in.DurationMinutes),
		Published:          deref(in.Published),
		CreatedBy:          createdBy,
		OpensAt:            in.OpensAt.Time,
		ClosesAt:           in.ClosesAt.Time,
		MaxAttempts:        in.MaxAttempts,
		KeyRelease:         in.KeyRelease,
		QuestionVisibility: in.QuestionVisibility,
	})
	if err != nil {
		return oes.Exam{}, translate(err, "exam")
	}
	return examFromRow(row), nil
}

// UpdateExam changes the fields of in that are not nil and returns the exam as stored.
// ENOTFOUND when the exam does not exist, EINVALID when the schema refuses a value.
func (s *Store) UpdateExam(ctx context.Context, id int64, in oes.ExamInput) (oes.Exam, error) {
	row, err := s.q.UpdateExam(ctx, s.pool, dbsqlc.UpdateExamParams{
		ID:                 id,
		Title:              in.Title,
		Description:        in.Description,
		DurationMinutes:    in.DurationMinutes,
		Published:          in.Published,
		SetOpensAt:         in.OpensAt.Set,
		OpensAt:            in.OpensAt.Time,
		SetClosesAt:        in.ClosesAt.Set,
		ClosesAt:           in.ClosesAt.Time,
		MaxAttempts:        in.MaxAttempts,
		KeyRelease:         in.KeyRelease,
		QuestionVisibility: in.QuestionVisibility,
	})
	if err != nil {
		return oes.Exam{}, translate(err, examSubject(id))
	}
	return examFromRow(row), nil
}

// DeleteExam deletes an exam with its questions and options. ENOTFOUND when it does not exist;
// ECONFLICT when it has attempts, whose results must survive it.
func (s *Store) DeleteExam(ctx context.Context, id int64) error {
	var n int64
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		// Its reminders are not sent: they would announce an exam that is gone.
		_, err := s.q.CancelExamReminders(ctx, tx, dbsqlc.CancelExamRemindersParams{Reason: "the exam was deleted", ExamID: &id})
		if err != nil {
			return err
		}
		n, err = s.q.DeleteExam(ctx, tx, id)
		return err
	})
	if err != nil {
		return translateRemoval(err, examSubject(id),
			fmt.Sprintf("exam %d has attempts and cannot be deleted", id))
	}
	if n == 0 {
		return notFound(examSubject(id))
	}
	return nil
}

func examSubject(id int64) string { return fmt.Sprintf("exam %d", id) }

func examFromRow(r dbsqlc.Exam) oes.Exam {
	return oes.Exam{
		ID:                 r.ID,
		Title:              r.Title,
		Description:        r.Description,
		DurationMinutes:    r.DurationMinutes,
		Published:          r.Published,
		OpensAt:            r.OpensAt,
		ClosesAt:           r.ClosesAt,
		MaxAttempts:        r.MaxAttempts,
		KeyRelease:         r.KeyRelease,
		QuestionVisibility: r.QuestionVisibility,
		CreatedBy:          r.CreatedBy,
		CreatedAt:          r.CreatedAt,
		UpdatedAt:          r.UpdatedAt,
	}
}

// deref returns *p, or the zero value when p is nil.
func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// MakePracticeExams gives the exams titled titles the policy of practice exams: questions
// public, the answer key shown once an attempt is submitted, maxAttempts attempts each. It
// returns how many exams it changed.
func (s *Store) MakePracticeExams(ctx context.Context, titles []string, maxAttempts int32) (int, error) {
	n, err := s.q.MakePracticeExams(ctx, s.pool, dbsqlc.MakePracticeExamsParams{Titles: titles, MaxAttempts: maxAttempts})
	if err != nil {
		return 0, translate(err, "exams")
	}
	return int(n), nil
}
