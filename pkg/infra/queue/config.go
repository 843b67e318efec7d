package queue

import (
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/oeshq/oes/pkg/infra/redisurl"
)

// Config says where the queue lives and how its jobs are run. The binaries' environment
// (pkg/config) produces it. A client needs RedisURL and QueuePrefix, and Timeout to enqueue; a
// worker (ServerConfig) needs every field but PollInterval, which has a default.
type Config struct {
	// RedisURL is the queue's Redis: redis://[user:password@]host:port/db, rediss:// for TLS,
	// or a master watched by Redis Sentinel,
	// redis-sentinel://[user:password@]host1:26379[,host2:26379...][/db]?master=<name> (the
	// password is the master's; add sentinel_password=<p> if the sentinels want one). A Redis
	// Cluster (redis-cluster://) is refused: asynq keeps every key of a queue under one hash
	// tag, so a queue lives on one node anyway, and its server bookkeeping expects one
	// keyspace. It should be a Redis that never evicts keys (maxmemory-policy noeviction): an
	// evicted key is a lost email.
	RedisURL string
	// QueuePrefix names the three asynq queues, "<prefix>:critical", "<prefix>:default" and
	// "<prefix>:low", and the queue's marker key, "<prefix>:marker" (see Client.Recover).
	// Letters, digits and . _ : - only.
	QueuePrefix string
	// Timeout bounds one attempt; a job still running after it is cancelled and tried again.
	// A client with a zero Timeout only inspects the queue: it cannot enqueue.
	Timeout time.Duration

	// Concurrency is how many jobs one worker delivers at once.
	Concurrency int
	// RetryBase is the delay before the first retry; each later retry waits twice as long as
	// the one before, up to RetryMax. See RetryDelay.
	RetryBase time.Duration
	// RetryMax caps the delay between two attempts.
	RetryMax time.Duration
	// PollInterval is how often the worker looks for due delayed and retrying jobs. asynq's
	// own default (5s) would add up to 5s to every retry delay. Zero means 1s.
	PollInterval time.Duration
	// FetchInterval is how long the worker waits, on average, before it looks at the lanes
	// again after finding them all empty: asynq polls rather than blocks. It is the delay an
	// email that arrives at an idle worker waits before a worker takes it (from half to one
	// and a half times it), and each look costs up to three short scripts in Redis.
	FetchInterval time.Duration
	// ShutdownTimeout is how long a stopping worker lets running jobs finish; jobs still
	// running after it go back to their queue and run again later.
	ShutdownTimeout time.Duration
}

// defaultPollInterval is PollInterval's value when it is zero.
const defaultPollInterval = time.Second

