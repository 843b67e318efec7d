package store

import (
	"context"
	"fmt"
	"math"
	netmail "net/mail"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/oeshq/oes/db/dbsqlc"
	"github.com/oeshq/oes/pkg/infra/mail"
	"github.com/oeshq/oes/pkg/oes"
)

// Limits of an outbox email's options, as the schema's checks know them.
const (
	MaxEmailAttempts = 25
	MinEmailPriority = 1
	MaxEmailPriority = 10
)

// NewEmail is an email to record in the outbox, in the transaction of the change that causes
// it. Its message has exactly one recipient.
type NewEmail struct {
	Kind    oes.EmailKind
	UserID  int64 // the account it concerns; 0 for none
	Message mail.Message
	// Priority from 1 (bulk) to 10 (a user is waiting for it).
	Priority int
	// MaxAttempts bounds the tries that fail for a reason other than an outage, 1 to 25.
	MaxAttempts int
	// SendAfter holds the email back until then; zero sends it at once.
	SendAfter time.Time
}

// validate reports what makes e unfit to record: an invalid message, more than one recipient,
// options out of range. The error is an oes EINVALID.
func (e NewEmail) validate() error {
	if err := e.Message.Validate(); err != nil {
		return err
	}
	var fs []oes.FieldError
	if len(e.Message.To) != 1 {
		fs = append(fs, oes.FieldError{Field: "to", Message: "an outbox email has exactly one recipient"})
	} else if a, err := netmail.ParseAddress(e.Message.To[0]); err != nil || a.Address != e.Message.To[0] {
		// The suppression list compares bare addresses.
		fs = append(fs, oes.FieldError{Field: "to[0]", Message: "must be a bare address, without a display name"})
	}
	if e.Kind == "" {
		fs = append(fs, oes.FieldError{Field: "kind", Message: "is required"})
	}
	if e.Priority < MinEmailPriority || e.Priority > MaxEmailPriority {
		fs = append(fs, oes.FieldError{Field: "priority", Message: "must be from 1 to 10"})
	}
	if e.MaxAttempts < 1 || e.MaxAttempts > MaxEmailAttempts {
		fs = append(fs, oes.FieldError{Field: "attempts", Message: fmt.Sprintf("must be from 1 to %d", MaxEmailAttempts)})
	}
	if fs != nil {
		return oes.Invalid(fs...)
	}
	return nil
}

// insertEmail records e in the transaction tx and returns its id.
func (s *Store) insertEmail(ctx context.Context, tx pgx.Tx, e NewEmail) (int64, error) {
	if err := e.validate(); err != nil {
		return 0, err
	}
	p := dbsqlc.InsertEmailParams{
		Kind:        string(e.Kind),
		Recipient:   e.Message.To[0],
		FromAddress: e.Message.From,
		ReplyTo:     e.Message.ReplyTo,
		Subject:     e.Message.Subject,
		HtmlBody:    nonEmpty(e.Message.HTML),
		TextBody:    nonEmpty(e.Message.Text),
		Priority:    int16(e.Priority),
		MaxAttempts: int16(e.MaxAttempts),
	}
	if e.UserID != 0 {
		p.UserID = &e.UserID
	}
	if !e.SendAfter.IsZero() {
		p.SendAfter = &e.SendAfter
	}
	id, err := s.q.InsertEmail(ctx, tx, p)
	return id, translate(err, "email")
}

// InsertEmail records e on its own, for emails no other change causes. It returns the email's
// id. EINVALID when e is not fit to send.
func (s *Store) InsertEmail(ctx context.Context, e NewEmail) (int64, error) {
	var id int64
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		id, err = s.insertEmail(ctx, tx, e)
		return err
	})
	return id, translate(err, "email")
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// OutboxJob is what the relay puts on the queue for an email.
type OutboxJob struct {
	ID       int64
	Kind     oes.EmailKind
	Priority int
	// RunAt is when the email may be tried next: its send-after time, or after a deferral the
	// time of its next try.
	RunAt time.Time
}

// RelayPending takes up to max pending emails, oldest first, and hands them to enqueue, which
// returns the ids it put on the queue; those become queued when the transaction commits. Rows
// another relay holds are skipped. enqueue may return an error with the ids it managed: they
// are recorded, and the error returned. It returns how many emails it took.
func (s *Store) RelayPending(ctx context.Context, max int, enqueue func([]OutboxJob) ([]int64, error)) (int, error) {
	var n int
	var enqueueErr error
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		rows, err := s.q.LockPendingEmails(ctx, tx, int32(max))
		if err != nil || len(rows) == 0 {
			return err
		}
		n = len(rows)
		jobs := make([]OutboxJob, len(rows))
		for i, r := range rows {
			jobs[i] = OutboxJob{ID: r.ID, Kind: oes.EmailKind(r.Kind), Priority: int(r.Priority), RunAt: r.SendAfter}
		}
		enqueueErr, err = s.queueLocked(ctx, tx, jobs, enqueue)
		return err
	})
	if err != nil {
		return n, translate(err, "outbox")
	}
	return n, enqueueErr
}

