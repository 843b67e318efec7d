package store_test

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/oes"
)

func optionTexts(q oes.Question) []string {
	texts := make([]string, len(q.Options))
	for i, o := range q.Options {
		texts[i] = o.Text
	}
	return texts
}

func TestQuestionCreateGetUpdateDeleteRoundTrip(t *testing.T) {
	t.Parallel()
	b := setup(t)
	exam := b.createExam(t, "E", true)

	created, err := b.store.CreateQuestion(b.ctx, exam.ID, oes.QuestionInput{
		Text:   ptr("2 + 2?"),
		Points: ptr(int32(3)),
		Options: []oes.OptionInput{
			{Text: "3"}, {Text: "4", IsCorrect: true}, {Text: "5"},
		},
	})
	require.NoError(t, err)
	require.Equal(t, exam.ID, created.ExamID)
	require.Equal(t, int32(1), created.Position, "the first question goes first")
	require.Equal(t, int32(3), created.Points)
	require.Equal(t, []string{"3", "4", "5"}, optionTexts(created))
	for i, o := range created.Options {
		require.Equal(t, int32(i+1), o.Position)
		require.NotNil(t, o.IsCorrect)
		require.Equal(t, i == 1, *o.IsCorrect)
	}

	got, err := b.store.GetQuestion(b.ctx, created.ID)
	require.NoError(t, err)
	require.Equal(t, created, got)

	// Without Options the options stay as they are.
	updated, err := b.store.UpdateQuestion(b.ctx, created.ID, oes.QuestionInput{Text: ptr("2 + 3?")})
	require.NoError(t, err)
	require.Equal(t, "2 + 3?", updated.Text)
	require.Equal(t, int32(3), updated.Points)
	require.Equal(t, created.Options, updated.Options)

	// With Options they are replaced as a whole.
	updated, err = b.store.UpdateQuestion(b.ctx, created.ID, oes.QuestionInput{
		Options: []oes.OptionInput{{Text: "5", IsCorrect: true}, {Text: "6"}},
	})
	require.NoError(t, err)
	require.Equal(t, []string{"5", "6"}, optionTexts(updated))
	require.True(t, *updated.Options[0].IsCorrect)
	got, err = b.store.GetQuestion(b.ctx, created.ID)
	require.NoError(t, err)
	require.Equal(t, updated, got)

	// An empty, non-nil Options removes them all.
	updated, err = b.store.UpdateQuestion(b.ctx, created.ID, oes.QuestionInput{Options: []oes.OptionInput{}})
	require.NoError(t, err)
	require.Empty(t, updated.Options)
	got, err = b.store.GetQuestion(b.ctx, created.ID)
	require.NoError(t, err)
	require.NotNil(t, got.Options)
	require.Empty(t, got.Options)

	examID, err := b.store.DeleteQuestion(b.ctx, created.ID)
	require.NoError(t, err)
	require.Equal(t, exam.ID, examID)
	_, err = b.store.GetQuestion(b.ctx, created.ID)
	requireCode(t, err, oes.ENOTFOUND)
}

func TestCreateQuestionDefaultsToTheNextPositionAndOnePoint(t *testing.T) {
	t.Parallel()
	b := setup(t)
	exam := b.createExam(t, "E", true)

	q, err := b.store.CreateQuestion(b.ctx, exam.ID, oes.QuestionInput{Text: ptr("at 5"), Position: ptr(int32(5))})
	require.NoError(t, err)
	require.Equal(t, int32(5), q.Position)
	require.Equal(t, int32(1), q.Points)
	require.NotNil(t, q.Options)
	require.Empty(t, q.Options)

	next := b.createQuestion(t, exam.ID, "after 5")
	require.Equal(t, int32(6), next.Position)
}

func TestConcurrentCreateQuestionsTakeDistinctPositions(t *testing.T) {
	t.Parallel()
	b := setup(t)
	exam := b.createExam(t, "E", true)

	const n = 8
	positions := make(chan int32, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			q, err := b.store.CreateQuestion(b.ctx, exam.ID, oes.QuestionInput{Text: ptr("q")})
			if err != nil {
				t.Error(err)
				return
			}
			positions <- q.Position
		})
	}
	wg.Wait()
	close(positions)
	seen := map[int32]bool{}
	for p := range positions {
		seen[p] = true
	}
	require.Len(t, seen, n)
	for p := int32(1); p <= n; p++ {
		require.True(t, seen[p], "position %d", p)
	}
}

func TestListExamQuestionsReadsQuestionsWithOrderedOptionsInOneQuery(t *testing.T) {
	t.Parallel()
	b := setup(t)
	exam := b.createExam(t, "E", true)
	other := b.createExam(t, "other", true)
	b.createQuestion(t, other.ID, "not listed")

	// Created out of order, listed by position.
	for _, q := range []struct {
		pos     int32
		options []string
	}{{3, []string{"c1", "c2", "c3"}}, {1, []string{"a1", "a2"}}, {2, nil}} {
		in := oes.QuestionInput{Text: ptr(string('a' + q.pos - 1)), Position: ptr(q.pos)}
		for i, text := range q.options {
			in.Options = append(in.Options, oes.OptionInput{Text: text, IsCorrect: i == 0})
		}
		_, err := b.store.CreateQuestion(b.ctx, exam.ID, in)
		require.NoError(t, err)
	}

	var qs []oes.Question
	var err error
	queries := b.queries.count(func() { qs, err = b.store.ListExamQuestions(b.ctx, exam.ID) })
	require.NoError(t, err)
	require.EqualValues(t, 1, queries, "one query for the questions and their options")

	require.Len(t, qs, 3)
	for i, q := range qs {
		require.Equal(t, int32(i+1), q.Position)
		require.Equal(t, exam.ID, q.ExamID)
		got, err := b.store.GetQuestion(b.ctx, q.ID)
		require.NoError(t, err)
		require.Equal(t, got, q, "listing and getting agree")
	}
	require.Equal(t, []string{"a1", "a2"}, optionTexts(qs[0]))
	require.NotNil(t, qs[1].Options)
	require.Empty(t, qs[1].Options)
	require.Equal(t, []string{"c1", "c2", "c3"}, optionTexts(qs[2]))
	require.True(t, *qs[2].Options[0].IsCorrect, "the answer key is included")
	require.False(t, *qs[2].Options[1].IsCorrect)
}

func TestListExamQuestionsOfAnExamWithoutQuestionsIsEmpty(t *testing.T) {
	t.Parallel()
	b := setup(t)
	exam := b.createExam(t, "E", true)

	qs, err := b.store.ListExamQuestions(b.ctx, exam.ID)
	require.NoError(t, err)
	require.NotNil(t, qs)
	require.Empty(t, qs)
}

func TestDeleteQuestionRemovesItsOptionsOnly(t *testing.T) {
	t.Parallel()
	b := setup(t)
	exam := b.createExam(t, "E", true)
	gone := b.createQuestion(t, exam.ID, "gone")
	kept := b.createQuestion(t, exam.ID, "kept")

	_, err := b.store.DeleteQuestion(b.ctx, gone.ID)
	require.NoError(t, err)
	require.Equal(t, 0, b.count(t, "SELECT count(*) FROM options WHERE question_id = $1", gone.ID))
	got, err := b.store.GetQuestion(b.ctx, kept.ID)
	require.NoError(t, err)
	require.Equal(t, kept, got)
}
