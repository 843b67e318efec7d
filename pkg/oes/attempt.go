package oes

import "time"

// Attempt states as students see them.
const (
	AttemptInProgress = "in_progress" // open, and its time has not run out
	AttemptSubmitted  = "submitted"   // the student submitted it in time
	AttemptExpired    = "expired"     // its time ran out and it was graded as it stood
)

// Attempt is one student's sitting of an exam. Score and MaxScore are set, together with
// SubmittedAt, when it is graded; an attempt graded because its time ran out has SubmittedAt
// equal to its Deadline.
type Attempt struct {
	ID          int64
	ExamID      int64
	UserID      int64
	StartedAt   time.Time
	Deadline    time.Time // StartedAt plus the exam's duration
	SubmittedAt *time.Time
	Score       *int32
	MaxScore    *int32

	// Filled by the reads that join them; empty otherwise.
	ExamTitle string
	UserEmail string
	UserName  string
}

// Submitted reports whether the attempt has been graded.
func (a Attempt) Submitted() bool { return a.SubmittedAt != nil }

// Expired reports whether the attempt is open but its time has run out at now: it is to be
// graded as it stands.
func (a Attempt) Expired(now time.Time) bool { return a.SubmittedAt == nil && !now.Before(a.Deadline) }

// State returns the attempt's state at now.
func (a Attempt) State(now time.Time) string {
	switch {
	case a.SubmittedAt != nil && !a.SubmittedAt.Before(a.Deadline):
		return AttemptExpired
	case a.SubmittedAt != nil:
		return AttemptSubmitted
	case a.Expired(now):
		return AttemptExpired
	default:
		return AttemptInProgress
	}
}

// ExamResult is one graded attempt as an admin lists them.
type ExamResult struct {
	AttemptID   int64     `json:"attempt_id"`
	UserID      int64     `json:"user_id"`
	Email       string    `json:"email"`
	Name        string    `json:"name"`
	StartedAt   time.Time `json:"started_at"`
	SubmittedAt time.Time `json:"submitted_at"`
	Score       int32     `json:"score"`
	MaxScore    int32     `json:"max_score"`
}
