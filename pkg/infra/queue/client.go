package queue

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/oeshq/oes/pkg/oes"
)

// Client puts outbox emails on the queue and reads the queue's lanes. It is safe for
// concurrent use. Every method returns an oes EUNAVAILABLE when Redis does not answer, with
// the cause kept for logs only.
type Client struct {
	cfg   Config
	rdb   *redis.Client
	asynq *asynq.Client
	insp  *asynq.Inspector
}

// New returns a Client of the queue cfg describes. It does not dial: a Redis that is down makes
// the calls fail, not New. The error names the faulty setting and never the password.
func New(cfg Config) (*Client, error) {
	cfg, err := cfg.normalize()
	if err != nil {
		return nil, fmt.Errorf("queue: %w", err)
	}
	rdb, err := openRedis(cfg.RedisURL)
	if err != nil {
		return nil, err
	}
	return &Client{
		cfg:   cfg,
		rdb:   rdb,
		asynq: asynq.NewClientFromRedisClient(rdb),
		insp:  asynq.NewInspectorFromRedisClient(rdb),
	}, nil
}

// Close closes the connections to Redis.
func (c *Client) Close() error { return c.rdb.Close() }

// Config returns the client's configuration, defaults filled in.
func (c *Client) Config() Config { return c.cfg }

// Ping reports whether the queue's Redis answers, for readiness probes.
func (c *Client) Ping(ctx context.Context) error {
	if err := c.rdb.Ping(ctx).Err(); err != nil {
		return unavailable(err)
	}
	return nil
}

// Enqueue makes sure job j is on the queue, under its id in its lane. It is idempotent: while
// a task with the id is waiting, delayed, retrying or running it is left as it is and Enqueue
// returns nil. A task of the id that failed for good (asynq's archive) is replaced, so that an
// email an admin retries runs again.
func (c *Client) Enqueue(ctx context.Context, j Job) error {
	task, opts, err := c.cfg.newTask(j, time.Now())
	if err != nil {
		return err
	}
	_, err = c.asynq.EnqueueContext(ctx, task, opts...)
	if !errors.Is(err, asynq.ErrTaskIDConflict) {
		if err != nil {
			return c.failure(ctx, err)
		}
		return nil
	}
	lane, id := c.cfg.QueueName(j.Lane()), TaskID(j.ID)
	info, err := inspect(ctx, func() (*asynq.TaskInfo, error) { return c.insp.GetTaskInfo(lane, id) })
	switch {
	case errors.Is(err, asynq.ErrTaskNotFound):
		// Finished between the two calls: try once more.
	case err != nil:
		return c.failure(ctx, err)
	case info.State != asynq.TaskStateArchived && info.State != asynq.TaskStateCompleted:
		return nil
	default:
		if _, err := inspect(ctx, func() (struct{}, error) { return struct{}{}, c.insp.DeleteTask(lane, id) }); err != nil &&
			!errors.Is(err, asynq.ErrTaskNotFound) {
			return c.failure(ctx, err)
		}
	}
	_, err = c.asynq.EnqueueContext(ctx, task, opts...)
	if err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
		return c.failure(ctx, err)
	}
	return nil
}

// Missing returns the jobs of js that have no task in Redis in any state: the queue's Redis
// lost them (it restarted without its data, or failed over to a replica that had not seen
// them). It reads asynq's task keys directly, in one pipeline, rather than asking asynq about
// each job in turn.
func (c *Client) Missing(ctx context.Context, js []Job) ([]Job, error) {
	if len(js) == 0 {
		return nil, nil
	}
	pipe := c.rdb.Pipeline()
	cmds := make([]*redis.IntCmd, len(js))
	for i, j := range js {
		cmds[i] = pipe.Exists(ctx, taskKey(c.cfg.QueueName(j.Lane()), TaskID(j.ID)))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, c.failure(ctx, err)
	}
	var missing []Job
	for i, cmd := range cmds {
		if cmd.Val() == 0 {
			missing = append(missing, js[i])
		}
	}
	return missing, nil
}

// taskKey is where asynq keeps a task: the hash "asynq:{<queue>}:t:<id>", present in every
// state from enqueue until the task is deleted. The queue's tests hold asynq to it.
func taskKey(queue, id string) string { return "asynq:{" + queue + "}:t:" + id }

// allQueuesKey is asynq's set of known queues, which its Inspector consults before it answers
// anything about a queue.
const allQueuesKey = "asynq:queues"

// Recover makes the queue whole again after its Redis lost data: it names the lanes in asynq's
// set of queues again (an asynq client adds a lane there once per process, so after a loss the
// dashboard and the lane counts would not find a lane until some new process enqueued on it),
// and it reports whether the data was lost since the last call, by a marker key of the queue
// that a Redis that kept its data still holds. The first call in a new Redis reports a loss.
func (c *Client) Recover(ctx context.Context) (lost bool, err error) {
	names := c.cfg.QueueNames()
	members := make([]any, len(names))
	for i, q := range names {
		members[i] = q
	}
	pipe := c.rdb.Pipeline()
	pipe.SAdd(ctx, allQueuesKey, members...)
	marker := pipe.SetNX(ctx, c.cfg.markerKey(), time.Now().UTC().Format(time.RFC3339), 0)
	if _, err := pipe.Exec(ctx); err != nil {
		return false, c.failure(ctx, err)
	}
	return marker.Val(), nil
}

// failure turns an error from asynq or go-redis into an oes error. asynq flattens many Redis
// errors into text, so when err itself does not say, a ping tells whether Redis is the cause.
func (c *Client) failure(ctx context.Context, err error) error {
	if isConnError(err) {
		return unavailable(err)
	}
	pingCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	if c.rdb.Ping(pingCtx).Err() != nil {
		return unavailable(err)
	}
	return &oes.Error{Code: oes.EINTERNAL, Message: "the email queue failed", Err: err}
}

func unavailable(err error) error {
	return &oes.Error{Code: oes.EUNAVAILABLE, Message: "the email queue is unavailable", Err: err}
}

func isConnError(err error) bool {
	var netErr net.Error
	return errors.As(err, &netErr) ||
		errors.Is(err, io.EOF) ||
		errors.Is(err, redis.ErrClosed) ||
		errors.Is(err, redis.ErrPoolTimeout) ||
		errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, context.Canceled)
}

// inspect runs a call of asynq's Inspector, whose methods take no context, so that ctx still
// bounds how long the caller waits; the call itself ends within the Redis client's timeouts.
func inspect[T any](ctx context.Context, call func() (T, error)) (T, error) {
	type outcome struct {
		v   T
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		v, err := call()
		done <- outcome{v, err}
	}()
	select {
	case o := <-done:
		return o.v, o.err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}
