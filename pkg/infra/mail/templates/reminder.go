package templates

import (
	"time"

	"github.com/oeshq/oes/pkg/infra/mail"
)

// Reminder is what the reminder of an exam's opening says.
type Reminder struct {
	ExamTitle       string
	OpensAt         time.Time
	ClosesAt        *time.Time
	DurationMinutes int32
	MaxAttempts     int32
}

// ReminderEmail returns the reminder r, the same for every candidate, to the address to (which
// may be a placeholder: the outbox writes one copy per candidate and time).
func ReminderEmail(to string, r Reminder) (mail.Message, error) {
	return render(to, r.ExamTitle+" opens soon", "reminder", r)
}
