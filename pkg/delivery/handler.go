// Package delivery runs email jobs: Handler is the asynq handler the email worker serves the
// queue's lanes with. It sends each job's message through a mail.Sender, reports progress to
// the job's status, and sorts failures into retried and final ones.
package delivery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/oeshq/oes/pkg/mail"
	"github.com/oeshq/oes/pkg/queue"
)

// Handler delivers email jobs. It is safe for concurrent use by asynq's workers.
type Handler struct {
	sender    mail.Sender
	delivered *Record
	log       *slog.Logger
	observer  Observer
}

// Observer is told how deliveries go, for metrics; the package itself exports none. Its
// methods are called by asynq's workers at once and must return quickly.
type Observer interface {
	// Sent follows each SMTP send with how long it took and its error, nil when the server
	// accepted the message.
	Sent(took time.Duration, err error)
	// Failed follows each failed attempt with the class of its failure; retry says whether
	// the job will be tried again or has failed for good.
	Failed(class mail.Class, retry bool)
}

// Option configures a Handler.
type Option func(*Handler)

// WithObserver reports every send and failure to o.
func WithObserver(o Observer) Option {
	return func(h *Handler) { h.observer = o }
}

// New returns a Handler sending through sender. rdb is the queue's Redis (queue.OpenRedis), in
// which the handler records the jobs it delivered under cfg's prefix for cfg.DeliveredTTL.
func New(sender mail.Sender, rdb redis.UniversalClient, cfg queue.Config, log *slog.Logger, opts ...Option) *Handler {
	if log == nil {
		log = slog.Default()
	}
	h := &Handler{sender: sender, delivered: NewRecord(rdb, cfg), log: log, observer: noObserver{}}
	for _, o := range opts {
		o(h)
	}
	return h
}

type noObserver struct{}

func (noObserver) Sent(time.Duration, error) {}
func (noObserver) Failed(mail.Class, bool)   {}

// ProcessTask delivers one job. It implements asynq.Handler:
//
//   - a payload that cannot be decoded fails the job at once (asynq.SkipRetry);
//   - a job recorded as delivered completes without sending: it is a rerun of a job whose
//     message was accepted but whose success asynq did not record (the worker died between
//     the two);
//   - a permanent SMTP refusal (5xx) fails the job at once, with the server's reply, such as
//     "550 5.1.1 no such user", as its failed reason;
//   - a temporary refusal (4xx) or a network failure is returned for asynq to retry after the
//     backoff, until the job's attempts run out;
//   - success is recorded before ProcessTask returns nil, so that a rerun finds it.
//
// Each job logs "email job <id> completed" or "email job <id> failed (attempt n/m): <reason>".
func (h *Handler) ProcessTask(ctx context.Context, t *asynq.Task) error {
	id := jobID(ctx, t)
	retried, _ := asynq.GetRetryCount(ctx)
	maxRetry, _ := asynq.GetMaxRetry(ctx)
	attempt, attempts := retried+1, maxRetry+1
	log := h.log.With("job_id", id, "attempt", attempt, "attempts", attempts)

	fail := func(err error) error {
		final := attempt >= attempts || errors.Is(err, asynq.SkipRetry)
		class := mail.ClassOf(err)
		if errors.Is(err, asynq.SkipRetry) {
			class = mail.ClassPermanent // such as a payload that cannot be decoded
		}
		h.observer.Failed(class, !final)
		level := slog.LevelWarn
		if final {
			level = slog.LevelError // final: nobody will try again
		}
		var attrs []any
		if d := (*mail.DeliveryError)(nil); errors.As(err, &d) {
			attrs = append(attrs, "class", d.Class, "code", d.Code)
		}
		log.Log(ctx, level, fmt.Sprintf("email job %s failed (attempt %d/%d): %s", id, attempt, attempts, err), attrs...)
		return err
	}

	msg, err := queue.DecodeTask(t)
	if err != nil {
		return fail(err)
	}
	if id != "" {
		done, err := h.delivered.Has(ctx, id)
		if err != nil {
			return fail(&jobError{reason: "could not read the delivered record: the queue's Redis is unavailable", errs: []error{err}})
		}
		if done {
			_ = queue.WriteProgress(t, mail.ProgressAccepted)
			log.Info(fmt.Sprintf("email job %s was delivered before; not sending it again", id))
			log.Info(fmt.Sprintf("email job %s completed", id))
			return nil
		}
	}

	progress := newProgressReporter(t, progressInterval, log)
	start := time.Now()
	err = h.sender.Send(ctx, msg, progress.report)
	h.observer.Sent(time.Since(start), err)
	progress.stop()
	if err != nil {
		errs := []error{err}
		if mail.IsPermanent(err) {
			errs = append(errs, asynq.SkipRetry)
		}
		return fail(&jobError{reason: reasonOf(err), errs: errs})
	}

	if id != "" {
		// The message is out: failing the job now would only send it again. The record is
		// written even when ctx has just ended, and its loss only matters if asynq's own
		// record of the success is lost too.
		recCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		err := h.delivered.Add(recCtx, id)
		cancel()
		if err != nil {
			log.Error(fmt.Sprintf("email job %s delivered but not recorded as delivered; a rerun would send it again", id), "err", err)
		}
	}
	log.Info(fmt.Sprintf("email job %s completed", id))
	return nil
}

// jobID returns the id of the running job, "" when t does not come from an asynq server.
func jobID(ctx context.Context, t *asynq.Task) string {
	if id, ok := asynq.GetTaskID(ctx); ok {
		return id
	}
	if w := t.ResultWriter(); w != nil {
		return w.TaskID()
	}
	return ""
}

// reasonOf is the failed reason asynq keeps for a failed delivery: the server's reply with its
// code, such as "550 5.1.1 no such user", or what went wrong on the way to the server.
func reasonOf(err error) string {
	var d *mail.DeliveryError
	if !errors.As(err, &d) {
		return err.Error()
	}
	switch {
	case d.Code != 0 && d.Reply != "":
		return strconv.Itoa(d.Code) + " " + d.Reply
	case d.Code != 0:
		return strconv.Itoa(d.Code)
	case d.Reply != "":
		return d.Reply
	}
	return err.Error()
}

// jobError is a failed attempt: its text, which asynq keeps as the job's failed reason, is the
// reason alone, and it wraps the cause and, for a failure that retrying cannot fix,
// asynq.SkipRetry.
type jobError struct {
	reason string
	errs   []error
}

func (e *jobError) Error() string   { return e.reason }
func (e *jobError) Unwrap() []error { return e.errs }
