package exam

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/oes"
)

func ptr[T any](v T) *T { return &v }

// fields returns the fields err names, in order; nil when err is nil.
func fields(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	require.Equal(t, oes.EINVALID, oes.ErrorCode(err))
	var e *oes.Error
	require.ErrorAs(t, err, &e)
	var out []string
	for _, f := range e.Fields {
		out = append(out, f.Field)
	}
	return out
}

func TestValidateExam(t *testing.T) {
	t.Parallel()
	opens := time.Date(2030, 1, 2, 9, 0, 0, 0, time.UTC)
	closes := opens.Add(time.Hour)
	valid := oes.ExamInput{Title: ptr("Algebra"), DurationMinutes: ptr(int32(30))}
	tests := []struct {
		name   string
		in     oes.ExamInput
		create bool
		fields []string // the fields refused; none when valid
	}{
		{"createValid", valid, true, nil},
		{"createFull", oes.ExamInput{
			Title: ptr("Algebra"), Description: ptr("d"), DurationMinutes: ptr(int32(MaxDurationMin)),
			OpensAt: oes.OptionalTime{Set: true, Time: &opens}, ClosesAt: oes.OptionalTime{Set: true, Time: &closes},
			MaxAttempts: ptr(int32(oes.MaxMaxAttempts)), KeyRelease: ptr(oes.KeyAfterClose),
			QuestionVisibility: ptr(oes.QuestionsPublic),
		}, true, nil},
		{"createMissing", oes.ExamInput{}, true, []string{"title", "duration_minutes"}},
		{"blankTitle", oes.ExamInput{Title: ptr("  "), DurationMinutes: ptr(int32(30))}, true, []string{"title"}},
		{"longTitle", oes.ExamInput{Title: ptr(strings.Repeat("é", MaxTitleLen+1))}, false, []string{"title"}},
		{"titleAtLimit", oes.ExamInput{Title: ptr(strings.Repeat("é", MaxTitleLen))}, false, nil},
		{"longDescription", oes.ExamInput{Description: ptr(strings.Repeat("x", MaxDescriptionLen+1))}, false, []string{"description"}},
		{"durationZero", oes.ExamInput{DurationMinutes: ptr(int32(0))}, false, []string{"duration_minutes"}},
		{"durationTooLong", oes.ExamInput{DurationMinutes: ptr(int32(MaxDurationMin + 1))}, false, []string{"duration_minutes"}},
		{"badTimes", oes.ExamInput{OpensAt: oes.OptionalTime{Set: true, Invalid: true}, ClosesAt: oes.OptionalTime{Set: true, Invalid: true}},
			false, []string{"opens_at", "closes_at"}},
		{"closesAtOpening", oes.ExamInput{OpensAt: oes.OptionalTime{Set: true, Time: &opens}, ClosesAt: oes.OptionalTime{Set: true, Time: &opens}},
			false, []string{"closes_at"}},
		{"maxAttemptsZero", oes.ExamInput{MaxAttempts: ptr(int32(0))}, false, []string{"max_attempts"}},
		{"maxAttemptsTooMany", oes.ExamInput{MaxAttempts: ptr(int32(oes.MaxMaxAttempts + 1))}, false, []string{"max_attempts"}},
		{"unknownKeyRelease", oes.ExamInput{KeyRelease: ptr("sometimes")}, false, []string{"key_release"}},
		{"unknownVisibility", oes.ExamInput{QuestionVisibility: ptr("hidden")}, false, []string{"question_visibility"}},
		{"patchEmpty", oes.ExamInput{}, false, []string{"body"}},
		{"patchOneField", oes.ExamInput{Published: ptr(true)}, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.fields, fields(t, validateExam(tt.in, tt.create)))
		})
	}
}

func TestValidateQuestion(t *testing.T) {
	t.Parallel()
	options := []oes.OptionInput{{Text: "a", IsCorrect: true}, {Text: "b"}}
	tests := []struct {
		name   string
		in     oes.QuestionInput
		create bool
		fields []string // the fields refused; none when valid
	}{
		{"createValid", oes.QuestionInput{Text: ptr("q"), Options: options}, true, nil},
		{"createMissing", oes.QuestionInput{}, true, []string{"text", "options"}},
		{"positionZero", oes.QuestionInput{Position: ptr(int32(0))}, false, []string{"position"}},
		{"blankText", oes.QuestionInput{Text: ptr(" ")}, false, []string{"text"}},
		{"longText", oes.QuestionInput{Text: ptr(strings.Repeat("x", MaxQuestionLen+1))}, false, []string{"text"}},
		{"negativePoints", oes.QuestionInput{Points: ptr(int32(-1))}, false, []string{"points"}},
		{"tooManyPoints", oes.QuestionInput{Points: ptr(int32(MaxPoints + 1))}, false, []string{"points"}},
		{"zeroPoints", oes.QuestionInput{Points: ptr(int32(0))}, false, nil},
		{"oneOption", oes.QuestionInput{Options: options[:1]}, false, []string{"options"}},
		{"tooManyOptions", oes.QuestionInput{Options: make([]oes.OptionInput, MaxOptions+1)}, false, []string{"options"}},
		{"badOptions", oes.QuestionInput{Options: []oes.OptionInput{{Text: " "}, {Text: strings.Repeat("x", MaxOptionLen+1)}}},
			false, []string{"options[0].text", "options[1].text", "options"}},
		{"patchEmpty", oes.QuestionInput{}, false, []string{"body"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.fields, fields(t, validateQuestion(tt.in, tt.create)))
		})
	}
}
