package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/attempt"
	"github.com/oeshq/oes/pkg/infra/cache"
	"github.com/oeshq/oes/pkg/oes"
)

// gradedExam is a published practice exam whose questions exercise every way of grading.
type gradedExam struct {
	oes.Exam
	single   oes.Question // 2 points, one correct option
	single2  oes.Question // 2 points, one correct option
	multi    oes.Question // 3 points, two correct options
	multi2   oes.Question // 1 point, two correct options
	maxScore int32
}

func createGradedExam(t testing.TB, b bundle, title string, minutes int32) gradedExam {
	t.Helper()
	rec := do(t, b.api, call{method: "POST", path: "/api/v1/exams", admin: true, body: practice(oes.ExamInput{
		Title: ptr(title), DurationMinutes: ptr(minutes), Published: ptr(true),
	})})
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	g := gradedExam{Exam: decode[oes.Exam](t, rec), maxScore: 2 + 2 + 3 + 1}
	g.single = createQuestion(t, b.api, g.ID, "single")
	g.single2 = createQuestion(t, b.api, g.ID, "single again")
	multi := func(text string, points int32) oes.Question {
		rec := do(t, b.api, call{method: "POST", path: fmt.Sprintf("/api/v1/exams/%d/questions", g.ID), admin: true,
			body: oes.QuestionInput{Text: ptr(text), Points: ptr(points), Options: []oes.OptionInput{
				{Text: "yes", IsCorrect: true}, {Text: "also yes", IsCorrect: true}, {Text: "no"},
			}}})
		require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
		return decode[oes.Question](t, rec)
	}
	g.multi = multi("multi", 3)
	g.multi2 = multi("multi again", 1)
	return g
}

// optionIDs returns the ids of q's options at the given positions (from 0).
func optionIDs(q oes.Question, at ...int) []int64 {
	ids := make([]int64, len(at))
	for i, n := range at {
		ids[i] = q.Options[n].ID
	}
	return ids
}

func answersBody(m map[int64][]int64) map[string]any {
	a := map[string][]int64{}
	for q, o := range m {
		a[strconv.FormatInt(q, 10)] = o
	}
	return map[string]any{"answers": a}
}

func startAttempt(t testing.TB, b bundle, examID int64, jwt string) attempt.View {
	t.Helper()
	rec := do(t, b.api, call{method: "POST", path: fmt.Sprintf("/api/v1/exams/%d/attempts", examID), as: jwt})
	require.Contains(t, []int{http.StatusCreated, http.StatusOK}, rec.Code, rec.Body.String())
	return decode[attempt.View](t, rec)
}

func attemptPath(id int64, what string) string {
	return fmt.Sprintf("/api/v1/attempts/%d/%s", id, what)
}

// backdate moves an attempt's start back by d, as if the student had started it d earlier.
func backdate(t *testing.T, b bundle, attemptID int64, d time.Duration) {
	t.Helper()
	_, err := b.pool.Exec(context.Background(),
		`UPDATE attempts SET started_at = started_at - make_interval(secs => $2) WHERE id = $1`, attemptID, d.Seconds())
	require.NoError(t, err)
}

// otherStudent creates a second student and returns their access token.
func otherStudent(t *testing.T, b bundle) string {
	t.Helper()
	return jwtFor(t, createAccount(t, b.store, "other@example.org", studentPassword, oes.RoleStudent, true))
}

