package templates

import (
	"time"

	"github.com/oeshq/oes/pkg/infra/mail"
)

// ResultSubject is the subject of the exam-result email.
const ResultSubject = "Your exam result"

// Result is what the exam-result email says.
type Result struct {
	Name        string // the student's name, as registered
	ExamTitle   string
	Score       int32
	MaxScore    int32
	SubmittedAt time.Time
	Expired     bool // graded because the time ran out rather than submitted by the student
}

// ResultEmail returns the exam-result email to the address to.
func ResultEmail(to string, r Result) (mail.Message, error) {
	return render(to, ResultSubject, "result", r)
}