// SweepInFlight walks the emails that should have a task on the queue, max at a time in id
// order after afterID: the queued ones that were queued before queuedBefore and the sending
// ones claimed before claimedBefore. check returns the ids it put on the queue again; those
// become queued. It returns the last id it looked at and how many rows it took: fewer than max
// means the walk is over.
func (s *Store) SweepInFlight(ctx context.Context, afterID int64, max int, queuedBefore, claimedBefore time.Time,
	check func([]OutboxJob) ([]int64, error)) (lastID int64, n int, err error) {
	var checkErr error
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		rows, err := s.q.LockInFlightEmails(ctx, tx, dbsqlc.LockInFlightEmailsParams{
			AfterID: afterID, QueuedBefore: queuedBefore, ClaimedBefore: claimedBefore, MaxRows: int32(max),
		})
		if err != nil || len(rows) == 0 {
			return err
		}
		n, lastID = len(rows), rows[len(rows)-1].ID
		jobs := make([]OutboxJob, len(rows))
		for i, r := range rows {
			runAt := r.SendAfter
			if r.NextAttemptAt != nil {
				runAt = *r.NextAttemptAt
			}
			jobs[i] = OutboxJob{ID: r.ID, Kind: oes.EmailKind(r.Kind), Priority: int(r.Priority), RunAt: runAt}
		}
		checkErr, err = s.queueLocked(ctx, tx, jobs, check)
		return err
	})
	if err != nil {
		return lastID, n, translate(err, "outbox")
	}
	return lastID, n, checkErr
}

// queueLocked hands jobs, whose rows tx holds, to put, and marks queued in tx the ids put
// returns. put's own error comes back apart: the ids it managed are recorded all the same.
func (s *Store) queueLocked(ctx context.Context, tx pgx.Tx, jobs []OutboxJob, put func([]OutboxJob) ([]int64, error)) (putErr, err error) {
	ids, putErr := put(jobs)
	if len(ids) == 0 {
		return putErr, nil
	}
	return putErr, s.q.MarkEmailsQueued(ctx, tx, dbsqlc.MarkEmailsQueuedParams{Ids: ids, FromStates: oes.EmailQueued.From()})
}

// ClaimedEmail is an email a worker is about to send.
type ClaimedEmail struct {
	ID          int64
	Kind        oes.EmailKind
	Message     mail.Message
	MaxAttempts int
	Attempts    int // spent before this try
	Deferrals   int
	SendAfter   time.Time
	// Suppressed says the recipient is on the suppression list: the email is not to be sent.
	Suppressed bool
}

// ClaimEmail marks email id as being sent and returns it. ENOTFOUND when there is no such
// email; ECONFLICT when it is in a state it cannot be sent from (delivered, failed,
// suppressed or cancelled), named in the message.
func (s *Store) ClaimEmail(ctx context.Context, id int64) (ClaimedEmail, error) {
	r := s.recordAndClaim(ctx, s.pool, []deliveryOp{{claim: true, id: id}})[0]
	return r.e, r.err
}

// Outcome is how a try of an email ended for good.
type Outcome struct {
	State         oes.EmailState // delivered, failed or suppressed
	AttemptsSpent int            // 1 when the try was a verdict on the email, 0 otherwise
	Reason        string         // why it failed or was not sent
	SMTPReply     string         // the server's reply, when it gave one
	// Suppress puts the recipient on the suppression list, with Reason.
	Suppress bool
}

// FinishEmail records the outcome of the try of email id that a worker claimed. ENOTFOUND;
// ECONFLICT when the email is no longer being sent (someone else recorded an outcome first).
func (s *Store) FinishEmail(ctx context.Context, id int64, o Outcome) error {
	op := []deliveryOp{{id: id, o: o}}
	if !o.Suppress {
		// The common case, a delivery, is one statement: one round trip and one commit.
		return s.recordAndClaim(ctx, s.pool, op)[0].err
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if err := s.recordAndClaim(ctx, tx, op)[0].err; err != nil {
			return err
		}
		addr, err := s.q.GetEmail(ctx, tx, id)
		if err != nil {
			return err
		}
		return s.q.SuppressAddress(ctx, tx, dbsqlc.SuppressAddressParams{Address: addr.Recipient, Reason: o.Reason, EmailID: &id})
	})
	return translate(err, emailSubject(id))
}

