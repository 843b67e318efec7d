package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/oeshq/oes/db/dbsqlc"
	"github.com/oeshq/oes/pkg/oes"
)

// defaultPoints is what a question is worth when its input says nothing.
const defaultPoints = 1

// ListExamQuestions returns the questions of an exam in position order, each with its options
// in order and the answer key; callers redact it for students. It reads everything in one
// query. ENOTFOUND when the exam does not exist; an empty slice when it has no questions.
func (s *Store) ListExamQuestions(ctx context.Context, examID int64) ([]oes.Question, error) {
	return s.listExamQuestions(ctx, s.pool, examID)
}

// listExamQuestions is ListExamQuestions on db, a pool or a transaction.
func (s *Store) listExamQuestions(ctx context.Context, db dbsqlc.DBTX, examID int64) ([]oes.Question, error) {
	rows, err := s.q.ListExamQuestions(ctx, db, examID)
	if err != nil {
		return nil, translate(err, examSubject(examID))
	}
	if len(rows) == 0 {
		return nil, notFound(examSubject(examID))
	}
	questions := []oes.Question{}
	for _, r := range rows {
		if r.QuestionID == nil { // the exam has no questions
			break
		}
		if n := len(questions); n == 0 || questions[n-1].ID != *r.QuestionID {
			questions = append(questions, oes.Question{
				ID:        *r.QuestionID,
				ExamID:    r.ExamID,
				Position:  *r.QuestionPosition,
				Text:      *r.QuestionText,
				Points:    *r.QuestionPoints,
				Options:   []oes.Option{},
				CreatedAt: *r.QuestionCreatedAt,
				UpdatedAt: *r.QuestionUpdatedAt,
			})
		}
		if r.OptionID != nil {
			q := &questions[len(questions)-1]
			q.Options = append(q.Options, optionFromColumns(*r.OptionID, *r.OptionPosition, *r.OptionText, *r.OptionIsCorrect))
		}
	}
	return questions, nil
}

// GetQuestion returns a question with its options and answer key. ENOTFOUND when it does not
// exist.
func (s *Store) GetQuestion(ctx context.Context, id int64) (oes.Question, error) {
	rows, err := s.q.GetQuestion(ctx, s.pool, id)
	if err != nil {
		return oes.Question{}, translate(err, questionSubject(id))
	}
	if len(rows) == 0 {
		return oes.Question{}, notFound(questionSubject(id))
	}
	r := rows[0]
	q := oes.Question{
		ID:        r.QuestionID,
		ExamID:    r.ExamID,
		Position:  r.QuestionPosition,
		Text:      r.QuestionText,
		Points:    r.QuestionPoints,
		Options:   make([]oes.Option, 0, len(rows)),
		CreatedAt: r.QuestionCreatedAt,
		UpdatedAt: r.QuestionUpdatedAt,
	}
	for _, r := range rows {
		if r.OptionID != nil {
			q.Options = append(q.Options, optionFromColumns(*r.OptionID, *r.OptionPosition, *r.OptionText, *r.OptionIsCorrect))
		}
	}
	return q, nil
}

// CreateQuestion adds a question and its options to an exam in one transaction. Without a
// Position the question goes after the exam's last one; without Points it is worth
// defaultPoints. Options take positions 1..n in the order given. ENOTFOUND when the exam does
// not exist, ECONFLICT when the position is taken.
func (s *Store) CreateQuestion(ctx context.Context, examID int64, in oes.QuestionInput) (oes.Question, error) {
	var q oes.Question
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		// Serialises question writers of this exam so that two of them cannot pick the same
		// next position.
		if _, err := s.q.LockExam(ctx, tx, examID); err != nil {
			return translate(err, examSubject(examID))
		}
		position := deref(in.Position)
		if in.Position == nil {
			next, err := s.q.NextQuestionPosition(ctx, tx, examID)
			if err != nil {
				return translate(err, examSubject(examID))
			}
			position = next
		}
		points := int32(defaultPoints)
		if in.Points != nil {
			points = *in.Points
		}
		row, err := s.q.CreateQuestion(ctx, tx, dbsqlc.CreateQuestionParams{
			ExamID:   examID,
			Position: position,
			Text:     deref(in.Text),
			Points:   points,
		})
		if err != nil {
			return translate(err, "question")
		}
		options, err := s.insertOptions(ctx, tx, row.ID, in.Options)
		if err != nil {
			return err
		}
		q = questionFromRow(row, options)
		return nil
	})
	return q, err
}

