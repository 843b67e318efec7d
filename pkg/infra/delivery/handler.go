// Package delivery runs email jobs: Handler is the asynq handler the email worker serves the
// queue's lanes with. A job names an email of the outbox; the handler claims it in Postgres,
// sends it through a mail.Sender, and records the outcome on the email's row. It tells an
// outage (the server cannot take mail now) from a verdict on the email (a 5xx), and while the
// SMTP server or Postgres is down it stops taking jobs (Breaker) instead of failing them.
package delivery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/hibiken/asynq"

	"github.com/oeshq/oes/pkg/infra/mail"
	"github.com/oeshq/oes/pkg/infra/queue"
	"github.com/oeshq/oes/pkg/infra/store"
	"github.com/oeshq/oes/pkg/oes"
)

// Outbox is the part of the store the handler uses; *store.Store implements it.
type Outbox interface {
	ClaimEmail(ctx context.Context, id int64) (store.ClaimedEmail, error)
	FinishEmail(ctx context.Context, id int64, o store.Outcome) error
	DeferEmail(ctx context.Context, id int64, d store.Deferral) error
}

// Config says how the handler retries. The worker's environment (pkg/config/workerenv)
// produces it.
type Config struct {
	// RetryBase and RetryMax bound the exponential backoff of an email the server asked to
	// try later (a 4xx to its recipient or its data) and of a failure that counts against
	// its attempts. StartWorker takes the queue's when they are zero.
	RetryBase, RetryMax time.Duration
	// RetryWindow is how long after its send-after time an email may still be deferred by
	// outages and 4xx replies; at the first deferral past it, it fails with the last reason.
	// Zero defers without end.
	RetryWindow time.Duration
	// OutageRetry is how soon an email an outage cut short is tried again. While the outage
	// lasts the breaker holds it back anyway. Zero means 2s.
	OutageRetry time.Duration
}

func (c Config) withDefaults() Config {
	if c.RetryMax < c.RetryBase {
		c.RetryMax = c.RetryBase
	}
	if c.OutageRetry <= 0 {
		c.OutageRetry = 2 * time.Second
	}
	return c
}

// Observer is told how deliveries go, for metrics; the package itself exports none. Its
// methods are called by asynq's workers at once and must return quickly.
type Observer interface {
	// Sent follows each SMTP send with how long it took and its error, nil when the server
	// accepted the message.
	Sent(took time.Duration, err error)
	// Failed follows each failed try with the class of its failure; retry says whether the
	// email will be tried again or has failed for good.
	Failed(class mail.Class, retry bool)
	// Taken follows the claim of an email on its first try since it became due (written, its
	// scheduled time reached, or retried by an admin), with its job's lane and how long it
	// waited from its send-after time to the moment a worker took the job from the queue.
	// A later try's wait is the backoff the handler chose, so it is not reported.
	Taken(lane string, waited time.Duration)
}

// Handler delivers email jobs. It is safe for concurrent use by asynq's workers.
type Handler struct {
	outbox   Outbox
	sender   mail.Sender
	smtp, pg *Breaker
	cfg      Config
	log      *slog.Logger
	observer Observer
	now      func() time.Time
}

// Option configures a Handler.
type Option func(*Handler)

// WithObserver reports every send and failure to o.
func WithObserver(o Observer) Option { return func(h *Handler) { h.observer = o } }

// WithBreakers makes the handler wait at smtp before each send and at pg before each claim;
// without them it makes breakers of its own that open after three failures in a row and probe
// by letting the next job through.
func WithBreakers(smtp, pg *Breaker) Option {
	return func(h *Handler) { h.smtp, h.pg = smtp, pg }
}

// New returns a Handler that claims emails in outbox and sends them through sender.
func New(outbox Outbox, sender mail.Sender, cfg Config, log *slog.Logger, opts ...Option) *Handler {
	if log == nil {
		log = slog.Default()
	}
	h := &Handler{outbox: outbox, sender: sender, cfg: cfg.withDefaults(), log: log, observer: noObserver{}, now: time.Now}
	for _, o := range opts {
		o(h)
	}
	if h.smtp == nil {
		h.smtp = NewBreaker(BreakerConfig{Name: "smtp"}, log)
	}
	if h.pg == nil {
		h.pg = NewBreaker(BreakerConfig{Name: "postgres"}, log)
	}
	return h
}

