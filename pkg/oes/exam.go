package oes

import (
	"encoding/json"
	"time"
)

// Exam is a set of questions a student answers within DurationMinutes, under a policy: when it
// may be taken (OpensAt, ClosesAt, either open-ended when nil), how many times (MaxAttempts),
// when a student sees the answer key (KeyRelease) and whether its questions may be read
// outside an attempt (QuestionVisibility).
type Exam struct {
	ID                 int64      `json:"id"`
	Title              string     `json:"title"`
	Description        string     `json:"description"`
	DurationMinutes    int32      `json:"duration_minutes"`
	Published          bool       `json:"published"`
	OpensAt            *time.Time `json:"opens_at"`
	ClosesAt           *time.Time `json:"closes_at"`
	MaxAttempts        int32      `json:"max_attempts"`
	KeyRelease         string     `json:"key_release"`
	QuestionVisibility string     `json:"question_visibility"`
	CreatedBy          *int64     `json:"created_by"`
	CreatedAt          time.Time  `json:"created_at"`
	UpdatedAt          time.Time  `json:"updated_at"`
}

// When a student may see the answer key of an exam in the result of an attempt.
const (
	KeyAfterClose  = "after_close"  // once the exam has closed (never while it has no closing time)
	KeyAfterSubmit = "after_submit" // as soon as the attempt is submitted: practice exams
	KeyNever       = "never"        // only admins ever see it
)

// Whether a student may read an exam's questions outside an attempt.
const (
	QuestionsDuringAttempt = "during_attempt" // only through an attempt of theirs in progress
	QuestionsPublic        = "public"         // anyone, signed in or not: practice exams
)

// Policy defaults, the strict ones.
const (
	DefaultMaxAttempts = 1
	MaxMaxAttempts     = 100
)

// KeyReleased reports whether a student may see the answer key of e in the result of a
// submitted attempt, at now.
func (e Exam) KeyReleased(now time.Time) bool {
	switch e.KeyRelease {
	case KeyAfterSubmit:
		return true
	case KeyAfterClose:
		return e.ClosesAt != nil && !now.Before(*e.ClosesAt)
	}
	return false
}

// QuestionsPublic reports whether anyone may read e's questions outside an attempt.
func (e Exam) QuestionsPublic() bool { return e.QuestionVisibility == QuestionsPublic }

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
	Title              *string      `json:"title"`
	Description        *string      `json:"description"`
	DurationMinutes    *int32       `json:"duration_minutes"`
	Published          *bool        `json:"published"`
	OpensAt            OptionalTime `json:"opens_at,omitzero"`
	ClosesAt           OptionalTime `json:"closes_at,omitzero"`
	MaxAttempts        *int32       `json:"max_attempts"`
	KeyRelease         *string      `json:"key_release"`
	QuestionVisibility *string      `json:"question_visibility"`
}

// OptionalTime is a time field of a body that may be absent (Set false), null (Set, Time nil:
// clear it) or a time in RFC 3339. A value that is neither leaves Invalid set, for the
// validation to report with the field's name.
type OptionalTime struct {
	Set     bool
	Time    *time.Time
	Invalid bool
}

// MarshalJSON writes the time, or null; an absent field is left out by omitzero.
func (o OptionalTime) MarshalJSON() ([]byte, error) { return json.Marshal(o.Time) }

// UnmarshalJSON reads null or an RFC 3339 time; it is called only when the field is present.
func (o *OptionalTime) UnmarshalJSON(b []byte) error {
	*o = OptionalTime{Set: true}
	if string(b) == "null" {
		return nil
	}
	var t time.Time
	if err := json.Unmarshal(b, &t); err != nil {
		o.Invalid = true
		return nil
	}
	o.Time = &t
	return nil
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
	// TokenVersion is written into the access tokens issued to the user; a change of role or
	// password increments it, and tokens of an older version are refused. Never shown.
	TokenVersion int64 `json:"-"`
}