// Deferral is a try of an email that ended without a verdict: it is tried again at Next.
type Deferral struct {
	Next          time.Time
	AttemptsSpent int  // 1 when the failure counts against the email's attempts
	Deferred      bool // the try was cut short by an outage or a server asking to wait
	Reason        string
	SMTPReply     string
}

// DeferEmail puts email id, which a worker claimed, back on the queue until d.Next. ENOTFOUND;
// ECONFLICT when the email is no longer being sent.
func (s *Store) DeferEmail(ctx context.Context, id int64, d Deferral) error {
	deferrals := int32(0)
	if d.Deferred {
		deferrals = 1
	}
	// Of the moves to queued, only the one from sending is a deferral: the others are the
	// relay's, and a pending or queued row was not tried.
	n, err := s.q.DeferEmail(ctx, s.pool, dbsqlc.DeferEmailParams{
		AttemptsSpent: int32(d.AttemptsSpent), Deferrals: deferrals, LastError: d.Reason, SmtpReply: d.SMTPReply,
		NextAttemptAt: &d.Next, ID: id, FromStates: []string{string(oes.EmailSending)},
	})
	if err == nil && n == 0 {
		err = s.unmovable(ctx, id, oes.EmailQueued)
	}
	return translate(err, emailSubject(id))
}

// RetryEmail sends a failed or suppressed email again, with its attempts and its window of
// retries counted afresh. ENOTFOUND; ECONFLICT for an email in another state.
func (s *Store) RetryEmail(ctx context.Context, id int64) error {
	n, err := s.q.RetryEmail(ctx, s.pool, dbsqlc.RetryEmailParams{ID: id, FromStates: oes.EmailPending.From()})
	if err == nil && n == 0 {
		err = s.unmovable(ctx, id, oes.EmailPending)
	}
	return translate(err, emailSubject(id))
}

// CancelEmail stops an email that has not been sent yet, recording reason. ENOTFOUND;
// ECONFLICT for an email being sent or already finished.
func (s *Store) CancelEmail(ctx context.Context, id int64, reason string) error {
	n, err := s.q.CancelEmail(ctx, s.pool, dbsqlc.CancelEmailParams{Reason: reason, ID: id, FromStates: oes.EmailCancelled.From()})
	if err == nil && n == 0 {
		err = s.unmovable(ctx, id, oes.EmailCancelled)
	}
	return translate(err, emailSubject(id))
}

// cancelSuperseded cancels the user's unsent emails of kind in tx: a newer email replaces them.
func (s *Store) cancelSuperseded(ctx context.Context, tx pgx.Tx, userID int64, kind oes.EmailKind) error {
	_, err := s.q.CancelUserEmails(ctx, tx, dbsqlc.CancelUserEmailsParams{
		Reason: "superseded by a newer email of its kind", UserID: &userID, Kind: string(kind),
		FromStates: oes.EmailCancelled.From(),
	})
	return err
}

// unmovable explains why email id could not move to state to: ENOTFOUND, or ECONFLICT naming
// the state it is in.
func (s *Store) unmovable(ctx context.Context, id int64, to oes.EmailState) error {
	return s.unmovableIn(ctx, s.pool, id, to)
}

func (s *Store) unmovableIn(ctx context.Context, db dbsqlc.DBTX, id int64, to oes.EmailState) error {
	r, err := s.q.GetEmail(ctx, db, id)
	if err != nil {
		return translate(err, emailSubject(id))
	}
	return &oes.Error{Code: oes.ECONFLICT, Message: fmt.Sprintf("email %d is %s; it cannot become %s", id, r.State, to),
		Err: &StateError{State: oes.EmailState(r.State)}}
}

// StateError is the cause of the ECONFLICT a change of an email's state fails with: the state
// the email is in.
type StateError struct{ State oes.EmailState }

func (e *StateError) Error() string { return "email is " + string(e.State) }

// GetEmail returns email id. ENOTFOUND.
func (s *Store) GetEmail(ctx context.Context, id int64) (oes.Email, error) {
	r, err := s.q.GetEmail(ctx, s.pool, id)
	if err != nil {
		return oes.Email{}, translate(err, emailSubject(id))
	}
	return emailFromRow(r), nil
}

// ListEmailsInState returns one page (from 1) of the emails in state, those that reached it
// first first.
func (s *Store) ListEmailsInState(ctx context.Context, state oes.EmailState, page, size int) ([]oes.Email, error) {
	skip, ok := offset(page, size)
	if !ok {
		return []oes.Email{}, nil
	}
	rows, err := s.q.ListEmailsInState(ctx, s.pool, dbsqlc.ListEmailsInStateParams{State: string(state), Skip: skip, Size: int32(size)})
	if err != nil {
		return nil, translate(err, "emails")
	}
	return emailsFromRows(rows), nil
}