func TestStartAttempt(t *testing.T) {
	t.Parallel()
	b := setup(t)
	e := createGradedExam(t, b, "Algebra", 30)
	draft := createExam(t, b.api, "Draft", false)

	var first attempt.View
	// In order: the second start finds the attempt the first opened.
	tests := []struct {
		name   string
		call   call
		status int
		code   string
	}{
		{"start201", call{method: "POST", path: fmt.Sprintf("/api/v1/exams/%d/attempts", e.ID), as: b.studentJWT}, 201, ""},
		{"start200SameOpenAttempt", call{method: "POST", path: fmt.Sprintf("/api/v1/exams/%d/attempts", e.ID), as: b.studentJWT}, 200, ""},
		{"start404Draft", call{method: "POST", path: fmt.Sprintf("/api/v1/exams/%d/attempts", draft.ID), as: b.studentJWT}, 404, oes.ENOTFOUND},
		{"start404Missing", call{method: "POST", path: "/api/v1/exams/987654/attempts", as: b.studentJWT}, 404, oes.ENOTFOUND},
		{"start401", call{method: "POST", path: fmt.Sprintf("/api/v1/exams/%d/attempts", e.ID)}, 401, oes.EUNAUTHORIZED},
		{"start401BadToken", call{method: "POST", path: fmt.Sprintf("/api/v1/exams/%d/attempts", e.ID), as: "forged"}, 401, oes.EUNAUTHORIZED},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := do(t, b.api, tt.call)
			if tt.code != "" {
				requireError(t, rec, tt.status, tt.code, "")
				return
			}
			require.Equal(t, tt.status, rec.Code, rec.Body.String())
			v := decode[attempt.View](t, rec)
			require.Equal(t, e.ID, v.ExamID)
			require.Equal(t, oes.AttemptInProgress, v.State)
			require.Equal(t, v.StartedAt.Add(30*time.Minute), v.Deadline)
			if first.ID == 0 {
				first = v
			}
			require.Equal(t, first.ID, v.ID)
		})
	}

	t.Run("start201AfterExpiredAttemptIsGraded", func(t *testing.T) {
		backdate(t, b, first.ID, time.Hour)
		v := startAttempt(t, b, e.ID, b.studentJWT)
		require.NotEqual(t, first.ID, v.ID)
		rec := do(t, b.api, call{method: "GET", path: attemptPath(first.ID, "result"), as: b.studentJWT})
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		require.Equal(t, oes.AttemptExpired, decode[attempt.Result](t, rec).State)
	})
}

func TestSaveAnswers(t *testing.T) {
	t.Parallel()
	b := setup(t)
	e := createGradedExam(t, b, "Algebra", 30)
	foreign := createGradedExam(t, b, "Geometry", 30)
	short := createGradedExam(t, b, "Quiz", 1)
	a := startAttempt(t, b, e.ID, b.studentJWT)
	submitted := startAttempt(t, b, foreign.ID, b.studentJWT)
	require.Equal(t, http.StatusOK, do(t, b.api, call{method: "POST", path: attemptPath(submitted.ID, "submit"), as: b.studentJWT}).Code)
	late := startAttempt(t, b, short.ID, b.studentJWT)
	backdate(t, b, late.ID, 2*time.Minute)
	other := otherStudent(t, b)

	put := func(id int64, as string, body any) call {
		return call{method: "PUT", path: attemptPath(id, "answers"), as: as, body: body}
	}
	valid := answersBody(map[int64][]int64{e.single.ID: optionIDs(e.single, 0), e.multi.ID: optionIDs(e.multi, 1, 0)})
	tests := []struct {
		name   string
		call   call
		status int
		code   string
		field  string
	}{
		{"answers200", put(a.ID, b.studentJWT, valid), 200, "", ""},
		{"answers400ForeignQuestion", put(a.ID, b.studentJWT, answersBody(map[int64][]int64{foreign.single.ID: optionIDs(foreign.single, 0)})),
			400, oes.EINVALID, fmt.Sprintf("answers.%d", foreign.single.ID)},
		{"answers400ForeignOption", put(a.ID, b.studentJWT, answersBody(map[int64][]int64{e.single.ID: optionIDs(e.single2, 0)})),
			400, oes.EINVALID, fmt.Sprintf("answers.%d", e.single.ID)},
		{"answers400KeyNotAnID", put(a.ID, b.studentJWT, map[string]any{"answers": map[string][]int64{"first": {1}}}), 400, oes.EINVALID, "answers.first"},
		{"answers400Missing", put(a.ID, b.studentJWT, map[string]any{}), 400, oes.EINVALID, "answers"},
		{"answers401", put(a.ID, "", valid), 401, oes.EUNAUTHORIZED, ""},
		{"answers403OtherStudent", put(a.ID, other, valid), 403, oes.EFORBIDDEN, ""},
		{"answers403Admin", put(a.ID, b.adminJWT, valid), 403, oes.EFORBIDDEN, ""},
		{"answers404Missing", put(987654, b.studentJWT, valid), 404, oes.ENOTFOUND, ""},
		{"answers409AfterSubmit", put(submitted.ID, b.studentJWT, answersBody(map[int64][]int64{foreign.single.ID: optionIDs(foreign.single, 0)})),
			409, oes.ECONFLICT, ""},
		{"answers409PastDeadline", put(late.ID, b.studentJWT, answersBody(map[int64][]int64{short.single.ID: optionIDs(short.single, 0)})),
			409, oes.ECONFLICT, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := do(t, b.api, tt.call)
			if tt.code != "" {
				requireError(t, rec, tt.status, tt.code, tt.field)
				return
			}
			require.Equal(t, tt.status, rec.Code, rec.Body.String())
			require.NotContains(t, rec.Body.String(), "is_correct")
			v := decode[attempt.View](t, rec)
			require.Equal(t, optionIDs(e.single, 0), v.Answers[e.single.ID])
			require.ElementsMatch(t, optionIDs(e.multi, 0, 1), v.Answers[e.multi.ID])
		})
	}

	t.Run("answers200ReplacesPerQuestion", func(t *testing.T) {
		rec := do(t, b.api, put(a.ID, b.studentJWT, answersBody(map[int64][]int64{e.multi.ID: optionIDs(e.multi, 2), e.single2.ID: {}})))
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		v := decode[attempt.View](t, rec)
		require.Equal(t, optionIDs(e.single, 0), v.Answers[e.single.ID], "questions not named keep their answers")
		require.Equal(t, optionIDs(e.multi, 2), v.Answers[e.multi.ID])
	})
	t.Run("pastDeadlineAttemptWasGraded", func(t *testing.T) {
		rec := do(t, b.api, call{method: "GET", path: "/api/v1/users/me/exams", as: b.studentJWT})
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		require.Contains(t, rec.Body.String(), `"state":"expired"`)
	})
}