var prefixPattern = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,200}$`)

// CheckPrefix refuses a QueuePrefix the queue cannot use.
func CheckPrefix(prefix string) error {
	if !prefixPattern.MatchString(prefix) {
		return fmt.Errorf("%q: want 1-200 letters, digits, '.', '_', ':' or '-'", prefix)
	}
	return nil
}

// normalize refuses a client configuration that cannot work.
func (c Config) normalize() (Config, error) {
	var errs []error
	if c.RedisURL == "" {
		errs = append(errs, errors.New("RedisURL is empty"))
	}
	if err := CheckPrefix(c.QueuePrefix); err != nil {
		errs = append(errs, fmt.Errorf("QueuePrefix %w", err))
	}
	if c.Timeout != 0 && c.Timeout < time.Second {
		errs = append(errs, fmt.Errorf("timeout %v is below 1s", c.Timeout))
	}
	return c, errors.Join(errs...)
}

// normalizeServer fills PollInterval when it is zero and refuses a worker configuration that
// cannot work.
func (c Config) normalizeServer() (Config, error) {
	if c.PollInterval == 0 {
		c.PollInterval = defaultPollInterval
	}
	c, err := c.normalize()
	errs := []error{err}
	if c.Timeout == 0 {
		errs = append(errs, errors.New("timeout is zero: a worker's jobs need one"))
	}
	if c.Concurrency < 1 {
		errs = append(errs, fmt.Errorf("concurrency %d is below 1", c.Concurrency))
	}
	if c.RetryBase <= 0 || c.RetryMax < c.RetryBase {
		errs = append(errs, fmt.Errorf("RetryBase %v and RetryMax %v: want 0 < RetryBase <= RetryMax", c.RetryBase, c.RetryMax))
	}
	if c.PollInterval < 10*time.Millisecond {
		errs = append(errs, fmt.Errorf("PollInterval %v is below 10ms", c.PollInterval))
	}
	if c.FetchInterval < time.Millisecond {
		errs = append(errs, fmt.Errorf("FetchInterval %v is below 1ms", c.FetchInterval))
	}
	if c.ShutdownTimeout < 0 {
		errs = append(errs, fmt.Errorf("ShutdownTimeout %v is negative", c.ShutdownTimeout))
	}
	return c, errors.Join(errs...)
}

// Validate reports whether the Config can serve a client.
func (c Config) Validate() error {
	_, err := c.normalize()
	return err
}

// ValidateServer reports whether the Config can run a worker (ServerConfig).
func (c Config) ValidateServer() error {
	_, err := c.normalizeServer()
	return err
}

// OpenRedis returns a go-redis client of c.RedisURL, for asynq's server
// (asynq.NewServerFromRedisClient) and the worker's readiness probe. It does not dial; the caller closes it after the server has shut down. The error never repeats the
// URL, which may hold a password.
func OpenRedis(c Config) (*redis.Client, error) {
	return openRedis(c.RedisURL)
}

func openRedis(rawURL string) (*redis.Client, error) {
	u, err := redisurl.Parse("queue: RedisURL", rawURL)
	if err != nil {
		return nil, err
	}
	if u.Mode == redisurl.Cluster {
		return nil, errors.New("queue: RedisURL: the email queue cannot use a Redis Cluster (redis-cluster://): " +
			"asynq keeps each queue on one node and its bookkeeping in one keyspace; " +
			"set QUEUE_REDIS_URL to a standalone (redis://) or Sentinel (redis-sentinel://) Redis")
	}
	rdb, err := u.NewGoRedis(redisurl.GoRedisOptions{DialTimeout: dialTimeout, MaxRetries: maxRetries})
	if err != nil {
		return nil, err
	}
	// One server or a Sentinel's master: a *redis.Client either way.
	return rdb.(*redis.Client), nil
}

// go-redis's defaults (5s to dial, 3 retries) would hold an API request for many seconds while
// Redis is down.
const (
	dialTimeout = 2 * time.Second
	maxRetries  = 1
)

// markerKey is the key whose absence tells Client.Recover that the queue's Redis lost its data.
func (c Config) markerKey() string { return c.QueuePrefix + ":marker" }

// ServerConfig returns the asynq server settings of the email worker: the lanes and their
// weights, Concurrency, the exponential RetryDelay (a Deferral waits its own delay), an
// IsFailure that counts neither deferrals nor a dead worker's jobs as failures, FetchInterval,
// PollInterval and ShutdownTimeout, with asynq's own log lines sent to log. The worker passes it to asynq.NewServerFromRedisClient
// and runs a delivery.Handler.
func (c Config) ServerConfig(log *slog.Logger) (asynq.Config, error) {
	c, err := c.normalizeServer()
	if err != nil {
		return asynq.Config{}, fmt.Errorf("queue: %w", err)
	}
	if log == nil {
		log = slog.Default()
	}
	return asynq.Config{
		Concurrency:              c.Concurrency,
		Queues:                   c.ServerQueues(),
		StrictPriority:           false,
		RetryDelayFunc:           RetryDelay(c.RetryBase, c.RetryMax),
		IsFailure:                isFailure,
		TaskCheckInterval:        c.FetchInterval,
		DelayedTaskCheckInterval: c.PollInterval,
		ShutdownTimeout:          c.ShutdownTimeout,
		Logger:                   asynqLogger{log.With("component", "asynq")},
		LogLevel:                 asynqLevel(log),
	}, nil
}