type noObserver struct{}

func (noObserver) Sent(time.Duration, error)   {}
func (noObserver) Failed(mail.Class, bool)     {}
func (noObserver) Taken(string, time.Duration) {}

// waitMargin is how long before a job's deadline the handler stops waiting for a breaker, so
// that it, not asynq's timeout, says what happens to the job.
const waitMargin = 2 * time.Second

// ProcessTask delivers one job. It implements asynq.Handler:
//
//   - while Postgres or the SMTP server is down (its breaker open) it waits, holding its slot,
//     so that the worker stops taking jobs; when the job's time runs out first, the job is
//     deferred without a claim;
//   - it claims the email (sending). An email that is delivered, failed, suppressed or
//     cancelled already, or that no longer exists, is not sent: the job completes;
//   - an email to a suppressed address is suppressed, not sent;
//   - the server's acceptance is recorded as delivered, with its reply;
//   - an outage (unreachable, dropped, timed out, a refusal of the session or of the sender,
//     a 421) spends no attempt: the email waits OutageRetry, and the breaker stops further
//     sends (see mail.DeliveryError.ServerUnavailable);
//   - a 5xx to the recipient or the message fails the email at once, with the server's reply
//     as its reason, and a refused address goes on the suppression list;
//   - a 4xx to the recipient or the data spends no attempt either: the email is tried again
//     with exponential backoff;
//   - any other failure spends an attempt, and the email fails once its attempts are spent;
//   - a deferral past the RetryWindow fails the email with the last reason.
//
// Each job logs "email job <id> completed", "email job <id> deferred: <reason>" or
// "email job <id> failed (attempt n/m): <reason>".
func (h *Handler) ProcessTask(ctx context.Context, t *asynq.Task) error {
	taken := h.now()
	jobID := taskID(ctx, t)
	id, err := queue.ParseTaskID(jobID)
	if err != nil {
		return queue.Permanent("not an email job: "+err.Error(), err)
	}
	log := h.log.With("job_id", jobID)

	waitCtx, cancel := beforeDeadline(ctx)
	defer cancel()
	for _, b := range []*Breaker{h.pg, h.smtp} {
		if err := b.Wait(waitCtx); err != nil {
			reason := b.name + " unavailable; the email waits in the queue"
			log.Info(fmt.Sprintf("email job %s deferred: %s", jobID, reason))
			return queue.Defer(h.cfg.OutageRetry, reason, err)
		}
	}

	e, err := h.outbox.ClaimEmail(ctx, id)
	switch oes.ErrorCode(err) {
	case "":
		h.pg.Success()
		if lane := laneOf(ctx); lane != "" && e.Attempts == 0 && e.Deferrals == 0 {
			// Postgres's clock set SendAfter: a skew between it and this host is the error.
			h.observer.Taken(lane, taken.Sub(e.SendAfter))
		}
	case oes.ENOTFOUND:
		log.Warn(fmt.Sprintf("email job %s: no such email in the outbox; nothing sent", jobID))
		return nil
	case oes.ECONFLICT:
		log.Info(fmt.Sprintf("email job %s: %s; not sent", jobID, oes.ErrorMessage(err)))
		return nil
	case oes.EUNAVAILABLE:
		h.pg.Failure(err)
		log.Warn(fmt.Sprintf("email job %s deferred: postgres unavailable", jobID), "err", err)
		return queue.Defer(h.cfg.OutageRetry, "postgres unavailable", err)
	default:
		log.Error(fmt.Sprintf("email job %s: could not claim the email", jobID), "err", err)
		return err
	}
	log = log.With("attempt", e.Attempts+1, "attempts", e.MaxAttempts)

	if e.Suppressed {
		reason := "not sent: the address is on the suppression list"
		if err := h.record(ctx, log, id, false, func(ctx context.Context) error {
			return h.outbox.FinishEmail(ctx, id, store.Outcome{State: oes.EmailSuppressed, Reason: reason})
		}); err != nil {
			return err
		}
		log.Info(fmt.Sprintf("email job %s suppressed: %s", jobID, reason))
		return nil
	}

	start := h.now()
	reply, err := h.sender.Send(ctx, e.Message)
	h.observer.Sent(h.now().Sub(start), err)
	if err != nil {
		return h.failed(ctx, log, jobID, e, err)
	}
	h.smtp.Success()
	// The message is out: until the row says so, a rerun would send it again, so the record is
	// insisted on for as long as the job may run.
	if err := h.record(ctx, log, id, true, func(ctx context.Context) error {
		return h.outbox.FinishEmail(ctx, id, store.Outcome{State: oes.EmailDelivered, AttemptsSpent: 1, SMTPReply: reply})
	}); err != nil {
		log.Error(fmt.Sprintf("email job %s delivered but not recorded as delivered; a rerun may send it again", jobID), "err", err)
		return err
	}
	log.Info(fmt.Sprintf("email job %s completed", jobID), "smtp_reply", reply)
	return nil
}

