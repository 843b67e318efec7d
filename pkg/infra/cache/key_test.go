package cache_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/infra/cache"
)

func TestKeyStringNamesKindAndID(t *testing.T) {
	t.Parallel()
	for key, want := range map[cache.Key]string{
		cache.Exam(42):          "exam:42",
		cache.ExamQuestions(42): "exam_questions:42",
		cache.Question(7):       "question:7",
		cache.UserProfile(3):    "user_profile:3",
		cache.ExamResult(9):     "exam_result:9",
		cache.UserExams(3):      "user_exams:3",
		cache.AllExams:          "all_exams",
		cache.Named("stats"):    "other:stats",
	} {
		require.Equal(t, want, key.String())
	}
	require.Equal(t, cache.KindExamQuestions, cache.ExamQuestions(1).Kind())
	require.Equal(t, cache.KindOther, cache.Named("x").Kind())
}

func TestKindStringNamesEveryKind(t *testing.T) {
	t.Parallel()
	for kind, want := range map[cache.Kind]string{
		cache.KindExam: "exam", cache.KindExamQuestions: "exam_questions", cache.KindQuestion: "question",
		cache.KindUserProfile: "user_profile", cache.KindExamResult: "exam_result",
		cache.KindUserExams: "user_exams", cache.KindAllExams: "all_exams", cache.KindOther: "other",
	} {
		require.Equal(t, want, kind.String())
	}
}

func TestKeysAreComparable(t *testing.T) {
	t.Parallel()
	seen := map[cache.Key]bool{cache.Exam(1): true, cache.Named("1"): true}
	require.True(t, seen[cache.Exam(1)])
	require.False(t, seen[cache.Question(1)])
	require.True(t, cache.Named("a") == cache.Named("a")) //nolint:staticcheck // Two keys made alike must be equal under ==.
}
