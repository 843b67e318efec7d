package oes

import "time"

// Exam is a set of questions a student answers within DurationMinutes.
type Exam struct {
	ID              int64     `json:"id"`
	Title           string    `json:"title"`
	Description     string    `json:"description"`
	DurationMinutes int32     `json:"duration_minutes"`
	Published       bool      `json:"published"`
	CreatedBy       *int64    `json:"created_by"`
	CreatedAt       time.Time `json:"created_at"`
	UpdatedAt       time.Time `json:"updated_at"`
}

// Question belongs to one exam; Position orders it within the exam.
type Question struct {
	ID        int64     `json:"id"`
	ExamID    int64     `json:"exam_id"`
	Position  int32     `json:"position"`
	Text      string    `json:"text"`
	Points    int32     `json:"points"`
	Options   []Option  `json:"options"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Option is one choice of a question. IsCorrect is nil in every view meant for a caller who
// is not an admin; see Question.Redacted.
type Option struct {
	ID        int64  `json:"id"`
	Position  int32  `json:"position"`
	Text      string `json:"text"`
	IsCorrect *bool  `json:"is_correct,omitempty"`
}

// Redacted returns a copy of q without the answer key, for callers who may not see it.
func (q Question) Redacted() Question {
	opts := make([]Option, len(q.Options))
	for i, o := range q.Options {
		o.IsCorrect = nil
		opts[i] = o
	}
	q.Options = opts
	return q
}

// ExamInput is the body of an exam create (every field but Description required) or patch
// (only the fields present change).
type ExamInput struct {
	Title           *string `json:"title"`
	Description     *string `json:"description"`
	DurationMinutes *int32  `json:"duration_minutes"`
	Published       *bool   `json:"published"`
}

// QuestionInput is the body of a question create or patch. Options, when present, replace
// the question's options as a whole.
type QuestionInput struct {
	Position *int32        `json:"position"`
	Text     *string       `json:"text"`
	Points   *int32        `json:"points"`
	Options  []OptionInput `json:"options"`
}

// OptionInput is one option as written with its question.
type OptionInput struct {
	Text      string `json:"text"`
	IsCorrect bool   `json:"is_correct"`
}

// User roles.
const (
	RoleStudent = "student"
	RoleAdmin   = "admin"
)

// User is an account. The password hash never leaves the store.
type User struct {
	ID              int64      `json:"id"`
	Email           string     `json:"email"`
	Name            string     `json:"name"`
	Role            string     `json:"role"`
	EmailVerifiedAt *time.Time `json:"email_verified_at"`
	CreatedAt       time.Time  `json:"created_at"`
	UpdatedAt       time.Time  `json:"updated_at"`
}
