package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/oeshq/oes/db/dbsqlc"
)

// Reminders is the reminder the candidates of an exam receive before it opens: Email, whose
// message has no recipient yet, at each time of At (the times past are left out).
type Reminders struct {
	Email NewEmail
	At    []time.Time
}

// reasonRescheduled is why a reminder is cancelled when its exam's reminders are written again.
const reasonRescheduled = "the exam's opening time or candidates changed; its reminders were written again"

// ScheduleReminders cancels the unsent reminders of exam examID and writes r's to its
// candidates, in one transaction; nil r only cancels. It returns how many it cancelled and
// wrote. EINVALID when r's email is not fit to send.
func (s *Store) ScheduleReminders(ctx context.Context, examID int64, r *Reminders) (cancelled, written int, err error) {
	var p dbsqlc.InsertExamRemindersParams
	if r != nil {
		probe := r.Email
		probe.Message.To = []string{"candidate@example.org"}
		if err := probe.validate(); err != nil {
			return 0, 0, err
		}
		m := r.Email.Message
		p = dbsqlc.InsertExamRemindersParams{
			ExamID: examID, Subject: m.Subject, HtmlBody: nonEmpty(m.HTML), TextBody: nonEmpty(m.Text),
			Priority: int16(r.Email.Priority), MaxAttempts: int16(r.Email.MaxAttempts), SendAfters: r.At,
		}
	}
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		n, err := s.q.CancelExamReminders(ctx, tx, dbsqlc.CancelExamRemindersParams{Reason: reasonRescheduled, ExamID: &examID})
		if err != nil {
			return err
		}
		cancelled = int(n)
		if r == nil || len(r.At) == 0 {
			return nil
		}
		n, err = s.q.InsertExamReminders(ctx, tx, p)
		written = int(n)
		return err
	})
	return cancelled, written, translate(err, "reminders")
}

// CancelReminders cancels the unsent reminders of exam examID to the candidate userID.
func (s *Store) CancelReminders(ctx context.Context, examID, userID int64) (int, error) {
	n, err := s.q.CancelExamReminders(ctx, s.pool, dbsqlc.CancelExamRemindersParams{
		Reason: "no longer a candidate of the exam", ExamID: &examID, UserID: &userID,
	})
	return int(n), translate(err, "reminders")
}
