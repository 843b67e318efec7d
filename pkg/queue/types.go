package queue

import "time"

// Options say how an email job is run. The zero value means: priority 5, no delay, 3 attempts,
// a fresh id.
type Options struct {
	// Priority from 1 (bulk) to 10 (most important); 0 means DefaultPriority. See Lane for how
	// a priority maps onto asynq's queues.
	Priority int
	// Delay holds the job back for this long before it may run.
	Delay time.Duration
	// Attempts is how many times the job may run in all (first try plus retries); 0 means
	// DefaultAttempts.
	Attempts int
	// ID, when set, makes the job idempotent: enqueuing a second job with the same ID while
	// the first is kept (queued, running, or retained after completion) returns the first
	// job's id and queues nothing. Use a natural key, such as one verification email per token.
	ID string
}

// Defaults of Options.
const (
	DefaultPriority = 5
	DefaultAttempts = 3
	MaxAttempts     = 25
)

// State is where a job is in its life, named as the seed design's job states.
type State string

const (
	StateWaiting   State = "waiting"
	StateDelayed   State = "delayed"
	StateActive    State = "active"
	StateRetrying  State = "retrying"
	StateCompleted State = "completed"
	StateFailed    State = "failed"
)

// Status is what is known of one job.
type Status struct {
	ID              string     `json:"id"`
	State           State      `json:"state"`
	Queue           string     `json:"queue"`
	Priority        int        `json:"priority"`
	Progress        int        `json:"progress"` // 0-100, written by the worker while it runs
	AttemptsMade    int        `json:"attempts_made"`
	AttemptsAllowed int        `json:"attempts_allowed"`
	FailedReason    string     `json:"failed_reason,omitempty"`
	Recipients      []string   `json:"recipients"`
	Subject         string     `json:"subject"`
	NextRunAt       *time.Time `json:"next_run_at,omitempty"`
	LastFailedAt    *time.Time `json:"last_failed_at,omitempty"`
	CompletedAt     *time.Time `json:"completed_at,omitempty"`
}

// Counts are the number of jobs in each state, as the seed design's getJobCounts.
type Counts struct {
	Active    int `json:"active"`
	Completed int `json:"completed"`
	Failed    int `json:"failed"`
	Delayed   int `json:"delayed"`
	Waiting   int `json:"waiting"`
	Paused    int `json:"paused"`
	Retrying  int `json:"retrying"`
}

// Enqueued is the answer to an enqueue, shaped as the seed design's sendEmailQueued result.
type Enqueued struct {
	Queued bool   `json:"queued"`
	JobID  string `json:"jobId"`
}