// ListUserEmails returns one page (from 1) of the emails about a user, newest first. ENOTFOUND
// when there is no such user.
func (s *Store) ListUserEmails(ctx context.Context, userID int64, page, size int) ([]oes.Email, error) {
	if _, err := s.q.GetUser(ctx, s.pool, userID); err != nil {
		return nil, translate(err, fmt.Sprintf("user %d", userID))
	}
	skip, ok := offset(page, size)
	if !ok {
		return []oes.Email{}, nil
	}
	rows, err := s.q.ListUserEmails(ctx, s.pool, dbsqlc.ListUserEmailsParams{UserID: &userID, Skip: skip, Size: int32(size)})
	if err != nil {
		return nil, translate(err, "emails")
	}
	return emailsFromRows(rows), nil
}

// CountEmails counts the outbox's emails by what is happening to them; delivered and cancelled
// ones only when they finished at since or later.
func (s *Store) CountEmails(ctx context.Context, since time.Time) (oes.EmailCounts, error) {
	r, err := s.q.CountEmails(ctx, s.pool, since)
	if err != nil {
		return oes.EmailCounts{}, translate(err, "emails")
	}
	return oes.EmailCounts{
		Waiting: int(r.Waiting), Delayed: int(r.Delayed), Retrying: int(r.Retrying), Active: int(r.Active),
		Completed: int(r.Completed), Failed: int(r.Failed), Suppressed: int(r.Suppressed), Cancelled: int(r.Cancelled),
	}, nil
}

// ListSuppressions returns one page (from 1) of the suppressed addresses, newest first.
func (s *Store) ListSuppressions(ctx context.Context, page, size int) ([]oes.Suppression, error) {
	skip, ok := offset(page, size)
	if !ok {
		return []oes.Suppression{}, nil
	}
	rows, err := s.q.ListSuppressions(ctx, s.pool, dbsqlc.ListSuppressionsParams{Skip: skip, Size: int32(size)})
	if err != nil {
		return nil, translate(err, "suppressions")
	}
	out := make([]oes.Suppression, len(rows))
	for i, r := range rows {
		out[i] = oes.Suppression{Address: r.Address, Reason: r.Reason, EmailID: r.EmailID, CreatedAt: r.CreatedAt}
	}
	return out, nil
}

// DeleteSuppression lets email reach address again. ENOTFOUND when it is not suppressed.
func (s *Store) DeleteSuppression(ctx context.Context, address string) error {
	n, err := s.q.DeleteSuppression(ctx, s.pool, strings.TrimSpace(address))
	if err != nil {
		return translate(err, "suppression")
	}
	if n == 0 {
		return notFound("suppression of " + address)
	}
	return nil
}

// emailsFromRows reads the rows of a list of emails, which have GetEmail's columns.
func emailsFromRows[R dbsqlc.ListEmailsInStateRow | dbsqlc.ListUserEmailsRow](rows []R) []oes.Email {
	out := make([]oes.Email, len(rows))
	for i, r := range rows {
		out[i] = emailFromRow(dbsqlc.GetEmailRow(r))
	}
	return out
}

func emailFromRow(r dbsqlc.GetEmailRow) oes.Email {
	return oes.Email{
		ID: r.ID, Kind: oes.EmailKind(r.Kind), State: oes.EmailState(r.State), UserID: r.UserID,
		Recipient: r.Recipient, Subject: r.Subject, Priority: int(r.Priority),
		AttemptsMade: int(r.Attempts), AttemptsAllowed: int(r.MaxAttempts), Deferrals: int(r.Deferrals),
		LastError: r.LastError, SMTPReply: r.SmtpReply, CreatedAt: r.CreatedAt, SendAfter: r.SendAfter,
		QueuedAt: r.QueuedAt, NextAttemptAt: r.NextAttemptAt, FinishedAt: r.FinishedAt,
	}
}

// offset returns the rows to skip before page (from 1) of size, and false when the page lies
// beyond what a query can reach.
func offset(page, size int) (int32, bool) {
	if page < 1 || size < 1 || size > math.MaxInt32 {
		return 0, false
	}
	skip := int64(page-1) * int64(size)
	if skip > math.MaxInt32 || skip/int64(size) != int64(page-1) {
		return 0, false
	}
	return int32(skip), true
}

func emailSubject(id int64) string { return fmt.Sprintf("email %d", id) }
