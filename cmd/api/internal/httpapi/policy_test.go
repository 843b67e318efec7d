package httpapi_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/attempt"
	"github.com/oeshq/oes/pkg/oes"
)

// createPolicyExam creates a published exam with one question (one right option of three)
// under the policy in gives; what in leaves out takes the defaults.
func createPolicyExam(t *testing.T, b bundle, title string, in oes.ExamInput) (oes.Exam, oes.Question) {
	t.Helper()
	in.Title, in.DurationMinutes, in.Published = ptr(title), ptr(int32(30)), ptr(true)
	rec := do(t, b.api, call{method: "POST", path: "/api/v1/exams", admin: true, body: in})
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	e := decode[oes.Exam](t, rec)
	return e, createQuestion(t, b.api, e.ID, "the question")
}

func patchExam(t *testing.T, b bundle, id int64, body any) oes.Exam {
	t.Helper()
	rec := do(t, b.api, call{method: "PATCH", path: fmt.Sprintf("/api/v1/exams/%d", id), admin: true, body: body})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	return decode[oes.Exam](t, rec)
}

// requireNoKey checks that a body a student received holds no part of the answer key.
func requireNoKey(t *testing.T, body string) {
	t.Helper()
	require.NotContains(t, body, "is_correct", "the answer key leaked: %s", body)
}

func submitBlank(t *testing.T, b bundle, id int64, jwt string) *attemptResult {
	t.Helper()
	rec := do(t, b.api, call{method: "POST", path: attemptPath(id, "submit"), as: jwt})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	return &attemptResult{body: rec.Body.String(), Result: decode[attempt.Result](t, rec)}
}

type attemptResult struct {
	attempt.Result
	body string
}

func TestStrictExamCannotBeGamed(t *testing.T) {
	t.Parallel()
	b := setup(t)
	closes := time.Now().Add(3 * time.Second).UTC().Truncate(time.Millisecond)
	e, q := createPolicyExam(t, b, "Final", oes.ExamInput{ClosesAt: oes.OptionalTime{Set: true, Time: &closes}})
	require.Equal(t, int32(oes.DefaultMaxAttempts), e.MaxAttempts)
	require.Equal(t, oes.KeyAfterClose, e.KeyRelease)
	require.Equal(t, oes.QuestionsDuringAttempt, e.QuestionVisibility)
	questions := fmt.Sprintf("/api/v1/exams/%d/questions", e.ID)
	question := fmt.Sprintf("/api/v1/questions/%d", q.ID)
	other := otherStudent(t, b)

	// Nobody reads the questions outside an attempt: signed out, signed in, one by one.
	for _, jwt := range []string{"", b.studentJWT} {
		requireError(t, do(t, b.api, call{method: "GET", path: questions, as: jwt}), http.StatusForbidden, oes.EQUESTIONSNOTPUBLIC, "")
		requireError(t, do(t, b.api, call{method: "GET", path: question, as: jwt}), http.StatusForbidden, oes.EQUESTIONSNOTPUBLIC, "")
	}
	rec := do(t, b.api, call{method: "GET", path: questions, admin: true})
	require.Equal(t, http.StatusOK, rec.Code, "admins see everything")
	require.Contains(t, rec.Body.String(), `"is_correct":true`)

	// Through an attempt of theirs, the student reads them, without the key; nobody else does.
	a := startAttempt(t, b, e.ID, b.studentJWT)
	rec = do(t, b.api, call{method: "GET", path: attemptPath(a.ID, "questions"), as: b.studentJWT})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Equal(t, q.ID, decode[questionList](t, rec).Questions[0].ID)
	requireNoKey(t, rec.Body.String())
	requireError(t, do(t, b.api, call{method: "GET", path: attemptPath(a.ID, "questions"), as: other}),
		http.StatusForbidden, oes.EFORBIDDEN, "")
	requireError(t, do(t, b.api, call{method: "GET", path: attemptPath(a.ID, "questions")}),
		http.StatusUnauthorized, oes.EUNAUTHORIZED, "")

	// A blank submission shows the score and which questions were right, not the key.
	r := submitBlank(t, b, a.ID, b.studentJWT)
	require.Zero(t, r.Score)
	require.False(t, r.Questions[0].Correct)
	require.Nil(t, r.Questions[0].Chosen)
	requireNoKey(t, r.body)
	rec = do(t, b.api, call{method: "GET", path: attemptPath(a.ID, "result"), as: b.studentJWT})
	require.Equal(t, http.StatusOK, rec.Code)
	requireNoKey(t, rec.Body.String())
	rec = do(t, b.api, call{method: "GET", path: attemptPath(a.ID, "result"), admin: true})
	require.Contains(t, rec.Body.String(), `"is_correct":true`, "admins see the key")

	// No second attempt to answer from a key, and no questions once submitted.
	rec = do(t, b.api, call{method: "POST", path: fmt.Sprintf("/api/v1/exams/%d/attempts", e.ID), as: b.studentJWT})
	requireError(t, rec, http.StatusConflict, oes.EATTEMPTSEXHAUSTED, "")
	requireError(t, do(t, b.api, call{method: "GET", path: attemptPath(a.ID, "questions"), as: b.studentJWT}),
		http.StatusConflict, oes.ECONFLICT, "")

	// Once the exam has closed, the key is released, and nobody may start.
	time.Sleep(time.Until(closes) + 50*time.Millisecond)
	rec = do(t, b.api, call{method: "GET", path: attemptPath(a.ID, "result"), as: b.studentJWT})
	require.Equal(t, http.StatusOK, rec.Code)
	require.Contains(t, rec.Body.String(), `"is_correct":true`, "the key is released at closes_at")
	require.Equal(t, []int64{}, decode[attempt.Result](t, rec).Questions[0].Chosen)
	rec = do(t, b.api, call{method: "POST", path: fmt.Sprintf("/api/v1/exams/%d/attempts", e.ID), as: other})
	requireError(t, rec, http.StatusConflict, oes.EEXAMCLOSED, "")
}

