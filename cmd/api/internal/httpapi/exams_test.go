package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/oes"
)

func ptr[T any](v T) *T { return &v }

// practice gives in the policy of a practice exam: questions public, the key shown once an
// attempt is submitted, attempts aplenty. The tests of other things use it; policy_test.go
// tests the strict defaults.
func practice(in oes.ExamInput) oes.ExamInput {
	in.QuestionVisibility, in.KeyRelease, in.MaxAttempts = ptr(oes.QuestionsPublic), ptr(oes.KeyAfterSubmit), ptr(int32(100))
	return in
}

// createExam creates a practice exam.
func createExam(t testing.TB, h http.Handler, title string, published bool) oes.Exam {
	t.Helper()
	rec := do(t, h, call{method: "POST", path: "/api/v1/exams", admin: true, body: practice(oes.ExamInput{
		Title: ptr(title), Description: ptr("about " + title), DurationMinutes: ptr(int32(30)), Published: ptr(published),
	})})
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	return decode[oes.Exam](t, rec)
}

func questionBody(text string) oes.QuestionInput {
	return oes.QuestionInput{Text: ptr(text), Points: ptr(int32(2)), Options: []oes.OptionInput{
		{Text: "right", IsCorrect: true}, {Text: "wrong"}, {Text: "also wrong"},
	}}
}

func createQuestion(t testing.TB, h http.Handler, examID int64, text string) oes.Question {
	t.Helper()
	rec := do(t, h, call{method: "POST", path: fmt.Sprintf("/api/v1/exams/%d/questions", examID), admin: true, body: questionBody(text)})
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	return decode[oes.Question](t, rec)
}

type examList struct {
	Exams []oes.Exam `json:"exams"`
}

type questionList struct {
	ExamID    int64          `json:"exam_id"`
	Questions []oes.Question `json:"questions"`
}

func TestListExams(t *testing.T) {
	t.Parallel()
	b := setup(t)
	pub := createExam(t, b.api, "Algebra", true)
	createExam(t, b.api, "Draft", false)

	t.Run("list200OnlyPublished", func(t *testing.T) {
		rec := do(t, b.api, call{method: "GET", path: "/api/v1/exams"})
		require.Equal(t, http.StatusOK, rec.Code)
		require.Equal(t, "application/json; charset=utf-8", rec.Header().Get("Content-Type"))
		list := decode[examList](t, rec)
		require.Len(t, list.Exams, 1)
		require.Equal(t, pub.ID, list.Exams[0].ID)
		require.Equal(t, "Algebra", list.Exams[0].Title)
	})
}

func TestGetExam(t *testing.T) {
	t.Parallel()
	b := setup(t)
	pub := createExam(t, b.api, "Algebra", true)
	draft := createExam(t, b.api, "Draft", false)

	tests := []struct {
		name   string
		call   call
		status int
		code   string
		field  string
	}{
		{"get200Published", call{method: "GET", path: fmt.Sprintf("/api/v1/exams/%d", pub.ID)}, 200, "", ""},
		{"get200DraftForAdmin", call{method: "GET", path: fmt.Sprintf("/api/v1/exams/%d", draft.ID), admin: true}, 200, "", ""},
		{"get404Draft", call{method: "GET", path: fmt.Sprintf("/api/v1/exams/%d", draft.ID)}, 404, oes.ENOTFOUND, ""},
		{"get404Missing", call{method: "GET", path: "/api/v1/exams/987654"}, 404, oes.ENOTFOUND, ""},
		{"get400NotANumber", call{method: "GET", path: "/api/v1/exams/abc"}, 400, oes.EINVALID, "id"},
		{"get400Zero", call{method: "GET", path: "/api/v1/exams/0"}, 400, oes.EINVALID, "id"},
		{"get400Overflow", call{method: "GET", path: "/api/v1/exams/99999999999999999999"}, 400, oes.EINVALID, "id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := do(t, b.api, tt.call)
			if tt.status != 200 {
				requireError(t, rec, tt.status, tt.code, tt.field)
				return
			}
			require.Equal(t, 200, rec.Code, rec.Body.String())
			require.NotZero(t, decode[oes.Exam](t, rec).ID)
		})
	}
}

