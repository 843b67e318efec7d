package queue

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/hibiken/asynq"

	"github.com/oeshq/oes/pkg/mail"
	"github.com/oeshq/oes/pkg/oes"
)

// TypeEmail is the asynq task type of an email job.
const TypeEmail = "email:send"

// payload is what an email job carries: the message, and the priority it was enqueued with,
// which the lane alone would not tell.
type payload struct {
	mail.Message
	Priority int `json:"priority"`
}

// idPattern keeps job ids safe inside Redis keys and URLs; 100 characters leave room for a
// prefix and a token.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,100}$`)

// normalize fills the zero fields of o and reports the fields that are out of range as an oes
// EINVALID.
func (o Options) normalize(defaultAttempts int) (Options, error) {
	if o.Priority == 0 {
		o.Priority = DefaultPriority
	}
	if o.Attempts == 0 {
		o.Attempts = defaultAttempts
	}
	var fs []oes.FieldError
	if o.Priority < 1 || o.Priority > 10 {
		fs = append(fs, oes.FieldError{Field: "priority", Message: "must be from 1 to 10"})
	}
	if o.Attempts < 1 || o.Attempts > MaxAttempts {
		fs = append(fs, oes.FieldError{Field: "attempts", Message: "must be from 1 to " + strconv.Itoa(MaxAttempts)})
	}
	if o.Delay < 0 {
		fs = append(fs, oes.FieldError{Field: "delay", Message: "must not be negative"})
	}
	if o.ID != "" && !idPattern.MatchString(o.ID) {
		fs = append(fs, oes.FieldError{Field: "id", Message: "must be 1 to 100 letters, digits, '.', '_', ':' or '-'"})
	}
	if fs != nil {
		return o, oes.Invalid(fs...)
	}
	return o, nil
}

// NewTask builds the asynq task of an email job and the options to enqueue it with: its lane,
// MaxRetry (Attempts-1), Retention, Timeout, the TaskID when opts.ID is set, and the time it may
// first run when opts.Delay is set. It returns msg.Validate's error as is, and an oes EINVALID
// naming the options out of range.
func (c Config) NewTask(msg mail.Message, opts Options) (*asynq.Task, []asynq.Option, error) {
	c, err := c.normalize()
	if err != nil {
		return nil, nil, fmt.Errorf("queue: %w", err)
	}
	return c.newTask(msg, opts, time.Now())
}

// newTask is NewTask for a normalized Config.
func (c Config) newTask(msg mail.Message, opts Options, now time.Time) (*asynq.Task, []asynq.Option, error) {
	if err := msg.Validate(); err != nil {
		return nil, nil, err
	}
	opts, err := opts.normalize(c.Attempts)
	if err != nil {
		return nil, nil, err
	}
	body, err := json.Marshal(payload{Message: msg, Priority: opts.Priority})
	if err != nil {
		return nil, nil, fmt.Errorf("queue: encode email job: %w", err)
	}
	o := []asynq.Option{
		asynq.Queue(c.QueueName(Lane(opts.Priority))),
		asynq.MaxRetry(opts.Attempts - 1),
		asynq.Retention(c.Retention),
		asynq.Timeout(c.Timeout),
	}
	if opts.ID != "" {
		o = append(o, asynq.TaskID(opts.ID))
	}
	if opts.Delay > 0 {
		o = append(o, asynq.ProcessAt(wholeSecondAfter(now.Add(opts.Delay))))
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

// DecodeTask returns the message of an email job. A task of another type, an undecodable
// payload or an invalid message can never be delivered, so the error wraps asynq.SkipRetry:
// returned from a handler, it fails the job at once.
func DecodeTask(t *asynq.Task) (mail.Message, error) {
	p, err := decodePayload(t.Type(), t.Payload())
	return p.Message, err
}

func decodePayload(typ string, body []byte) (payload, error) {
	if typ != TypeEmail {
		return payload{}, Permanent(fmt.Sprintf("task type %q is not %q", typ, TypeEmail), nil)
	}
	var p payload
	if err := json.Unmarshal(body, &p); err != nil {
		return payload{}, Permanent("undecodable email job: "+err.Error(), err)
	}
	if err := p.Validate(); err != nil {
		return payload{}, Permanent("invalid email job: "+oes.ErrorMessage(err), err)
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

// result is what a worker writes as an asynq task's result while it runs the job.
type result struct {
	Progress int `json:"progress"`
}

// WriteProgress records how far the running job t has got, 0 to 100, where Status reads it.
// It writes through the task's ResultWriter (asynq v0.26 has no way to reach it from the
// context), so t must be the task given to the handler; for any other task it does nothing.
func WriteProgress(t *asynq.Task, percent int) error {
	w := t.ResultWriter()
	if w == nil {
		return nil
	}
	body, err := json.Marshal(result{Progress: min(max(percent, 0), 100)})
	if err != nil {
		return err
	}
	_, err = w.Write(body)
	return err
}

// readProgress returns the progress a worker wrote, 0 if none or unreadable.
func readProgress(b []byte) int {
	var r result
	if len(b) == 0 || json.Unmarshal(b, &r) != nil {
		return 0
	}
	return min(max(r.Progress, 0), 100)
}