func TestMaxAttemptsAllowsThatManyAndNoMore(t *testing.T) {
	t.Parallel()
	b := setup(t)
	e, _ := createPolicyExam(t, b, "Retakes", oes.ExamInput{MaxAttempts: ptr(int32(3))})
	for range 3 {
		submitBlank(t, b, startAttempt(t, b, e.ID, b.studentJWT).ID, b.studentJWT)
	}
	rec := do(t, b.api, call{method: "POST", path: fmt.Sprintf("/api/v1/exams/%d/attempts", e.ID), as: b.studentJWT})
	requireError(t, rec, http.StatusConflict, oes.EATTEMPTSEXHAUSTED, "")
	require.Contains(t, decode[errorResponse](t, rec).Error.Message, "allows 3 attempts")
	// Another student has attempts of their own.
	startAttempt(t, b, e.ID, otherStudent(t, b))
}

func TestAnAttemptInProgressIsReturnedWhateverThePolicy(t *testing.T) {
	t.Parallel()
	b := setup(t)
	e, _ := createPolicyExam(t, b, "Once", oes.ExamInput{})
	first := startAttempt(t, b, e.ID, b.studentJWT)
	again := startAttempt(t, b, e.ID, b.studentJWT)
	require.Equal(t, first.ID, again.ID, "starting again resumes the attempt in progress")
}

func TestExamWindow(t *testing.T) {
	t.Parallel()
	b := setup(t)
	later := time.Now().Add(time.Hour).UTC()
	earlier := time.Now().Add(-time.Hour).UTC()
	notYet, _ := createPolicyExam(t, b, "Not yet", oes.ExamInput{OpensAt: oes.OptionalTime{Set: true, Time: &later}})
	over, _ := createPolicyExam(t, b, "Over", oes.ExamInput{ClosesAt: oes.OptionalTime{Set: true, Time: &earlier}})
	start := func(id int64) *httptest.ResponseRecorder {
		return do(t, b.api, call{method: "POST", path: fmt.Sprintf("/api/v1/exams/%d/attempts", id), as: b.studentJWT})
	}
	requireError(t, start(notYet.ID), http.StatusConflict, oes.EEXAMNOTOPEN, "")
	requireError(t, start(over.ID), http.StatusConflict, oes.EEXAMCLOSED, "")

	// Opening it now lets the student start; clearing the close does too.
	patchExam(t, b, notYet.ID, map[string]any{"opens_at": nil})
	require.Equal(t, http.StatusCreated, start(notYet.ID).Code)
	reopened := patchExam(t, b, over.ID, map[string]any{"closes_at": nil})
	require.Nil(t, reopened.ClosesAt)
	require.Equal(t, http.StatusCreated, start(over.ID).Code)

	// No attempt runs past the close: the key may be released then.
	closes := time.Now().Add(10 * time.Minute).UTC().Truncate(time.Second)
	soon, _ := createPolicyExam(t, b, "Soon", oes.ExamInput{ClosesAt: oes.OptionalTime{Set: true, Time: &closes}})
	v := startAttempt(t, b, soon.ID, b.studentJWT)
	require.True(t, v.Deadline.Equal(closes), "deadline %s, close %s", v.Deadline, closes)
}

func TestKeyReleaseAfterSubmitAndNever(t *testing.T) {
	t.Parallel()
	b := setup(t)
	practiceExam, _ := createPolicyExam(t, b, "Practice", oes.ExamInput{KeyRelease: ptr(oes.KeyAfterSubmit)})
	secret, _ := createPolicyExam(t, b, "Secret", oes.ExamInput{KeyRelease: ptr(oes.KeyNever)})

	r := submitBlank(t, b, startAttempt(t, b, practiceExam.ID, b.studentJWT).ID, b.studentJWT)
	require.Contains(t, r.body, `"is_correct":true`, "a practice exam shows the key once submitted")

	past := time.Now().Add(-time.Second).UTC()
	a := startAttempt(t, b, secret.ID, b.studentJWT)
	r = submitBlank(t, b, a.ID, b.studentJWT)
	requireNoKey(t, r.body)
	patchExam(t, b, secret.ID, map[string]any{"closes_at": past})
	rec := do(t, b.api, call{method: "GET", path: attemptPath(a.ID, "result"), as: b.studentJWT})
	require.Equal(t, http.StatusOK, rec.Code)
	requireNoKey(t, rec.Body.String())
}