func TestExamQuestions(t *testing.T) {
	t.Parallel()
	b := setup(t)
	e := createExam(t, b.api, "Algebra", true)
	q1 := createQuestion(t, b.api, e.ID, "What is 1+1?")
	q2 := createQuestion(t, b.api, e.ID, "What is 2+2?")
	draft := createExam(t, b.api, "Draft", false)
	createQuestion(t, b.api, draft.ID, "Hidden?")

	t.Run("questions200WithoutAnswerKey", func(t *testing.T) {
		rec := do(t, b.api, call{method: "GET", path: fmt.Sprintf("/api/v1/exams/%d/questions", e.ID)})
		require.Equal(t, 200, rec.Code, rec.Body.String())
		require.NotContains(t, rec.Body.String(), "is_correct")
		list := decode[questionList](t, rec)
		require.Equal(t, []int64{q1.ID, q2.ID}, []int64{list.Questions[0].ID, list.Questions[1].ID})
		require.Len(t, list.Questions[0].Options, 3)
		require.Equal(t, "right", list.Questions[0].Options[0].Text)
	})
	t.Run("questions200AdminSeesAnswerKey", func(t *testing.T) {
		rec := do(t, b.api, call{method: "GET", path: fmt.Sprintf("/api/v1/exams/%d/questions", e.ID), admin: true})
		require.Equal(t, 200, rec.Code)
		list := decode[questionList](t, rec)
		require.NotNil(t, list.Questions[0].Options[0].IsCorrect)
		require.True(t, *list.Questions[0].Options[0].IsCorrect)
		require.False(t, *list.Questions[0].Options[1].IsCorrect)
	})
	t.Run("questions200WrongTokenSeesNoAnswerKey", func(t *testing.T) {
		rec := do(t, b.api, call{method: "GET", path: fmt.Sprintf("/api/v1/exams/%d/questions", e.ID),
			header: map[string]string{"Authorization": "Bearer guess"}})
		require.Equal(t, 200, rec.Code)
		require.NotContains(t, rec.Body.String(), "is_correct")
	})
	t.Run("questions404Draft", func(t *testing.T) {
		rec := do(t, b.api, call{method: "GET", path: fmt.Sprintf("/api/v1/exams/%d/questions", draft.ID)})
		requireError(t, rec, 404, oes.ENOTFOUND, "")
	})
	t.Run("questions404Missing", func(t *testing.T) {
		rec := do(t, b.api, call{method: "GET", path: "/api/v1/exams/424242/questions"})
		requireError(t, rec, 404, oes.ENOTFOUND, "")
	})
	t.Run("question200WithoutAnswerKey", func(t *testing.T) {
		rec := do(t, b.api, call{method: "GET", path: fmt.Sprintf("/api/v1/questions/%d", q2.ID)})
		require.Equal(t, 200, rec.Code)
		require.NotContains(t, rec.Body.String(), "is_correct")
		require.Equal(t, "What is 2+2?", decode[oes.Question](t, rec).Text)
	})
	t.Run("question404OfDraftExam", func(t *testing.T) {
		qs := do(t, b.api, call{method: "GET", path: fmt.Sprintf("/api/v1/exams/%d/questions", draft.ID), admin: true})
		hidden := decode[questionList](t, qs).Questions[0]
		rec := do(t, b.api, call{method: "GET", path: fmt.Sprintf("/api/v1/questions/%d", hidden.ID)})
		requireError(t, rec, 404, oes.ENOTFOUND, "")
	})
	t.Run("question400BadID", func(t *testing.T) {
		requireError(t, do(t, b.api, call{method: "GET", path: "/api/v1/questions/-3"}), 400, oes.EINVALID, "id")
	})
}

func TestCreateExam(t *testing.T) {
	t.Parallel()
	b := setup(t)
	valid := map[string]any{"title": "Physics", "duration_minutes": 45, "published": true}

	tests := []struct {
		name   string
		call   call
		status int
		code   string
		field  string
	}{
		{"create201", call{body: valid, admin: true}, 201, "", ""},
		{"create400MissingTitle", call{body: map[string]any{"duration_minutes": 45}, admin: true}, 400, oes.EINVALID, "title"},
		{"create400BlankTitle", call{body: map[string]any{"title": "  ", "duration_minutes": 45}, admin: true}, 400, oes.EINVALID, "title"},
		{"create400Duration", call{body: map[string]any{"title": "x", "duration_minutes": 0}, admin: true}, 400, oes.EINVALID, "duration_minutes"},
		{"create400WrongType", call{body: map[string]any{"title": 12, "duration_minutes": 45}, admin: true}, 400, oes.EINVALID, "title"},
		{"create400UnknownField", call{body: map[string]any{"title": "x", "duration_minutes": 45, "durration": 1}, admin: true}, 400, oes.EINVALID, "durration"},
		{"create400NotJSON", call{body: "{title:", admin: true}, 400, oes.EINVALID, "body"},
		{"create400Empty", call{body: "", admin: true}, 400, oes.EINVALID, "body"},
		{"create400TwoObjects", call{body: `{"title":"a","duration_minutes":5}{}`, admin: true}, 400, oes.EINVALID, "body"},
		{"create413", call{body: `{"title":"` + strings.Repeat("a", 1<<20) + `"}`, admin: true}, 413, oes.ETOOLARGE, ""},
		{"create401NoToken", call{body: valid}, 401, oes.EUNAUTHORIZED, ""},
		{"create401WrongToken", call{body: valid, header: map[string]string{"Authorization": "Bearer nope"}}, 401, oes.EUNAUTHORIZED, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.call.method, tt.call.path = "POST", "/api/v1/exams"
			rec := do(t, b.api, tt.call)
			if tt.status != 201 {
				requireError(t, rec, tt.status, tt.code, tt.field)
				return
			}
			require.Equal(t, 201, rec.Code, rec.Body.String())
			e := decode[oes.Exam](t, rec)
			require.Equal(t, "Physics", e.Title)
			require.EqualValues(t, 45, e.DurationMinutes)
			require.True(t, e.Published)
			require.NotNil(t, e.CreatedBy, "the exam records the admin who wrote it")
			require.Equal(t, b.admin.ID, *e.CreatedBy)
		})
	}
}

