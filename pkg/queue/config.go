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

// Config says where the queue lives and how its jobs are run. Zero fields take the default named
// on each; DefaultConfig returns a Config with every default filled in. The relay needs
// RedisURL, QueuePrefix and Timeout; the worker needs all of it.
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
	// "<prefix>:low", and the queue's marker key, "<prefix>:marker" (see Client.Recover).
	// Letters, digits and . _ : - only. Default "email".
	QueuePrefix string
	// Timeout bounds one attempt; a job still running after it is cancelled and tried again.
	// Default 5m, the longest an SMTP server is expected to take to accept a message.
	Timeout time.Duration

	// Concurrency is how many jobs one worker delivers at once. Default 5.
	Concurrency int
	// RetryBase is the delay before the first retry; each later retry waits twice as long as
	// the one before, up to RetryMax. See RetryDelay. Default 2s.
	RetryBase time.Duration
	// RetryMax caps the delay between two attempts. Default 1h.
	RetryMax time.Duration
	// PollInterval is how often the worker looks for due delayed and retrying jobs. asynq's
	// own default (5s) would add up to 5s to every retry delay. Default 1s.
	PollInterval time.Duration
	// FetchInterval is how long the worker waits, on average, before it looks at the lanes
	// again after finding them all empty: asynq polls rather than blocks. It is the delay an
	// email that arrives at an idle worker waits before a worker takes it (from half to one
	// and a half times it), and each look costs up to three short scripts in Redis. Default
	// 20ms: 150 scripts a second from an idle worker.
	FetchInterval time.Duration
	// ShutdownTimeout is how long a stopping worker lets running jobs finish; jobs still
	// running after it go back to their queue and run again later. Default 10s.
	ShutdownTimeout time.Duration
}

// DefaultConfig returns the recommended settings: the seed design's 5 concurrent deliveries and
// exponential backoff from 2s.
func DefaultConfig() Config {
	return Config{
		RedisURL:        "redis://localhost:6379/0",
		QueuePrefix:     "email",
		Timeout:         5 * time.Minute,
		Concurrency:     5,
		RetryBase:       2 * time.Second,
		RetryMax:        time.Hour,
		PollInterval:    time.Second,
		FetchInterval:   20 * time.Millisecond,
		ShutdownTimeout: 10 * time.Second,
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
	if c.FetchInterval == 0 {
		c.FetchInterval = def.FetchInterval
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = def.ShutdownTimeout
	}

	var errs []error
	if !prefixPattern.MatchString(c.QueuePrefix) {
		errs = append(errs, fmt.Errorf("QueuePrefix %q: want 1-200 letters, digits, '.', '_', ':' or '-'", c.QueuePrefix))
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
	if c.FetchInterval < time.Millisecond {
		errs = append(errs, fmt.Errorf("FetchInterval %v is below 1ms", c.FetchInterval))
	}
	if c.ShutdownTimeout < 0 {
		errs = append(errs, fmt.Errorf("ShutdownTimeout %v is negative", c.ShutdownTimeout))
	}
	return c, errors.Join(errs...)
}

// Validate reports whether the Config can be used, after filling in the defaults.
func (c Config) Validate() error {
	_, err := c.normalize()
	return err
}

// OpenRedis returns a go-redis client of c.RedisURL, for asynq's server
// (asynq.NewServerFromRedisClient) and the worker's readiness probe. It does not dial; the caller closes it after the server has shut down. The error never repeats the
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

// markerKey is the key whose absence tells Client.Recover that the queue's Redis lost its data.
func (c Config) markerKey() string { return c.QueuePrefix + ":marker" }

// ServerConfig returns the asynq server settings of the email worker: the lanes and their
// weights, Concurrency, the exponential RetryDelay (a Deferral waits its own delay), an
// IsFailure that counts neither deferrals nor a dead worker's jobs as failures, FetchInterval,
// PollInterval and ShutdownTimeout, with asynq's own log lines sent to log. The worker passes it to asynq.NewServerFromRedisClient
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
		IsFailure:                isFailure,
		TaskCheckInterval:        c.FetchInterval,
		DelayedTaskCheckInterval: c.PollInterval,
		ShutdownTimeout:          c.ShutdownTimeout,
		Logger:                   asynqLogger{log.With("component", "asynq")},
		LogLevel:                 asynqLevel(log),
	}, nil
}
