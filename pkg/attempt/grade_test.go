package attempt

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/infra/store"
	"github.com/oeshq/oes/pkg/oes"
)

func question(id int64, points int32, correct ...bool) oes.Question {
	q := oes.Question{ID: id, Points: points}
	for i, c := range correct {
		q.Options = append(q.Options, oes.Option{ID: id*10 + int64(i), IsCorrect: &c})
	}
	return q
}

func TestGrade(t *testing.T) {
	t.Parallel()
	qs := []oes.Question{
		question(1, 2, true, false),       // right
		question(2, 3, true, true, false), // both correct chosen, in reverse order
		question(3, 4, true, true, false), // partial: nothing
		question(4, 5, true, false),       // wrong
		question(5, 1, true, false),       // unanswered
		question(6, 7, true, false),       // right plus a wrong one: nothing
	}
	chosen := store.Answers{1: {10}, 2: {21, 20}, 3: {30}, 4: {41}, 6: {60, 61}}
	score, maxScore := Grade(qs, chosen)
	require.EqualValues(t, 5, score)
	require.EqualValues(t, 22, maxScore)
}

func TestValidateAnswers(t *testing.T) {
	t.Parallel()
	qs := []oes.Question{question(1, 1, true, false), question(2, 1, true, false)}
	got, err := validateAnswers(AnswersInput{Answers: map[string][]int64{"1": {10}, "2": {}}}, 7, qs)
	require.NoError(t, err)
	require.Equal(t, store.Answers{1: {10}, 2: {}}, got)

	_, err = validateAnswers(AnswersInput{Answers: map[string][]int64{"1": {20}, "3": {30}, "x": nil}}, 7, qs)
	require.Equal(t, oes.EINVALID, oes.ErrorCode(err))
	var e *oes.Error
	require.ErrorAs(t, err, &e)
	var fields []string
	for _, f := range e.Fields {
		fields = append(fields, f.Field)
	}
	require.Equal(t, []string{"answers.1", "answers.3", "answers.x"}, fields)
}
