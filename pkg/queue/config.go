package queue

import (
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/oeshq/oes/pkg/redisurl"
)

// Config says where the queue lives and how its jobs are kept and retried. Zero fields take the
// default named on each; DefaultConfig returns a Config with every default filled in. The api
// needs RedisURL, QueuePrefix, Retention and Timeout; the worker needs all of it.
type Config struct {
	// RedisURL is the queue's Redis: redis://[user:password@]host:port/db, rediss:// for TLS,
	// or a master watched by Redis Sentinel,
	// redis-sentinel://[user:password@]host1:26379[,host2:26379...][/db]?master=<name> (the
	// password is the master's; add sentinel_password=<p> if the sentinels want one). A Redis
	// Cluster (redis-cluster://) is refused: asynq keeps every key of a queue under one hash
	// tag, so a queue lives on one node anyway, and its server bookkeeping expects one
	// keyspace. It should be a Redis that never evicts keys (maxmemory-policy noeviction): an
	// evicted key is a lost email. Default redis://localhost:6379/0.
	RedisURL string
	// QueuePrefix names the three asynq queues, "<prefix>:critical", "<prefix>:default" and
	// "<prefix>:low", and the worker's delivered records, "<prefix>:delivered:<id>". Letters,
	// digits and . _ : - only. Default "email".
	QueuePrefix string
	// Attempts is how many times a job may run in all when its Options do not say. Default
	// DefaultAttempts (3), as the seed design.
	Attempts int
	// Retention is how long a completed job is kept, so that its status can still be read and
	// an enqueue with the same Options.ID stays idempotent. At least 1s, as asynq keeps it in
	// whole seconds. Default 24h.
	Retention time.Duration
	// Timeout bounds one attempt; a job still running after it is cancelled and retried.
	// Default 5m, the longest an SMTP server is expected to take to accept a message.
	Timeout time.Duration

	// Concurrency is how many jobs one worker delivers at once. Default 5.
	Concurrency int
	// RetryBase is the delay before the first retry; each later retry waits twice as long as
	// the one before, up to RetryMax. See RetryDelay. Default 2s.
	RetryBase time.Duration
	// RetryMax caps the delay between two attempts. Default 1h.
	RetryMax time.Duration
	// PollInterval is how often the worker looks for due delayed and retrying jobs and, when
	// all lanes are empty, for new jobs. asynq's own defaults (5s and 1s) would add up to 5s to
	// every retry delay. Default 1s.
	PollInterval time.Duration
	// ShutdownTimeout is how long a stopping worker lets running jobs finish; jobs still
	// running after it go back to their queue and run again later. Default 10s.
	ShutdownTimeout time.Duration
	// DeliveredTTL is how long the worker remembers that a job's message was accepted, so that
	// a rerun of the job (the worker died before asynq recorded the success) does not send it
	// twice. It must outlast the longest retry window. Default 7 days.
	DeliveredTTL time.Duration
}

// DefaultConfig returns the recommended settings: the seed design's 5 concurrent deliveries and
// exponential backoff from 2s.
func DefaultConfig() Config {
	return Config{
		RedisURL:        "redis://localhost:6379/0",
		QueuePrefix:     "email",
		Attempts:        DefaultAttempts,
		Retention:       24 * time.Hour,
		Timeout:         5 * time.Minute,
		Concurrency:     5,
		RetryBase:       2 * time.Second,
		RetryMax:        time.Hour,
		PollInterval:    time.Second,
		ShutdownTimeout: 10 * time.Second,
		DeliveredTTL:    7 * 24 * time.Hour,
	}
}

