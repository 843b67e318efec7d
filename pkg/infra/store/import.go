package store

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/oeshq/oes/db/dbsqlc"
	"github.com/oeshq/oes/pkg/oes"
)

// importLockKey names the advisory lock that serialises ImportExams calls on a database.
const importLockKey int64 = 0x6f65735f696d7074 // "oes_impt"

// ExamImport is one exam of a bulk import, questions and options included. Questions take
// positions 1..n and options 1..m in the order given.
type ExamImport struct {
	Title           string
	Description     string
	DurationMinutes int32
	Published       bool
	Questions       []QuestionImport
}

// QuestionImport is one question of an ExamImport.
type QuestionImport struct {
	Text    string
	Points  int32
	Options []oes.OptionInput
}

// ImportResult counts what ImportExams did.
type ImportResult struct {
	Created int // exams written
	Skipped int // exams left out because an exam with the same title existed already
}

// ImportExams writes exams in bulk, all or none, in a handful of statements however many
// there are: it is meant for loading data sets, not for the API. An exam whose title is
// already taken, by a stored exam or an earlier one of exams, is skipped, so repeating an
// import adds nothing; concurrent imports take turns. createdBy may be nil.
func (s *Store) ImportExams(ctx context.Context, createdBy *int64, exams []ExamImport) (ImportResult, error) {
	var res ImportResult
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if err := s.q.ImportLock(ctx, tx, importLockKey); err != nil {
			return translate(err, "import")
		}
		titles := make([]string, len(exams))
		for i, e := range exams {
			titles[i] = e.Title
		}
		existing, err := s.q.ExistingExamTitles(ctx, tx, titles)
		if err != nil {
			return translate(err, "import")
		}
		taken := make(map[string]bool, len(existing)+len(exams))
		for _, t := range existing {
			taken[t] = true
		}

		var add []ExamImport
		for _, e := range exams {
			if taken[e.Title] {
				res.Skipped++
				continue
			}
			taken[e.Title] = true
			add = append(add, e)
		}
		if len(add) == 0 {
			return nil
		}
		if err := s.importExams(ctx, tx, createdBy, add); err != nil {
			return err
		}
		res.Created = len(add)
		return nil
	})
	if err != nil {
		return ImportResult{}, err
	}
	return res, nil
}

// importExams writes exams, whose titles are distinct and new, with one statement for the
// exams, one for the questions and one COPY for the options.
func (s *Store) importExams(ctx context.Context, tx pgx.Tx, createdBy *int64, exams []ExamImport) error {
	ex := dbsqlc.InsertExamsParams{CreatedBy: createdBy}
	for _, e := range exams {
		ex.Titles = append(ex.Titles, e.Title)
		ex.Descriptions = append(ex.Descriptions, e.Description)
		ex.DurationMinutes = append(ex.DurationMinutes, e.DurationMinutes)
		ex.Published = append(ex.Published, e.Published)
	}
	examRows, err := s.q.InsertExams(ctx, tx, ex)
	if err != nil {
		return translate(err, "exam")
	}
	examIDs := make(map[string]int64, len(examRows))
	for _, r := range examRows {
		examIDs[r.Title] = r.ID
	}

	type questionKey struct {
		examID   int64
		position int32
	}
	var qs dbsqlc.InsertQuestionsParams
	for _, e := range exams {
		for i, q := range e.Questions {
			qs.ExamIds = append(qs.ExamIds, examIDs[e.Title])
			qs.Positions = append(qs.Positions, int32(i+1))
			qs.Texts = append(qs.Texts, q.Text)
			qs.Points = append(qs.Points, q.Points)
		}
	}
	if len(qs.ExamIds) == 0 {
		return nil
	}
	questionRows, err := s.q.InsertQuestions(ctx, tx, qs)
	if err != nil {
		return translate(err, "question")
	}
	questionIDs := make(map[questionKey]int64, len(questionRows))
	for _, r := range questionRows {
		questionIDs[questionKey{r.ExamID, r.Position}] = r.ID
	}

	var opts []dbsqlc.InsertOptionsParams
	for _, e := range exams {
		for i, q := range e.Questions {
			questionID := questionIDs[questionKey{examIDs[e.Title], int32(i + 1)}]
			for j, o := range q.Options {
				opts = append(opts, dbsqlc.InsertOptionsParams{
					QuestionID: questionID,
					Position:   int32(j + 1),
					Text:       o.Text,
					IsCorrect:  o.IsCorrect,
				})
			}
		}
	}
	if len(opts) == 0 {
		return nil
	}
	if _, err := s.q.InsertOptions(ctx, tx, opts); err != nil {
		return translate(err, "option")
	}
	return nil
}
