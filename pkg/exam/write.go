package exam

import (
	"context"

	"github.com/oeshq/oes/pkg/infra/cache"
	"github.com/oeshq/oes/pkg/oes"
)

// CreateExam validates in and stores a new exam created by createdBy (nil when unknown).
// Errors: EINVALID with the failing fields.
func (s *Service) CreateExam(ctx context.Context, createdBy *int64, in oes.ExamInput) (oes.Exam, error) {
	if err := validateExam(in, true); err != nil {
		return oes.Exam{}, err
	}
	e, err := s.store.CreateExam(ctx, createdBy, in)
	if err != nil {
		return oes.Exam{}, err
	}
	// The new id may have been asked for before it existed: drop the remembered "not found".
	s.invalidate(ctx, cache.AllExams, cache.Exam(e.ID), cache.ExamQuestions(e.ID))
	return e, nil
}

// UpdateExam changes the fields present in in. Errors: EINVALID, ENOTFOUND.
func (s *Service) UpdateExam(ctx context.Context, id int64, in oes.ExamInput) (oes.Exam, error) {
	if err := validateExam(in, false); err != nil {
		return oes.Exam{}, err
	}
	e, err := s.store.UpdateExam(ctx, id, in)
	if err != nil {
		return oes.Exam{}, err
	}
	// Publishing or unpublishing changes whether the exam's questions may be shown at all.
	s.invalidate(ctx, s.examKeys(ctx, id)...)
	if in.OpensAt.Set || in.ClosesAt.Set || in.Published != nil || in.Title != nil || in.DurationMinutes != nil ||
		in.MaxAttempts != nil {
		// The reminders say when it opens, and what it is: they are written again. The change
		// stands if that fails; the error tells the admin to send it again.
		if err := s.reschedule(ctx, e); err != nil {
			return oes.Exam{}, err
		}
	}
	return e, nil
}

// DeleteExam deletes an exam with its questions. Errors: ENOTFOUND, and ECONFLICT when
// students have attempted it (their results must stay).
func (s *Service) DeleteExam(ctx context.Context, id int64) error {
	keys := s.examKeys(ctx, id)
	if err := s.store.DeleteExam(ctx, id); err != nil {
		return err
	}
	s.invalidate(ctx, keys...)
	return nil
}

// examKeys lists every cache key that holds data of exam id: the exam, the list, the
// question list and each question.
func (s *Service) examKeys(ctx context.Context, id int64) []cache.Key {
	keys := []cache.Key{cache.AllExams, cache.Exam(id), cache.ExamQuestions(id)}
	if s.cache == nil {
		return keys
	}
	qs, err := s.store.ListExamQuestions(ctx, id)
	if err != nil {
		// Without the ids, single-question entries expire by their TTL; the exam-level
		// entries above, which every question read checks first, are still dropped.
		s.log.WarnContext(ctx, "listing questions for cache invalidation failed", "exam_id", id, "err", err)
		return keys
	}
	for _, q := range qs {
		keys = append(keys, cache.Question(q.ID))
	}
	return keys
}

// CreateQuestion adds a question with its options to an exam. Errors: EINVALID, ENOTFOUND
// (no such exam), ECONFLICT (position taken).
func (s *Service) CreateQuestion(ctx context.Context, examID int64, in oes.QuestionInput) (oes.Question, error) {
	if err := validateQuestion(in, true); err != nil {
		return oes.Question{}, err
	}
	q, err := s.store.CreateQuestion(ctx, examID, in)
	if err != nil {
		return oes.Question{}, err
	}
	s.invalidate(ctx, cache.ExamQuestions(examID), cache.Question(q.ID))
	return q, nil
}

// UpdateQuestion changes the fields present in in; options, when given, replace the old ones.
// Errors: EINVALID, ENOTFOUND, ECONFLICT.
func (s *Service) UpdateQuestion(ctx context.Context, id int64, in oes.QuestionInput) (oes.Question, error) {
	if err := validateQuestion(in, false); err != nil {
		return oes.Question{}, err
	}
	q, err := s.store.UpdateQuestion(ctx, id, in)
	if err != nil {
		return oes.Question{}, err
	}
	s.invalidate(ctx, cache.ExamQuestions(q.ExamID), cache.Question(id))
	return q, nil
}

// DeleteQuestion deletes a question and its options. Errors: ENOTFOUND, ECONFLICT.
func (s *Service) DeleteQuestion(ctx context.Context, id int64) error {
	examID, err := s.store.DeleteQuestion(ctx, id)
	if err != nil {
		return err
	}
	s.invalidate(ctx, cache.ExamQuestions(examID), cache.Question(id))
	return nil
}