// UpdateQuestion changes the fields of in that are not nil and, when in.Options is not nil,
// replaces the options as a whole, in one transaction. ENOTFOUND when the question does not
// exist; ECONFLICT when the new position is taken, or when options are to be replaced but
// attempts have chosen them already.
func (s *Store) UpdateQuestion(ctx context.Context, id int64, in oes.QuestionInput) (oes.Question, error) {
	var q oes.Question
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		row, err := s.q.UpdateQuestion(ctx, tx, dbsqlc.UpdateQuestionParams{
			ID:       id,
			Position: in.Position,
			Text:     in.Text,
			Points:   in.Points,
		})
		if err != nil {
			return translate(err, questionSubject(id))
		}
		var options []oes.Option
		if in.Options != nil {
			if _, err := s.q.DeleteQuestionOptions(ctx, tx, id); err != nil {
				return translateRemoval(err, questionSubject(id), fmt.Sprintf(
					"question %d has been answered in an attempt, its options can no longer be replaced", id))
			}
			options, err = s.insertOptions(ctx, tx, id, in.Options)
		} else {
			options, err = s.questionOptions(ctx, tx, id)
		}
		if err != nil {
			return err
		}
		q = questionFromRow(row, options)
		return nil
	})
	return q, err
}

// DeleteQuestion deletes a question with its options and returns the exam it belonged to.
// ENOTFOUND when it does not exist; ECONFLICT when attempts have answered it.
func (s *Store) DeleteQuestion(ctx context.Context, id int64) (examID int64, err error) {
	examID, err = s.q.DeleteQuestion(ctx, s.pool, id)
	if err != nil {
		return 0, translateRemoval(err, questionSubject(id),
			fmt.Sprintf("question %d has been answered in an attempt and cannot be deleted", id))
	}
	return examID, nil
}

// insertOptions writes in as the options of a question, positions 1..n in order, in one
// statement.
func (s *Store) insertOptions(ctx context.Context, tx pgx.Tx, questionID int64, in []oes.OptionInput) ([]oes.Option, error) {
	if len(in) == 0 {
		return []oes.Option{}, nil
	}
	arg := dbsqlc.InsertQuestionOptionsParams{
		QuestionID: questionID,
		Positions:  make([]int32, len(in)),
		Texts:      make([]string, len(in)),
		IsCorrect:  make([]bool, len(in)),
	}
	for i, o := range in {
		arg.Positions[i] = int32(i + 1)
		arg.Texts[i] = o.Text
		arg.IsCorrect[i] = o.IsCorrect
	}
	rows, err := s.q.InsertQuestionOptions(ctx, tx, arg)
	if err != nil {
		return nil, translate(err, "option")
	}
	return optionsFromRows(rows), nil
}

func (s *Store) questionOptions(ctx context.Context, tx pgx.Tx, questionID int64) ([]oes.Option, error) {
	rows, err := s.q.GetQuestionOptions(ctx, tx, questionID)
	if err != nil {
		return nil, translate(err, questionSubject(questionID))
	}
	return optionsFromRows(rows), nil
}

func questionSubject(id int64) string { return fmt.Sprintf("question %d", id) }

func questionFromRow(r dbsqlc.Question, options []oes.Option) oes.Question {
	return oes.Question{
		ID:        r.ID,
		ExamID:    r.ExamID,
		Position:  r.Position,
		Text:      r.Text,
		Points:    r.Points,
		Options:   options,
		CreatedAt: r.CreatedAt,
		UpdatedAt: r.UpdatedAt,
	}
}

// optionsFromRows converts rows to options sorted by position: INSERT ... RETURNING promises
// no order.
func optionsFromRows(rows []dbsqlc.Option) []oes.Option {
	options := make([]oes.Option, len(rows))
	for i, r := range rows {
		options[i] = optionFromColumns(r.ID, r.Position, r.Text, r.IsCorrect)
	}
	slices.SortFunc(options, func(a, b oes.Option) int { return cmp.Compare(a.Position, b.Position) })
	return options
}

func optionFromColumns(id int64, position int32, text string, isCorrect bool) oes.Option {
	return oes.Option{ID: id, Position: position, Text: text, IsCorrect: &isCorrect}
}