func TestUpdateExam(t *testing.T) {
	t.Parallel()
	b := setup(t)
	e := createExam(t, b.api, "Algebra", true)
	path := fmt.Sprintf("/api/v1/exams/%d", e.ID)

	tests := []struct {
		name   string
		call   call
		status int
		code   string
		field  string
	}{
		{"update200", call{path: path, body: map[string]any{"title": "Algebra II"}, admin: true}, 200, "", ""},
		{"update400NoField", call{path: path, body: map[string]any{}, admin: true}, 400, oes.EINVALID, "body"},
		{"update400Duration", call{path: path, body: map[string]any{"duration_minutes": 100000}, admin: true}, 400, oes.EINVALID, "duration_minutes"},
		{"update404", call{path: "/api/v1/exams/777777", body: map[string]any{"title": "x"}, admin: true}, 404, oes.ENOTFOUND, ""},
		{"update401", call{path: path, body: map[string]any{"title": "x"}}, 401, oes.EUNAUTHORIZED, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.call.method = "PATCH"
			rec := do(t, b.api, tt.call)
			if tt.status != 200 {
				requireError(t, rec, tt.status, tt.code, tt.field)
				return
			}
			require.Equal(t, 200, rec.Code, rec.Body.String())
			got := decode[oes.Exam](t, rec)
			require.Equal(t, "Algebra II", got.Title)
			require.Equal(t, "about Algebra", got.Description, "fields not sent stay")
		})
	}
}

func TestDeleteExam(t *testing.T) {
	t.Parallel()
	b := setup(t)
	e := createExam(t, b.api, "Algebra", true)
	q := createQuestion(t, b.api, e.ID, "Q?")
	attempted := createExam(t, b.api, "Taken", true)
	addAttempt(t, b, attempted.ID)

	t.Run("delete204RemovesQuestions", func(t *testing.T) {
		rec := do(t, b.api, call{method: "DELETE", path: fmt.Sprintf("/api/v1/exams/%d", e.ID), admin: true})
		require.Equal(t, 204, rec.Code, rec.Body.String())
		requireError(t, do(t, b.api, call{method: "GET", path: fmt.Sprintf("/api/v1/exams/%d", e.ID)}), 404, oes.ENOTFOUND, "")
		requireError(t, do(t, b.api, call{method: "GET", path: fmt.Sprintf("/api/v1/questions/%d", q.ID)}), 404, oes.ENOTFOUND, "")
	})
	t.Run("delete404", func(t *testing.T) {
		requireError(t, do(t, b.api, call{method: "DELETE", path: "/api/v1/exams/555555", admin: true}), 404, oes.ENOTFOUND, "")
	})
	t.Run("delete409HasAttempts", func(t *testing.T) {
		rec := do(t, b.api, call{method: "DELETE", path: fmt.Sprintf("/api/v1/exams/%d", attempted.ID), admin: true})
		requireError(t, rec, 409, oes.ECONFLICT, "")
	})
	t.Run("delete401", func(t *testing.T) {
		rec := do(t, b.api, call{method: "DELETE", path: fmt.Sprintf("/api/v1/exams/%d", attempted.ID)})
		requireError(t, rec, 401, oes.EUNAUTHORIZED, "")
	})
}

// addAttempt records a student's attempt at an exam directly in Postgres: attempts arrive with
// a later part of the API.
func addAttempt(t *testing.T, b bundle, examID int64) {
	t.Helper()
	ctx := context.Background()
	var userID int64
	require.NoError(t, b.pool.QueryRow(ctx,
		`INSERT INTO users (email, name, password_hash, role) VALUES ($1, 'S', 'x', 'student') RETURNING id`,
		fmt.Sprintf("s%d@example.com", examID)).Scan(&userID))
	_, err := b.pool.Exec(ctx, `INSERT INTO attempts (exam_id, user_id) VALUES ($1, $2)`, examID, userID)
	require.NoError(t, err)
}

