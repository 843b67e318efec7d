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

	"github.com/oeshq/oes/pkg/mail"
	"github.com/oeshq/oes/pkg/oes"
)

// Client enqueues email jobs and reads their state. It is safe for concurrent use. Every method
// returns an oes EUNAVAILABLE when Redis does not answer, with the cause kept for logs only.
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

// Ping reports whether the queue's Redis answers, for readiness probes.
func (c *Client) Ping(ctx context.Context) error {
	if err := c.rdb.Ping(ctx).Err(); err != nil {
		return unavailable(err)
	}
	return nil
}

// Enqueue queues msg and returns the job's id at once; the worker delivers it later.
//
// It returns msg.Validate's error as is when the message cannot be sent, and an oes EINVALID
// naming the Options out of range (priority 1-10, attempts 1-25, a delay that is not negative,
// an ID of 1-100 letters, digits and . _ : -); nothing is queued then.
//
// With opts.ID set, Enqueue is idempotent: while a job with that id is kept (waiting, delayed,
// running, retrying, failed, or completed within Retention) it returns the id and queues
// nothing, whatever its lane. Later the ID is free again, but the worker does not send a
// message under an id it delivered within Config.DeliveredTTL. Two enqueues of the same ID
// racing each other with priorities of different lanes may both be queued; the worker still
// sends that id once unless both run at the same moment. Without an ID, the job gets a random
// one.
func (c *Client) Enqueue(ctx context.Context, msg mail.Message, opts Options) (string, error) {
	task, o, err := c.cfg.newTask(msg, opts, time.Now())
	if err != nil {
		return "", err
	}
	if opts.ID != "" {
		// asynq's task ids are unique within one queue only: look in the other lanes first.
		found, err := c.find(ctx, opts.ID)
		switch {
		case err == nil:
			return found.ID, nil
		case oes.ErrorCode(err) != oes.ENOTFOUND:
			return "", err
		}
	}
	info, err := c.asynq.EnqueueContext(ctx, task, o...)
	switch {
	case errors.Is(err, asynq.ErrTaskIDConflict):
		return opts.ID, nil
	case err != nil:
		return "", c.failure(ctx, err)
	}
	return info.ID, nil
}

// failure turns an error from asynq into an oes error. asynq flattens many Redis errors into
// text, so when err itself does not say, a ping tells whether Redis is the cause.
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
