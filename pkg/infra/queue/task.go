package queue

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/hibiken/asynq"
)

// TypeEmail is the asynq task type of an email job.
const TypeEmail = "email:send"

// payload is what an email task carries besides its id: nothing a recipient could be
// impersonated with.
type payload struct {
	Kind     string `json:"kind"`
	Priority int    `json:"priority"`
}

// asynqMaxRetry is the MaxRetry of every task. asynq fails a task on its own once its retry
// count reaches MaxRetry, and also when a worker died on its last attempt (its recoverer
// archives the task instead of running it again); the outbox keeps each email's attempts
// instead, and the handler fails an email itself. Deferrals and crashes do not count (see
// ServerConfig's IsFailure), so this is never reached.
const asynqMaxRetry = 1 << 16

// TaskID is the asynq task id of outbox row id.
func TaskID(id int64) string { return strconv.FormatInt(id, 10) }

// ParseTaskID returns the outbox row id of a task id.
func ParseTaskID(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id < 1 {
		return 0, fmt.Errorf("task id %q is not an outbox id", s)
	}
	return id, nil
}

// newTask builds the asynq task of j and the options to enqueue it with: its lane, its id,
// Timeout, and the time it may first run when j.RunAt is after now.
func (c Config) newTask(j Job, now time.Time) (*asynq.Task, []asynq.Option, error) {
	if c.Timeout == 0 {
		return nil, nil, errors.New("queue: this client has no Timeout: it can inspect the queue, not enqueue")
	}
	if j.ID < 1 {
		return nil, nil, fmt.Errorf("queue: job id %d is not an outbox id", j.ID)
	}
	if j.Priority < 1 || j.Priority > 10 {
		return nil, nil, fmt.Errorf("queue: job %d: priority %d is not from 1 to 10", j.ID, j.Priority)
	}
	body, err := json.Marshal(payload{Kind: j.Kind, Priority: j.Priority})
	if err != nil {
		return nil, nil, fmt.Errorf("queue: encode job %d: %w", j.ID, err)
	}
	o := []asynq.Option{
		asynq.TaskID(TaskID(j.ID)),
		asynq.Queue(c.QueueName(j.Lane())),
		asynq.MaxRetry(asynqMaxRetry),
		asynq.Timeout(c.Timeout),
		// A finished task is deleted at once: the outbox row keeps its outcome.
		asynq.Retention(0),
	}
	if j.RunAt.After(now) {
		o = append(o, asynq.ProcessAt(wholeSecondAfter(j.RunAt)))
	}
	return asynq.NewTask(TypeEmail, body), o, nil
}

// wholeSecondAfter rounds t up to a whole second. asynq keeps the run time of delayed and
// retrying jobs in whole seconds, truncated, and releases a job as soon as the current second
// reaches it: a time left unrounded would let the job run up to a second early.
func wholeSecondAfter(t time.Time) time.Time {
	if t.Nanosecond() == 0 {
		return t
	}
	return time.Unix(t.Unix()+1, 0)
}

// decodePayload reads a task's payload; the error says why a task cannot be an email job.
func decodePayload(typ string, body []byte) (payload, error) {
	if typ != TypeEmail {
		return payload{}, fmt.Errorf("task type %q is not %q", typ, TypeEmail)
	}
	var p payload
	if err := json.Unmarshal(body, &p); err != nil {
		return payload{}, fmt.Errorf("undecodable email job: %w", err)
	}
	return p, nil
}

// Permanent returns an error that fails a job at once, without retries: its text, which asynq
// keeps as the job's failed reason, is reason alone, and it wraps cause (which may be nil) and
// asynq.SkipRetry.
func Permanent(reason string, cause error) error {
	return &permanentError{reason: reason, cause: cause}
}

type permanentError struct {
	reason string
	cause  error
}

func (e *permanentError) Error() string { return e.reason }

func (e *permanentError) Unwrap() []error {
	if e.cause == nil {
		return []error{asynq.SkipRetry}
	}
	return []error{e.cause, asynq.SkipRetry}
}

// Defer returns an error that puts a job back on the queue to run again after d without
// counting as a failure: for an outage (the SMTP server or Postgres cannot be reached) or a
// server asking to try later, which say nothing about the email itself. Its text, which asynq
// keeps as the task's last error, is reason.
func Defer(d time.Duration, reason string, cause error) error {
	return &Deferral{After: d, reason: reason, cause: cause}
}

// Deferral is the error Defer returns.
type Deferral struct {
	After  time.Duration
	reason string
	cause  error
}

func (e *Deferral) Error() string { return e.reason }
func (e *Deferral) Unwrap() error { return e.cause }

// isFailure is asynq's IsFailure of the worker: a deferral or a worker's death (a lease that
// expired) says nothing about the email, so neither counts towards asynq's retry count.
func isFailure(err error) bool {
	var d *Deferral
	return err != nil && !errors.As(err, &d) && !errors.Is(err, asynq.ErrLeaseExpired)
}
