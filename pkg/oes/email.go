package oes

import (
	"slices"
	"time"
)

// EmailState is where an email of the outbox is in its life. The states and the moves between
// them are written down here once; the store only persists them (each update names the states
// it may start from, from EmailState.From).
//
//	pending ──relay──▶ queued ──worker──▶ sending ──▶ delivered
//	   │                 │  ▲                │ │ └──▶ failed ──retry──▶ pending
//	   │                 │  └──deferred──────┘ └───▶ suppressed ──retry──▶ pending
//	   └──────┬──────────┘
//	          ▼
//	      cancelled
//
// A worker may also claim a pending row (its task reached Redis before the relay recorded it)
// and a sending one (the worker that held it died), and the relay re-queues a queued or sending
// row whose task Redis lost.
type EmailState string

const (
	EmailPending    EmailState = "pending"    // committed; not yet on the queue
	EmailQueued     EmailState = "queued"     // on the queue, waiting for a worker or a retry
	EmailSending    EmailState = "sending"    // a worker is delivering it
	EmailDelivered  EmailState = "delivered"  // the SMTP server accepted it
	EmailFailed     EmailState = "failed"     // refused for good, or undeliverable for too long
	EmailSuppressed EmailState = "suppressed" // not sent: the address is on the suppression list
	EmailCancelled  EmailState = "cancelled"  // not sent: an admin cancelled it, or a newer email replaced it
)

// EmailStates lists every state, in the order of an email's life.
var EmailStates = []EmailState{
	EmailPending, EmailQueued, EmailSending, EmailDelivered, EmailFailed, EmailSuppressed, EmailCancelled,
}

// emailMoves are the allowed moves, by target state.
var emailMoves = map[EmailState][]EmailState{
	EmailPending:    {EmailFailed, EmailSuppressed}, // an admin's retry
	EmailQueued:     {EmailPending, EmailQueued, EmailSending},
	EmailSending:    {EmailPending, EmailQueued, EmailSending},
	EmailDelivered:  {EmailSending},
	EmailFailed:     {EmailSending},
	EmailSuppressed: {EmailSending},
	EmailCancelled:  {EmailPending, EmailQueued},
}

// From returns the states an email may move to s from.
func (s EmailState) From() []string {
	from := emailMoves[s]
	out := make([]string, len(from))
	for i, f := range from {
		out[i] = string(f)
	}
	return out
}

// CanMoveTo reports whether an email in state s may move to state to.
func (s EmailState) CanMoveTo(to EmailState) bool { return slices.Contains(emailMoves[to], s) }

// Final reports whether nothing more happens to an email in state s unless an admin acts.
func (s EmailState) Final() bool {
	switch s {
	case EmailDelivered, EmailFailed, EmailSuppressed, EmailCancelled:
		return true
	}
	return false
}

// EmailKind says why an email is sent.
type EmailKind string

const (
	EmailVerify EmailKind = "verify_email"   // the link that verifies a new account's address
	EmailReset  EmailKind = "reset_password" // the token that sets a new password
	EmailResult EmailKind = "attempt_result" // an attempt's score
	// EmailAnnouncement is what an admin writes to an exam's candidates.
	EmailAnnouncement EmailKind = "announcement"
	// EmailReminder tells a candidate that an exam opens soon.
	EmailReminder EmailKind = "exam_reminder"
	EmailGeneric  EmailKind = "message" // anything else (tools, benchmarks)
)

// Email is an email of the outbox as admins see it. Its bodies are never shown.
type Email struct {
	ID              int64      `json:"id,string"`
	Kind            EmailKind  `json:"kind"`
	State           EmailState `json:"state"`
	UserID          *int64     `json:"user_id"`
	Recipient       string     `json:"recipient"`
	Subject         string     `json:"subject"`
	Priority        int        `json:"priority"`
	Lane            string     `json:"lane"`
	AttemptsMade    int        `json:"attempts_made"`
	AttemptsAllowed int        `json:"attempts_allowed"`
	Deferrals       int        `json:"deferrals"`
	LastError       string     `json:"last_error,omitempty"`
	SMTPReply       string     `json:"smtp_reply,omitempty"`
	CreatedAt       time.Time  `json:"created_at"`
	SendAfter       time.Time  `json:"send_after"`
	QueuedAt        *time.Time `json:"queued_at"`
	NextAttemptAt   *time.Time `json:"next_attempt_at"`
	FinishedAt      *time.Time `json:"finished_at"`
}

// EmailCounts are the outbox's emails by what is happening to them, in the seed design's
// names where it had one. Unfinished, failed and suppressed emails are all counted; delivered
// and cancelled ones only over the last day.
type EmailCounts struct {
	Waiting    int `json:"waiting"`    // pending or queued, due now
	Delayed    int `json:"delayed"`    // pending or queued for a later time, not tried yet
	Retrying   int `json:"retrying"`   // deferred after a try, waiting for the next one
	Active     int `json:"active"`     // being sent
	Completed  int `json:"completed"`  // delivered in the last day
	Failed     int `json:"failed"`     // failed for good (until retried)
	Suppressed int `json:"suppressed"` // not sent to a suppressed address (until retried)
	Cancelled  int `json:"cancelled"`  // cancelled in the last day
}

// Suppression is an address no email is sent to, and why.
type Suppression struct {
	Address   string    `json:"address"`
	Reason    string    `json:"reason"`
	EmailID   *int64    `json:"email_id,string"`
	CreatedAt time.Time `json:"created_at"`
}