func TestExamPolicyIsValidated(t *testing.T) {
	t.Parallel()
	b := setup(t)
	e, _ := createPolicyExam(t, b, "Valid", oes.ExamInput{})
	path := fmt.Sprintf("/api/v1/exams/%d", e.ID)
	for _, tt := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"opens_at": "tomorrow"}, "opens_at"},
		{map[string]any{"closes_at": 12}, "closes_at"},
		{map[string]any{"opens_at": "2030-01-02T00:00:00Z", "closes_at": "2030-01-01T00:00:00Z"}, "closes_at"},
		{map[string]any{"max_attempts": 0}, "max_attempts"},
		{map[string]any{"max_attempts": 101}, "max_attempts"},
		{map[string]any{"key_release": "sometimes"}, "key_release"},
		{map[string]any{"question_visibility": "secret"}, "question_visibility"},
	} {
		requireError(t, do(t, b.api, call{method: "PATCH", path: path, admin: true, body: tt.body}), http.StatusBadRequest, oes.EINVALID, tt.field)
	}
	// A close before the stored opening is refused by the schema, with the field named.
	patchExam(t, b, e.ID, map[string]any{"opens_at": "2030-01-02T00:00:00Z"})
	requireError(t, do(t, b.api, call{method: "PATCH", path: path, admin: true, body: map[string]any{"closes_at": "2030-01-01T00:00:00Z"}}),
		http.StatusBadRequest, oes.EINVALID, "closes_at")
	got := patchExam(t, b, e.ID, map[string]any{"max_attempts": 2, "key_release": "never", "question_visibility": "public"})
	require.Equal(t, int32(2), got.MaxAttempts)
	require.Equal(t, oes.KeyNever, got.KeyRelease)
	require.Equal(t, oes.QuestionsPublic, got.QuestionVisibility)
	require.NotNil(t, got.OpensAt, "fields left out keep their value")
}

func TestStudentsListTheExamsOpenToThem(t *testing.T) {
	t.Parallel()
	b := setup(t)
	later := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	earlier := time.Now().Add(-time.Hour).UTC()
	open, _ := createPolicyExam(t, b, "Open", oes.ExamInput{MaxAttempts: ptr(int32(2))})
	upcoming, _ := createPolicyExam(t, b, "Upcoming", oes.ExamInput{OpensAt: oes.OptionalTime{Set: true, Time: &later}})
	createPolicyExam(t, b, "Closed", oes.ExamInput{ClosesAt: oes.OptionalTime{Set: true, Time: &earlier}})
	used, _ := createPolicyExam(t, b, "Used up", oes.ExamInput{})
	inProgress, _ := createPolicyExam(t, b, "Going", oes.ExamInput{})
	createExam(t, b.api, "Draft", false)

	submitBlank(t, b, startAttempt(t, b, open.ID, b.studentJWT).ID, b.studentJWT)
	submitBlank(t, b, startAttempt(t, b, used.ID, b.studentJWT).ID, b.studentJWT)
	going := startAttempt(t, b, inProgress.ID, b.studentJWT)

	rec := do(t, b.api, call{method: "GET", path: "/api/v1/users/me/open-exams", as: b.studentJWT})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	list := decode[attempt.OpenExamList](t, rec).Exams
	byTitle := map[string]attempt.OpenExam{}
	for _, e := range list {
		byTitle[e.Title] = e
	}
	require.Len(t, list, 3, "not the closed, the used-up or the draft exam: %s", rec.Body.String())
	require.Equal(t, attempt.ExamOpen, byTitle["Open"].State)
	require.Equal(t, int32(1), byTitle["Open"].AttemptsLeft)
	require.Equal(t, attempt.ExamUpcoming, byTitle["Upcoming"].State)
	require.True(t, byTitle["Upcoming"].OpensAt.Equal(later))
	require.Equal(t, upcoming.ID, byTitle["Upcoming"].ExamID)
	require.Equal(t, attempt.ExamInProgress, byTitle["Going"].State)
	require.Equal(t, going.ID, *byTitle["Going"].AttemptID)

	// Another student has every attempt left.
	rec = do(t, b.api, call{method: "GET", path: "/api/v1/users/me/open-exams", as: otherStudent(t, b)})
	require.Len(t, decode[attempt.OpenExamList](t, rec).Exams, 4)
	requireError(t, do(t, b.api, call{method: "GET", path: "/api/v1/users/me/open-exams"}), http.StatusUnauthorized, oes.EUNAUTHORIZED, "")
}