var prefixPattern = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,200}$`)

// normalize fills zero fields with defaults and refuses values that cannot work.
func (c Config) normalize() (Config, error) {
	def := DefaultConfig()
	if c.RedisURL == "" {
		c.RedisURL = def.RedisURL
	}
	if c.QueuePrefix == "" {
		c.QueuePrefix = def.QueuePrefix
	}
	if c.Attempts == 0 {
		c.Attempts = def.Attempts
	}
	if c.Retention == 0 {
		c.Retention = def.Retention
	}
	if c.Timeout == 0 {
		c.Timeout = def.Timeout
	}
	if c.Concurrency == 0 {
		c.Concurrency = def.Concurrency
	}
	if c.RetryBase == 0 {
		c.RetryBase = def.RetryBase
	}
	if c.RetryMax == 0 {
		c.RetryMax = def.RetryMax
	}
	if c.PollInterval == 0 {
		c.PollInterval = def.PollInterval
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = def.ShutdownTimeout
	}
	if c.DeliveredTTL == 0 {
		c.DeliveredTTL = def.DeliveredTTL
	}

	var errs []error
	if !prefixPattern.MatchString(c.QueuePrefix) {
		errs = append(errs, fmt.Errorf("QueuePrefix %q: want 1-200 letters, digits, '.', '_', ':' or '-'", c.QueuePrefix))
	}
	if c.Attempts < 1 || c.Attempts > MaxAttempts {
		errs = append(errs, fmt.Errorf("Attempts %d: want 1 to %d", c.Attempts, MaxAttempts))
	}
	if c.Retention < time.Second {
		errs = append(errs, fmt.Errorf("Retention %v is below 1s", c.Retention))
	}
	if c.Timeout < time.Second {
		errs = append(errs, fmt.Errorf("Timeout %v is below 1s", c.Timeout))
	}
	if c.Concurrency < 1 {
		errs = append(errs, fmt.Errorf("Concurrency %d is below 1", c.Concurrency))
	}
	if c.RetryBase < 0 || c.RetryMax < c.RetryBase {
		errs = append(errs, fmt.Errorf("RetryBase %v and RetryMax %v: want 0 < RetryBase <= RetryMax", c.RetryBase, c.RetryMax))
	}
	if c.PollInterval < 10*time.Millisecond {
		errs = append(errs, fmt.Errorf("PollInterval %v is below 10ms", c.PollInterval))
	}
	if c.ShutdownTimeout < 0 {
		errs = append(errs, fmt.Errorf("ShutdownTimeout %v is negative", c.ShutdownTimeout))
	}
	if w := c.retryWindow(); c.DeliveredTTL <= w {
		errs = append(errs, fmt.Errorf("DeliveredTTL %v must exceed the longest retry window, %v", c.DeliveredTTL, w))
	}
	return c, errors.Join(errs...)
}

// retryWindow is the longest a job can take from its first attempt to its last: every attempt
// running out its Timeout and every backoff at its longest.
func (c Config) retryWindow() time.Duration {
	w := time.Duration(MaxAttempts) * c.Timeout
	for n := range MaxAttempts - 1 {
		w += backoff(c.RetryBase, c.RetryMax, n, 1) + time.Second
	}
	return w
}

// Validate reports whether the Config can be used, after filling in the defaults.
func (c Config) Validate() error {
	_, err := c.normalize()
	return err
}

// OpenRedis returns a go-redis client of c.RedisURL, for sharing one connection pool between
// asynq's server (asynq.NewServerFromRedisClient) and the worker's delivered records. It does
// not dial; the caller closes it after the server has shut down. The error never repeats the
// URL, which may hold a password.
func OpenRedis(c Config) (*redis.Client, error) {
	c, err := c.normalize()
	if err != nil {
		return nil, fmt.Errorf("queue: %w", err)
	}
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

// DeliveredKey returns the Redis key of the worker's record that job id was delivered (see
// package delivery): the keys of the queue are named in this package alone.
func (c Config) DeliveredKey(id string) string {
	prefix := c.QueuePrefix
	if prefix == "" {
		prefix = DefaultConfig().QueuePrefix
	}
	return prefix + ":delivered:" + id
}

// ServerConfig returns the asynq server settings of the email worker: the lanes and their
// weights, Concurrency, the exponential RetryDelay, PollInterval and ShutdownTimeout, with
// asynq's own log lines sent to log. The worker passes it to asynq.NewServerFromRedisClient
// and runs a delivery.Handler.
func (c Config) ServerConfig(log *slog.Logger) (asynq.Config, error) {
	c, err := c.normalize()
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
		TaskCheckInterval:        c.PollInterval,
		DelayedTaskCheckInterval: c.PollInterval,
		ShutdownTimeout:          c.ShutdownTimeout,
		Logger:                   asynqLogger{log.With("component", "asynq")},
		LogLevel:                 asynqLevel(log),
	}, nil
}