func TestSubmitAttempt(t *testing.T) {
	t.Parallel()
	b := setup(t)
	e := createGradedExam(t, b, "Algebra", 30)
	a := startAttempt(t, b, e.ID, b.studentJWT)
	rec := do(t, b.api, call{method: "PUT", path: attemptPath(a.ID, "answers"), as: b.studentJWT, body: answersBody(map[int64][]int64{
		e.single.ID:  optionIDs(e.single, 0),    // right: 2
		e.single2.ID: optionIDs(e.single2, 1),   // wrong: 0
		e.multi.ID:   optionIDs(e.multi, 0),     // partial: 0
		e.multi2.ID:  optionIDs(e.multi2, 1, 0), // right: 1
	})})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())

	var first []byte
	t.Run("submit200Grades", func(t *testing.T) {
		rec := do(t, b.api, call{method: "POST", path: attemptPath(a.ID, "submit"), as: b.studentJWT})
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		first = rec.Body.Bytes()
		r := decode[attempt.Result](t, rec)
		require.EqualValues(t, 3, r.Score)
		require.Equal(t, e.maxScore, r.MaxScore)
		require.Equal(t, oes.AttemptSubmitted, r.State)
		correct := map[int64]bool{}
		for _, q := range r.Questions {
			correct[q.QuestionID] = q.Correct
		}
		require.Equal(t, map[int64]bool{e.single.ID: true, e.single2.ID: false, e.multi.ID: false, e.multi2.ID: true}, correct)
		require.Contains(t, rec.Body.String(), `"is_correct":true`, "the key is shown once submitted")
	})
	t.Run("submit200Idempotent", func(t *testing.T) {
		rec := do(t, b.api, call{method: "POST", path: attemptPath(a.ID, "submit"), as: b.studentJWT})
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		require.JSONEq(t, string(first), rec.Body.String())
	})
	t.Run("submit403OtherStudent", func(t *testing.T) {
		rec := do(t, b.api, call{method: "POST", path: attemptPath(a.ID, "submit"), as: otherStudent(t, b)})
		requireError(t, rec, http.StatusForbidden, oes.EFORBIDDEN, "")
	})
	t.Run("submitWroteOneResultEmail", func(t *testing.T) {
		e := onlyEmailTo(t, b, b.student.Email)
		require.Equal(t, oes.EmailResult, e.Kind)
		require.Contains(t, e.Message.Text, "has been graded")
		s := jobStatus(t, b, e.ID)
		require.Equal(t, attempt.ResultEmailPriority, s.Priority)
		require.Equal(t, 3, s.AttemptsAllowed, "EMAIL_ATTEMPTS")
		n := counts(t, b)
		require.Equal(t, 1, n.Waiting+n.Active+n.Completed+n.Retrying+n.Delayed)
	})
	t.Run("submitInvalidatesUserExams", func(t *testing.T) {
		b2 := setup(t)
		e := createGradedExam(t, b2, "Physics", 30)
		a := startAttempt(t, b2, e.ID, b2.studentJWT)
		list := func() string {
			rec := do(t, b2.api, call{method: "GET", path: "/api/v1/users/me/exams", as: b2.studentJWT})
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			return rec.Body.String()
		}
		require.Contains(t, list(), `"state":"in_progress"`)
		require.Contains(t, list(), `"state":"in_progress"`) // now cached
		require.Equal(t, http.StatusOK, do(t, b2.api, call{method: "POST", path: attemptPath(a.ID, "submit"), as: b2.studentJWT}).Code)
		got := list()
		require.Contains(t, got, `"state":"submitted"`)
		require.Contains(t, got, `"exam_title":"Physics"`)
		require.Contains(t, got, fmt.Sprintf(`"max_score":%d`, e.maxScore))
	})
}

func TestConcurrentSubmitsGradeOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	e := createGradedExam(t, b, "Algebra", 30)
	a := startAttempt(t, b, e.ID, b.studentJWT)
	require.Equal(t, http.StatusOK, do(t, b.api, call{method: "PUT", path: attemptPath(a.ID, "answers"), as: b.studentJWT,
		body: answersBody(map[int64][]int64{e.single.ID: optionIDs(e.single, 0)})}).Code)

	const n = 20
	bodies := make([]attempt.Result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			rec := do(t, b.api, call{method: "POST", path: attemptPath(a.ID, "submit"), as: b.studentJWT})
			if rec.Code == http.StatusOK {
				bodies[i] = decode[attempt.Result](t, rec)
			}
		})
	}
	wg.Wait()
	for _, r := range bodies {
		require.Equal(t, bodies[0], r, "every submit answers the one grade")
	}
	require.EqualValues(t, 2, bodies[0].Score)
	c := counts(t, b)
	require.Equal(t, 1, c.Waiting+c.Active+c.Completed+c.Retrying+c.Delayed, "one result email")
}

func TestAttemptResult(t *testing.T) {
	t.Parallel()
	b := setup(t)
	e := createGradedExam(t, b, "Algebra", 30)
	open := startAttempt(t, b, e.ID, b.studentJWT)
	other := otherStudent(t, b)
	require.Equal(t, http.StatusOK, do(t, b.api, call{method: "PUT", path: attemptPath(open.ID, "answers"), as: b.studentJWT,
		body: answersBody(map[int64][]int64{e.single.ID: optionIDs(e.single, 0)})}).Code)

	t.Run("result409BeforeSubmitWithoutKey", func(t *testing.T) {
		rec := do(t, b.api, call{method: "GET", path: attemptPath(open.ID, "result"), as: b.studentJWT})
		requireError(t, rec, http.StatusConflict, oes.ECONFLICT, "")
		require.NotContains(t, rec.Body.String(), "is_correct")
		rec = do(t, b.api, call{method: "GET", path: attemptPath(open.ID, "result"), as: other})
		requireError(t, rec, http.StatusForbidden, oes.EFORBIDDEN, "")
	})
	require.Equal(t, http.StatusOK, do(t, b.api, call{method: "POST", path: attemptPath(open.ID, "submit"), as: b.studentJWT}).Code)

	tests := []struct {
		name   string
		call   call
		status int
		code   string
	}{
		{"result200Owner", call{method: "GET", path: attemptPath(open.ID, "result"), as: b.studentJWT}, 200, ""},
		{"result200Admin", call{method: "GET", path: attemptPath(open.ID, "result"), admin: true}, 200, ""},
		{"result403OtherStudent", call{method: "GET", path: attemptPath(open.ID, "result"), as: other}, 403, oes.EFORBIDDEN},
		{"result401", call{method: "GET", path: attemptPath(open.ID, "result")}, 401, oes.EUNAUTHORIZED},
		{"result404Missing", call{method: "GET", path: attemptPath(987654, "result"), as: b.studentJWT}, 404, oes.ENOTFOUND},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := do(t, b.api, tt.call)
			if tt.code != "" {
				requireError(t, rec, tt.status, tt.code, "")
				return
			}
			require.Equal(t, tt.status, rec.Code, rec.Body.String())
			r := decode[attempt.Result](t, rec)
			require.Equal(t, open.ID, r.AttemptID)
			require.Equal(t, e.maxScore, r.MaxScore)
		})
	}

	t.Run("result200FromCache", func(t *testing.T) {
		read := func() {
			require.Equal(t, http.StatusOK, do(t, b.api, call{method: "GET", path: attemptPath(open.ID, "result"), as: b.studentJWT}).Code)
		}
		read()
		before := b.cache.Stats()[cache.KindExamResult]
		read()
		read()
		after := b.cache.Stats()[cache.KindExamResult]
		require.Greater(t, after.LocalHits, before.LocalHits)
		require.Equal(t, before.Misses, after.Misses)
	})

	t.Run("result200GradedLazilyPastDeadline", func(t *testing.T) {
		short := createGradedExam(t, b, "Quiz", 1)
		a := startAttempt(t, b, short.ID, b.studentJWT)
		require.Equal(t, http.StatusOK, do(t, b.api, call{method: "PUT", path: attemptPath(a.ID, "answers"), as: b.studentJWT,
			body: answersBody(map[int64][]int64{short.multi.ID: optionIDs(short.multi, 0, 1)})}).Code)
		backdate(t, b, a.ID, 5*time.Minute)
		rec := do(t, b.api, call{method: "GET", path: attemptPath(a.ID, "result"), as: b.studentJWT})
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		r := decode[attempt.Result](t, rec)
		require.Equal(t, oes.AttemptExpired, r.State)
		require.EqualValues(t, 3, r.Score)
		require.Equal(t, r.Deadline, r.SubmittedAt, "graded as of its deadline")
		var quiz []outboxEmail
		for _, e := range emailsTo(t, b, b.student.Email) {
			if strings.Contains(e.Message.Text, "Your attempt at Quiz has been graded: the time ran out") {
				quiz = append(quiz, e)
			}
		}
		require.Len(t, quiz, 1, "its result email is written with the grade")
	})

	t.Run("delete409AnsweredQuestionKeepsScores", func(t *testing.T) {
		rec := do(t, b.api, call{method: "DELETE", path: fmt.Sprintf("/api/v1/questions/%d", e.single.ID), admin: true})
		requireError(t, rec, http.StatusConflict, oes.ECONFLICT, "")
		rec = do(t, b.api, call{method: "PATCH", path: fmt.Sprintf("/api/v1/questions/%d", e.single.ID), admin: true, body: questionBody("changed")})
		requireError(t, rec, http.StatusConflict, oes.ECONFLICT, "")
	})
}