// failed decides what a failed send means for e.
func (h *Handler) failed(ctx context.Context, log *slog.Logger, jobID string, e store.ClaimedEmail, err error) error {
	reason, reply := reasonOf(err), replyOf(err)
	var d *mail.DeliveryError
	isDelivery := errors.As(err, &d)
	switch {
	case ctx.Err() != nil:
		// The job's time ran out or the worker is stopping: nothing is known of the server.
		return h.deferEmail(ctx, log, jobID, e, err, true, 0, h.cfg.OutageRetry)
	case isDelivery && d.ServerUnavailable():
		h.smtp.Failure(err)
		return h.deferEmail(ctx, log, jobID, e, err, true, 0, h.cfg.OutageRetry)
	case isDelivery && d.Class == mail.ClassPermanent:
		suppress := d.RecipientRefused()
		return h.fail(ctx, log, jobID, e, err, store.Outcome{
			State: oes.EmailFailed, AttemptsSpent: 1, Reason: reason, SMTPReply: reply, Suppress: suppress,
		})
	case isDelivery:
		// The server works but asks to try this email later (greylisting, a full mailbox).
		return h.deferEmail(ctx, log, jobID, e, err, true, 0, queue.Backoff(h.cfg.RetryBase, h.cfg.RetryMax, e.Deferrals))
	case e.Attempts+1 >= e.MaxAttempts:
		return h.fail(ctx, log, jobID, e, err, store.Outcome{State: oes.EmailFailed, AttemptsSpent: 1, Reason: reason, SMTPReply: reply})
	default:
		return h.deferEmail(ctx, log, jobID, e, err, false, 1, queue.Backoff(h.cfg.RetryBase, h.cfg.RetryMax, e.Attempts))
	}
}

// deferEmail puts e back on the queue for a try after delay, or fails it when an outage has
// held it back longer than the RetryWindow.
func (h *Handler) deferEmail(ctx context.Context, log *slog.Logger, jobID string, e store.ClaimedEmail, cause error,
	outage bool, spent int, delay time.Duration) error {
	reason, reply := reasonOf(cause), replyOf(cause)
	if outage && h.cfg.RetryWindow > 0 && h.now().Sub(e.SendAfter) > h.cfg.RetryWindow {
		return h.fail(ctx, log, jobID, e, cause, store.Outcome{
			State:  oes.EmailFailed,
			Reason: fmt.Sprintf("undeliverable for over %s: %s", h.cfg.RetryWindow, reason), SMTPReply: reply,
		})
	}
	if err := h.record(ctx, log, e.ID, false, func(ctx context.Context) error {
		return h.outbox.DeferEmail(ctx, e.ID, store.Deferral{
			Next: h.now().Add(delay), AttemptsSpent: spent, Deferred: outage, Reason: reason, SMTPReply: reply,
		})
	}); err != nil {
		return err
	}
	h.observer.Failed(mail.ClassOf(cause), true)
	log.Warn(fmt.Sprintf("email job %s deferred: %s", jobID, reason), "retry_in", delay.String())
	return queue.Defer(delay, reason, cause)
}

