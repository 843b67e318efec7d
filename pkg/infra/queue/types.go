package queue

import "time"

// Job is what the queue carries for an email of the outbox: the row's id, which is also the
// task's id, and for people reading a dashboard its kind and priority. Never the message: the
// worker reads that from Postgres, so nothing in Redis can be used to act as a recipient.
type Job struct {
	ID       int64
	Kind     string
	Priority int
	// RunAt holds the job back until then; zero runs it at once.
	RunAt time.Time
}

// Lane returns the lane of the job's priority.
func (j Job) Lane() string { return Lane(j.Priority) }

// Counts are the number of tasks of one lane in each of asynq's states, read from Redis. They
// say how busy the queue is; what happened to each email is in the outbox.
type Counts struct {
	Active    int `json:"active"`
	Completed int `json:"completed"`
	Failed    int `json:"failed"`
	Delayed   int `json:"delayed"`
	Waiting   int `json:"waiting"`
	Paused    int `json:"paused"`
	Retrying  int `json:"retrying"`
}
