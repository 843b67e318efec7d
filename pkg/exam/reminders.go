package exam

import (
	"context"
	"time"

	"github.com/oeshq/oes/pkg/infra/mail/templates"
	"github.com/oeshq/oes/pkg/infra/store"
	"github.com/oeshq/oes/pkg/oes"
)

// Reminders are sent like announcements: bulk mail on the low lane.
const (
	ReminderPriority = AnnouncementPriority
	ReminderAttempts = AnnouncementAttempts
)

// WithReminders makes s remind the candidates of an exam of its opening, offsets before it
// (REMINDER_OFFSETS), and returns s. Without it, no reminder is written.
func (s *Service) WithReminders(offsets []time.Duration) *Service {
	s.reminders = offsets
	return s
}

// reschedule writes the reminders of exam e again: its unsent ones are cancelled, and, while it
// is published with an opening time to come, each candidate gets one per offset whose time has
// not passed, held back in the outbox until then. It is idempotent.
func (s *Service) reschedule(ctx context.Context, e oes.Exam) error {
	var r *store.Reminders
	if e.Published && e.OpensAt != nil && len(s.reminders) > 0 {
		m, err := templates.ReminderEmail(placeholderRecipient, templates.Reminder{
			ExamTitle: e.Title, OpensAt: *e.OpensAt, ClosesAt: e.ClosesAt, DurationMinutes: e.DurationMinutes,
			MaxAttempts: e.MaxAttempts,
		})
		if err != nil {
			return err
		}
		r = &store.Reminders{Email: store.NewEmail{
			Kind: oes.EmailReminder, Message: m, Priority: ReminderPriority, MaxAttempts: ReminderAttempts,
		}}
		for _, off := range s.reminders {
			r.At = append(r.At, e.OpensAt.Add(-off))
		}
	}
	_, _, err := s.store.ScheduleReminders(ctx, e.ID, r)
	return err
}
