package store_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/infra/store"
	"github.com/oeshq/oes/pkg/oes"
)

func TestImportExamsWritesEverythingAndSkipsTakenTitles(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.createExam(t, "taken", false)

	exams := []store.ExamImport{
		{Title: "taken", DurationMinutes: 10},
		{
			Title: "new", Description: "d", DurationMinutes: 20, Published: true,
			Questions: []store.QuestionImport{
				{Text: "q1", Points: 2, Options: []oes.OptionInput{{Text: "a"}, {Text: "b", IsCorrect: true}}},
				{Text: "q2", Points: 0},
			},
		},
		{Title: "new", DurationMinutes: 30}, // a repeated title counts as taken
	}
	res, err := b.store.ImportExams(b.ctx, nil, exams)
	require.NoError(t, err)
	require.Equal(t, store.ImportResult{Created: 1, Skipped: 2}, res)

	published, err := b.store.ListPublishedExams(b.ctx)
	require.NoError(t, err)
	require.Len(t, published, 1)
	require.Equal(t, "d", published[0].Description)
	require.Equal(t, int32(20), published[0].DurationMinutes)

	qs, err := b.store.ListExamQuestions(b.ctx, published[0].ID)
	require.NoError(t, err)
	require.Len(t, qs, 2)
	require.Equal(t, "q1", qs[0].Text)
	require.Equal(t, int32(2), qs[0].Points)
	require.Equal(t, []string{"a", "b"}, optionTexts(qs[0]))
	require.True(t, *qs[0].Options[1].IsCorrect)
	require.Empty(t, qs[1].Options)

	res, err = b.store.ImportExams(b.ctx, nil, exams)
	require.NoError(t, err)
	require.Equal(t, store.ImportResult{Created: 0, Skipped: 3}, res)
	require.Equal(t, 2, b.count(t, "SELECT count(*) FROM exams"))
}

func TestImportExamsWritesNothingWhenOneExamIsRefused(t *testing.T) {
	t.Parallel()
	b := setup(t)

	_, err := b.store.ImportExams(b.ctx, nil, []store.ExamImport{
		{Title: "good", DurationMinutes: 10},
		{Title: "bad", DurationMinutes: 0},
	})
	requireCode(t, err, oes.EINVALID)
	require.Equal(t, 0, b.count(t, "SELECT count(*) FROM exams"))
}