func TestAdminExamResults(t *testing.T) {
	t.Parallel()
	b := setup(t)
	e := createGradedExam(t, b, "Algebra", 30)
	other := otherStudent(t, b)
	for _, jwt := range []string{b.studentJWT, other} {
		a := startAttempt(t, b, e.ID, jwt)
		require.Equal(t, http.StatusOK, do(t, b.api, call{method: "POST", path: attemptPath(a.ID, "submit"), as: jwt}).Code)
	}
	startAttempt(t, b, e.ID, b.studentJWT) // in progress: not listed

	path := fmt.Sprintf("/api/v1/admin/exams/%d/results", e.ID)
	tests := []struct {
		name   string
		call   call
		status int
		code   string
		field  string
		want   int
	}{
		{"results200Page1", call{method: "GET", path: path + "?page=1&size=1", admin: true}, 200, "", "", 1},
		{"results200Page2", call{method: "GET", path: path + "?page=2&size=1", admin: true}, 200, "", "", 1},
		{"results200PastTheEnd", call{method: "GET", path: path + "?page=3&size=1", admin: true}, 200, "", "", 0},
		{"results200Default", call{method: "GET", path: path, admin: true}, 200, "", "", 2},
		{"results400Size", call{method: "GET", path: path + "?size=0", admin: true}, 400, oes.EINVALID, "size", 0},
		{"results400Page", call{method: "GET", path: path + "?page=x", admin: true}, 400, oes.EINVALID, "page", 0},
		{"results403Student", call{method: "GET", path: path, as: b.studentJWT}, 403, oes.EFORBIDDEN, "", 0},
		{"results404Missing", call{method: "GET", path: "/api/v1/admin/exams/987654/results", admin: true}, 404, oes.ENOTFOUND, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := do(t, b.api, tt.call)
			if tt.code != "" {
				requireError(t, rec, tt.status, tt.code, tt.field)
				return
			}
			require.Equal(t, tt.status, rec.Code, rec.Body.String())
			p := decode[attempt.ResultPage](t, rec)
			require.Len(t, p.Results, tt.want)
			for _, r := range p.Results {
				require.NotEmpty(t, r.Email)
				require.NotEmpty(t, r.Name)
				require.Equal(t, e.maxScore, r.MaxScore)
				require.False(t, r.SubmittedAt.IsZero())
			}
		})
	}
}
