package queue

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"time"

	"github.com/hibiken/asynq"

	"github.com/oeshq/oes/pkg/oes"
)

// MaxPageSize bounds the size of a page of Failed and Active; page*size may not exceed
// MaxListDepth, as every page is read from the start of each lane.
const (
	MaxPageSize  = 100
	MaxListDepth = 10000
)

var errNoSuchJob = errors.New("no such email job")

// Status returns what is known of the job with the given id, in whichever lane it is.
//
// State maps asynq's task states: pending is waiting, scheduled is delayed, active is active,
// retry is retrying, completed is completed and archived is failed.
//
// AttemptsMade counts the attempts that have started: asynq's retry counter, which grows by one
// each time a failed attempt is scheduled for a retry, plus one while an attempt runs and once
// the job has completed or failed (the attempt that ended it is not counted by asynq). So a job
// is at 0 while it first waits, 1 while its first attempt runs, 1 while it waits for its first
// retry, and AttemptsAllowed once it fails for good. Two attempts go uncounted, as asynq does
// not count them: one cut short by a worker's shutdown (the job goes back to waiting), and the
// extra attempt Retry gives a failed job. An attempt lost with a worker that died counts once
// asynq recovers the job, up to two minutes later.
//
// Progress is the last progress the worker wrote for the latest attempt (see WriteProgress), 0
// before it first runs, and 100 once the job has completed. FailedReason is the error of the
// latest attempt of a retrying or failed job.
//
// An unknown id is an oes ENOTFOUND; a completed job is forgotten after Config.Retention.
func (c *Client) Status(ctx context.Context, id string) (Status, error) {
	info, err := c.find(ctx, id)
	if err != nil {
		return Status{}, err
	}
	return toStatus(info), nil
}

// find looks the job up in each lane.
func (c *Client) find(ctx context.Context, id string) (*asynq.TaskInfo, error) {
	if !idPattern.MatchString(id) {
		return nil, notFound(id)
	}
	info, err := inspect(ctx, func() (*asynq.TaskInfo, error) {
		for _, q := range c.cfg.QueueNames() {
			info, err := c.insp.GetTaskInfo(q, id)
			switch {
			case err == nil:
				return info, nil
			case errors.Is(err, asynq.ErrTaskNotFound), errors.Is(err, asynq.ErrQueueNotFound):
			default:
				return nil, err
			}
		}
		return nil, errNoSuchJob
	})
	switch {
	case errors.Is(err, errNoSuchJob):
		return nil, notFound(id)
	case err != nil:
		return nil, c.failure(ctx, err)
	}
	return info, nil
}

func notFound(id string) error {
	return oes.Errorf(oes.ENOTFOUND, "email job %s not found", id)
}

func toStatus(info *asynq.TaskInfo) Status {
	// An undecodable payload still has a state worth reporting: it is failed, with the reason.
	p, _ := decodePayload(info.Type, info.Payload)
	s := Status{
		ID:              info.ID,
		State:           stateOf(info.State),
		Queue:           info.Queue,
		Priority:        p.Priority,
		Progress:        readProgress(info.Result),
		AttemptsMade:    info.Retried,
		AttemptsAllowed: info.MaxRetry + 1,
		Recipients:      p.To,
		Subject:         p.Subject,
		LastFailedAt:    timeOrNil(info.LastFailedAt),
		CompletedAt:     timeOrNil(info.CompletedAt),
	}
	switch s.State {
	case StateActive, StateFailed:
		s.AttemptsMade++
	case StateCompleted:
		s.AttemptsMade++
		s.Progress = 100
	}
	switch s.State {
	case StateRetrying, StateFailed:
		s.FailedReason = info.LastErr
	}
	switch s.State {
	case StateRetrying, StateDelayed:
		s.NextRunAt = timeOrNil(info.NextProcessAt)
	}
	return s
}

func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func stateOf(s asynq.TaskState) State {
	switch s {
	case asynq.TaskStateScheduled:
		return StateDelayed
	case asynq.TaskStateActive:
		return StateActive
	case asynq.TaskStateRetry:
		return StateRetrying
	case asynq.TaskStateCompleted:
		return StateCompleted
	case asynq.TaskStateArchived:
		return StateFailed
	default: // pending, and aggregating, which email jobs never use
		return StateWaiting
	}
}

// Counts returns the number of jobs in each state, over the three lanes. The waiting jobs of a
// paused lane count as Paused, not Waiting. Completed counts the jobs still retained.
func (c *Client) Counts(ctx context.Context) (Counts, error) {
	byLane, err := c.LaneCounts(ctx)
	if err != nil {
		return Counts{}, err
	}
	var n Counts
	for _, l := range byLane {
		n.Active += l.Active
		n.Completed += l.Completed
		n.Failed += l.Failed
		n.Delayed += l.Delayed
		n.Retrying += l.Retrying
		n.Paused += l.Paused
		n.Waiting += l.Waiting
	}
	return n, nil
}