func TestWriteQuestions(t *testing.T) {
	t.Parallel()
	b := setup(t)
	e := createExam(t, b.api, "Algebra", true)
	q := createQuestion(t, b.api, e.ID, "First?")
	qPath := fmt.Sprintf("/api/v1/questions/%d", q.ID)
	createPath := fmt.Sprintf("/api/v1/exams/%d/questions", e.ID)

	t.Run("createQuestion201", func(t *testing.T) {
		rec := do(t, b.api, call{method: "POST", path: createPath, admin: true, body: questionBody("Second?")})
		require.Equal(t, 201, rec.Code, rec.Body.String())
		got := decode[oes.Question](t, rec)
		require.Equal(t, e.ID, got.ExamID)
		require.Len(t, got.Options, 3)
		require.True(t, *got.Options[0].IsCorrect, "the admin's answer shows the key")
	})
	t.Run("createQuestion400NoCorrectOption", func(t *testing.T) {
		in := questionBody("x")
		in.Options[0].IsCorrect = false
		requireError(t, do(t, b.api, call{method: "POST", path: createPath, admin: true, body: in}), 400, oes.EINVALID, "options")
	})
	t.Run("createQuestion400OneOption", func(t *testing.T) {
		in := questionBody("x")
		in.Options = in.Options[:1]
		requireError(t, do(t, b.api, call{method: "POST", path: createPath, admin: true, body: in}), 400, oes.EINVALID, "options")
	})
	t.Run("createQuestion400BlankOption", func(t *testing.T) {
		in := questionBody("x")
		in.Options[2].Text = ""
		requireError(t, do(t, b.api, call{method: "POST", path: createPath, admin: true, body: in}), 400, oes.EINVALID, "options[2].text")
	})
	t.Run("createQuestion404Exam", func(t *testing.T) {
		requireError(t, do(t, b.api, call{method: "POST", path: "/api/v1/exams/666666/questions", admin: true, body: questionBody("x")}), 404, oes.ENOTFOUND, "")
	})
	t.Run("createQuestion409PositionTaken", func(t *testing.T) {
		in := questionBody("x")
		in.Position = ptr(q.Position)
		requireError(t, do(t, b.api, call{method: "POST", path: createPath, admin: true, body: in}), 409, oes.ECONFLICT, "")
	})
	t.Run("createQuestion401", func(t *testing.T) {
		requireError(t, do(t, b.api, call{method: "POST", path: createPath, body: questionBody("x")}), 401, oes.EUNAUTHORIZED, "")
	})
	t.Run("updateQuestion200ReplacesOptions", func(t *testing.T) {
		rec := do(t, b.api, call{method: "PATCH", path: qPath, admin: true, body: map[string]any{
			"text": "First, edited?", "options": []map[string]any{{"text": "a"}, {"text": "b", "is_correct": true}},
		}})
		require.Equal(t, 200, rec.Code, rec.Body.String())
		got := decode[oes.Question](t, rec)
		require.Equal(t, "First, edited?", got.Text)
		require.Len(t, got.Options, 2)
		require.True(t, *got.Options[1].IsCorrect)
		require.EqualValues(t, 2, got.Points, "fields not sent stay")
	})
	t.Run("updateQuestion400Points", func(t *testing.T) {
		requireError(t, do(t, b.api, call{method: "PATCH", path: qPath, admin: true, body: map[string]any{"points": -1}}), 400, oes.EINVALID, "points")
	})
	t.Run("updateQuestion404", func(t *testing.T) {
		requireError(t, do(t, b.api, call{method: "PATCH", path: "/api/v1/questions/888888", admin: true, body: map[string]any{"text": "x"}}), 404, oes.ENOTFOUND, "")
	})
	t.Run("deleteQuestion204", func(t *testing.T) {
		other := createQuestion(t, b.api, e.ID, "Doomed?")
		rec := do(t, b.api, call{method: "DELETE", path: fmt.Sprintf("/api/v1/questions/%d", other.ID), admin: true})
		require.Equal(t, 204, rec.Code, rec.Body.String())
		requireError(t, do(t, b.api, call{method: "GET", path: fmt.Sprintf("/api/v1/questions/%d", other.ID)}), 404, oes.ENOTFOUND, "")
	})
	t.Run("deleteQuestion404", func(t *testing.T) {
		requireError(t, do(t, b.api, call{method: "DELETE", path: "/api/v1/questions/999999", admin: true}), 404, oes.ENOTFOUND, "")
	})
}