// fail records e as failed (or its outcome o) and fails the job for good.
func (h *Handler) fail(ctx context.Context, log *slog.Logger, jobID string, e store.ClaimedEmail, cause error, o store.Outcome) error {
	if err := h.record(ctx, log, e.ID, false, func(ctx context.Context) error {
		return h.outbox.FinishEmail(ctx, e.ID, o)
	}); err != nil {
		return err
	}
	class := mail.ClassOf(cause)
	h.observer.Failed(class, false)
	attrs := []any{"class", class}
	if o.Suppress {
		attrs = append(attrs, "suppressed", e.Message.To[0])
	}
	log.Error(fmt.Sprintf("email job %s failed (attempt %d/%d): %s", jobID, e.Attempts+o.AttemptsSpent, e.MaxAttempts, o.Reason), attrs...)
	return queue.Permanent(o.Reason, cause)
}

// record runs write, a change of the claimed email's row. It runs even when ctx has just
// ended: the try happened. With insist, a Postgres outage is waited out, retrying, until
// shortly before the job's deadline; otherwise a failure leaves the row sending and the job is
// deferred, to be claimed again.
func (h *Handler) record(ctx context.Context, log *slog.Logger, id int64, insist bool, write func(context.Context) error) error {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = h.now().Add(time.Minute)
	}
	wait := 100 * time.Millisecond
	for {
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		err := write(wctx)
		cancel()
		switch {
		case err == nil:
			h.pg.Success()
			return nil
		case oes.ErrorCode(err) == oes.ECONFLICT:
			// Someone else moved the row (an earlier run of this job that was thought dead).
			log.Warn(fmt.Sprintf("email %d: outcome not recorded: %s", id, oes.ErrorMessage(err)))
			return nil
		case oes.ErrorCode(err) != oes.EUNAVAILABLE:
			return err
		}
		h.pg.Failure(err)
		if !insist || h.now().Add(wait+waitMargin).After(deadline) {
			return queue.Defer(h.cfg.OutageRetry, "postgres unavailable: the outcome could not be recorded", err)
		}
		time.Sleep(wait)
		wait = min(2*wait, 5*time.Second)
	}
}

// beforeDeadline is ctx ending waitMargin before its deadline.
func beforeDeadline(ctx context.Context) (context.Context, context.CancelFunc) {
	if d, ok := ctx.Deadline(); ok {
		return context.WithDeadline(ctx, d.Add(-waitMargin))
	}
	return context.WithCancel(ctx)
}

// taskID returns the id of the running job, "" when t does not come from an asynq server.
func taskID(ctx context.Context, t *asynq.Task) string {
	if id, ok := asynq.GetTaskID(ctx); ok {
		return id
	}
	if w := t.ResultWriter(); w != nil {
		return w.TaskID()
	}
	return ""
}

// laneOf returns the lane of the running job, "" when it does not come from an asynq server:
// its queue's name is "<prefix>:<lane>" (queue.Config.QueueName) and no lane holds a colon.
func laneOf(ctx context.Context) string {
	q, ok := asynq.GetQueueName(ctx)
	if !ok {
		return ""
	}
	return q[strings.LastIndexByte(q, ':')+1:]
}

// reasonOf is the reason recorded for a failed try: the server's reply with its code, such as
// "550 5.1.1 no such user", or what went wrong on the way to the server.
func reasonOf(err error) string {
	var d *mail.DeliveryError
	if !errors.As(err, &d) {
		return err.Error()
	}
	if r := replyOf(err); r != "" {
		return r
	}
	return err.Error()
}

// replyOf is the server's reply in a failure, "" when it gave none.
func replyOf(err error) string {
	var d *mail.DeliveryError
	switch {
	case !errors.As(err, &d), d.Code == 0 && d.Class == mail.ClassNetwork:
		return ""
	case d.Code != 0 && d.Reply != "":
		return strconv.Itoa(d.Code) + " " + d.Reply
	case d.Code != 0:
		return strconv.Itoa(d.Code)
	}
	return d.Reply
}

// Stop releases the jobs waiting for a breaker, for a worker that is shutting down: they are
// deferred at once instead of holding the shutdown up.
func (h *Handler) Stop() {
	h.smtp.Stop()
	h.pg.Stop()
}