// LaneCounts is Counts lane by lane, keyed by LaneCritical, LaneDefault and LaneLow; a lane
// that never held a job has every count zero.
func (c *Client) LaneCounts(ctx context.Context) (map[string]Counts, error) {
	infos, err := inspect(ctx, func() ([]*asynq.QueueInfo, error) {
		// GetQueueInfo's error for a queue that does not exist (yet) cannot be told from
		// others, so only the lanes asynq knows of are asked.
		known, err := c.insp.Queues()
		if err != nil {
			return nil, err
		}
		var infos []*asynq.QueueInfo
		for _, q := range c.cfg.QueueNames() {
			if !slices.Contains(known, q) {
				continue
			}
			info, err := c.insp.GetQueueInfo(q)
			if err != nil {
				return nil, err
			}
			infos = append(infos, info)
		}
		return infos, nil
	})
	if err != nil {
		return nil, c.failure(ctx, err)
	}
	out := make(map[string]Counts, len(lanes))
	for _, l := range lanes {
		out[l] = Counts{}
	}
	for _, q := range infos {
		n := Counts{
			Active:    q.Active,
			Completed: q.Completed,
			Failed:    q.Archived,
			Delayed:   q.Scheduled,
			Retrying:  q.Retry,
		}
		if q.Paused {
			n.Paused = q.Pending + q.Aggregating
		} else {
			n.Waiting = q.Pending + q.Aggregating
		}
		for _, l := range lanes {
			if c.cfg.QueueName(l) == q.Queue {
				out[l] = n
			}
		}
	}
	return out, nil
}

// Failed returns a page of the failed jobs, page counted from 1: oldest failure first across
// the lanes (asynq keeps its archive in that order), ties by id. Failed jobs are kept 90 days,
// 10,000 per lane at most. Page and size out of range are an oes EINVALID.
func (c *Client) Failed(ctx context.Context, page, size int) ([]Status, error) {
	infos, err := c.listLanes(ctx, page, size, c.insp.ListArchivedTasks)
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(infos, func(a, b *asynq.TaskInfo) int {
		return cmp.Or(a.LastFailedAt.Compare(b.LastFailedAt), cmp.Compare(a.ID, b.ID))
	})
	return window(infos, page, size), nil
}

// Active returns a page of the jobs being delivered now, page counted from 1: critical lane
// first, then default, then low, and within a lane the job taken first comes first.
func (c *Client) Active(ctx context.Context, page, size int) ([]Status, error) {
	infos, err := c.listLanes(ctx, page, size, c.insp.ListActiveTasks)
	if err != nil {
		return nil, err
	}
	return window(infos, page, size), nil
}

// listLanes reads the first page*size jobs of each lane, which hold the first page*size jobs
// of any merge of the lanes.
func (c *Client) listLanes(ctx context.Context, page, size int, list func(string, ...asynq.ListOption) ([]*asynq.TaskInfo, error)) ([]*asynq.TaskInfo, error) {
	var fs []oes.FieldError
	if page < 1 {
		fs = append(fs, oes.FieldError{Field: "page", Message: "must be 1 or more"})
	}
	if size < 1 || size > MaxPageSize {
		fs = append(fs, oes.FieldError{Field: "size", Message: "must be from 1 to 100"})
	}
	if fs == nil && page*size > MaxListDepth {
		fs = append(fs, oes.FieldError{Field: "page", Message: "reaches past the first 10000 jobs"})
	}
	if fs != nil {
		return nil, oes.Invalid(fs...)
	}
	infos, err := inspect(ctx, func() ([]*asynq.TaskInfo, error) {
		var all []*asynq.TaskInfo
		for _, q := range c.cfg.QueueNames() {
			infos, err := list(q, asynq.PageSize(page*size), asynq.Page(1))
			switch {
			case errors.Is(err, asynq.ErrQueueNotFound):
			case err != nil:
				return nil, err
			}
			all = append(all, infos...)
		}
		return all, nil
	})
	if err != nil {
		return nil, c.failure(ctx, err)
	}
	return infos, nil
}

func window(infos []*asynq.TaskInfo, page, size int) []Status {
	from := min((page-1)*size, len(infos))
	to := min(from+size, len(infos))
	out := make([]Status, 0, to-from)
	for _, info := range infos[from:to] {
		out = append(out, toStatus(info))
	}
	return out
}

// Retry runs a failed or retrying job again now. A retrying job runs its next attempt without
// waiting out its backoff. A failed job gets one more attempt: asynq keeps its retry count, so
// if that attempt fails too, the job is failed again at once, with the new reason.
//
// An unknown id is an oes ENOTFOUND; a job in any other state is an oes ECONFLICT.
func (c *Client) Retry(ctx context.Context, id string) error {
	info, err := c.find(ctx, id)
	if err != nil {
		return err
	}
	if err := retryable(info); err != nil {
		return err
	}
	_, err = inspect(ctx, func() (struct{}, error) {
		return struct{}{}, c.insp.RunTask(info.Queue, id)
	})
	switch {
	case err == nil:
		return nil
	case errors.Is(err, asynq.ErrTaskNotFound):
		return notFound(id)
	case isConnError(err):
		return unavailable(err)
	}
	// The job moved on since it was looked up (it is running or queued again): say so.
	if now, findErr := c.find(ctx, id); findErr != nil {
		return findErr
	} else if err := retryable(now); err != nil {
		return err
	}
	return c.failure(ctx, err)
}

func retryable(info *asynq.TaskInfo) error {
	switch info.State {
	case asynq.TaskStateArchived, asynq.TaskStateRetry:
		return nil
	}
	return oes.Errorf(oes.ECONFLICT, "email job %s is %s; only a failed or retrying job can be retried", info.ID, stateOf(info.State))
}
