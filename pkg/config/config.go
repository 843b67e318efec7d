// Package config holds the configuration pieces the binaries share and the one function that
// loads them from the environment. Each binary composes its own struct by embedding the pieces
// it needs; embedded structs add no prefix, so every variable keeps the name shown in its tag.
package config

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kelseyhightower/envconfig"

	"github.com/oeshq/oes/pkg/infra/cache"
	"github.com/oeshq/oes/pkg/infra/redisurl"
)

// ErrHelp is returned by Load when the arguments asked for help; the usage is already printed.
var ErrHelp = errors.New("help requested")

// Validator is implemented by configuration pieces that check themselves after loading.
type Validator interface {
	Validate() error
}

// Database configures the Postgres connection pool.
type Database struct {
	DatabaseURL      string `envconfig:"DATABASE_URL" default:"postgres://localhost:5432/oes?sslmode=disable" desc:"Postgres connection URL (secret: may hold a password)"`
	DatabaseMaxConns int32  `envconfig:"DATABASE_MAX_CONNS" default:"10" desc:"upper bound of the Postgres connection pool"`
}

func (d Database) Validate() error {
	if err := checkURL("DATABASE_URL", d.DatabaseURL, "postgres", "postgresql"); err != nil {
		return err
	}
	if d.DatabaseMaxConns < 1 {
		return fmt.Errorf("DATABASE_MAX_CONNS: must be at least 1, got %d", d.DatabaseMaxConns)
	}
	return nil
}

// Redis says where the queue lives, and the cache unless Cache overrides it. One Redis serves
// both by default: a cache wants an LRU-evicting Redis, a queue a noeviction one, so production
// sets QUEUE_REDIS_URL and CACHE_REDIS_URL apart.
type Redis struct {
	RedisURL      string `envconfig:"REDIS_URL" default:"redis://localhost:6379/0" desc:"Redis URL used by the cache and the queue unless overridden (secret: may hold a password)"`
	QueueRedisURL string `envconfig:"QUEUE_REDIS_URL" desc:"Redis URL for the email queue only (a noeviction Redis); overrides REDIS_URL"`
}

// QueueURL is the Redis URL the email queue uses.
func (r Redis) QueueURL() string { return firstNonEmpty(r.QueueRedisURL, r.RedisURL) }

func (r Redis) Validate() error {
	for _, v := range []struct{ name, value string }{
		{"REDIS_URL", r.RedisURL}, {"QUEUE_REDIS_URL", r.QueueRedisURL},
	} {
		if v.value == "" && v.name != "REDIS_URL" {
			continue
		}
		// REDIS_URL feeds the queue too (the worker never reads CACHE_REDIS_URL), and the queue
		// cannot use a Cluster; see queue.Config.RedisURL.
		if strings.HasPrefix(v.value, redisurl.SchemeCluster+"://") {
			return fmt.Errorf("%s: the email queue cannot use a Redis Cluster (asynq keeps a queue on one node and its bookkeeping in one keyspace); "+
				"point %s at a standalone (redis://) or Sentinel (redis-sentinel://) Redis, and a Cluster at CACHE_REDIS_URL only", v.name, v.name)
		}
		if err := checkRedisURL(v.name, v.value, "redis", "rediss", "unix", redisurl.SchemeSentinel); err != nil {
			return err
		}
	}
	return nil
}

// Cache configures the Redis-backed cache with its in-process layer. Only the api caches, so
// only it reads CACHE_REDIS_URL.
type Cache struct {
	CacheRedisURL   string        `envconfig:"CACHE_REDIS_URL" desc:"Redis URL for the cache only (an allkeys-lru Redis); overrides REDIS_URL"`
	CacheEnabled    bool          `envconfig:"CACHE_ENABLED" default:"true" desc:"false serves every read from Postgres (for comparison and troubleshooting)"`
	CacheNamespace  string        `envconfig:"CACHE_NAMESPACE" default:"oes:cache" desc:"prefix of every cache key; Clear touches nothing outside it"`
	CacheDefaultTTL time.Duration `envconfig:"CACHE_DEFAULT_TTL" default:"1h" desc:"TTL of entries whose kind has no TTL of its own"`
	CacheLocalSize  ByteSize      `envconfig:"CACHE_LOCAL_SIZE" default:"64MiB" desc:"bound of the in-process (client-side) cache, in bytes (KiB, MiB, GiB suffixes)"`
	CacheNotFound   time.Duration `envconfig:"CACHE_NOT_FOUND_TTL" default:"5s" desc:"how long a 'not found' answer is remembered"`

	TTLExam          time.Duration `envconfig:"CACHE_TTL_EXAM" default:"4h" desc:"TTL of one exam (static data: 2-7h)"`
	TTLExamQuestions time.Duration `envconfig:"CACHE_TTL_EXAM_QUESTIONS" default:"4h" desc:"TTL of an exam's questions with options (static data: 2-7h)"`
	TTLQuestion      time.Duration `envconfig:"CACHE_TTL_QUESTION" default:"4h" desc:"TTL of one question (static data: 2-7h)"`
	TTLUserProfile   time.Duration `envconfig:"CACHE_TTL_USER_PROFILE" default:"1h" desc:"TTL of a user profile"`
	TTLExamResult    time.Duration `envconfig:"CACHE_TTL_EXAM_RESULT" default:"2h" desc:"TTL of an attempt's result"`
	TTLUserExams     time.Duration `envconfig:"CACHE_TTL_USER_EXAMS" default:"30m" desc:"TTL of a user's list of exams (lists: 30-60m)"`
	TTLAllExams      time.Duration `envconfig:"CACHE_TTL_ALL_EXAMS" default:"30m" desc:"TTL of the list of published exams (lists: 30-60m)"`
}

// CacheURL is the Redis URL the cache uses: CACHE_REDIS_URL, else redisURL (REDIS_URL).
func (c Cache) CacheURL(redisURL string) string { return firstNonEmpty(c.CacheRedisURL, redisURL) }

func (c Cache) Validate() error {
	if c.CacheRedisURL != "" {
		if err := checkRedisURL("CACHE_REDIS_URL", c.CacheRedisURL, "redis", "rediss", "unix", redisurl.SchemeSentinel, redisurl.SchemeCluster); err != nil {
			return err
		}
	}
	if c.CacheNamespace == "" {
		return errors.New("CACHE_NAMESPACE: must not be empty")
	}
	if c.CacheLocalSize < 1<<20 {
		return fmt.Errorf("CACHE_LOCAL_SIZE: must be at least 1MiB, got %d bytes", c.CacheLocalSize)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"CACHE_DEFAULT_TTL", c.CacheDefaultTTL}, {"CACHE_NOT_FOUND_TTL", c.CacheNotFound},
		{"CACHE_TTL_EXAM", c.TTLExam}, {"CACHE_TTL_EXAM_QUESTIONS", c.TTLExamQuestions},
		{"CACHE_TTL_QUESTION", c.TTLQuestion}, {"CACHE_TTL_USER_PROFILE", c.TTLUserProfile},
		{"CACHE_TTL_EXAM_RESULT", c.TTLExamResult}, {"CACHE_TTL_USER_EXAMS", c.TTLUserExams},
		{"CACHE_TTL_ALL_EXAMS", c.TTLAllExams},
	} {
		// Redis expiry has millisecond resolution; anything shorter would mean "never cached".
		if d.v < time.Millisecond {
			return fmt.Errorf("%s: must be at least 1ms, got %s", d.name, d.v)
		}
	}
	return nil
}

// HTTP configures the API's listener.
type HTTP struct {
	HTTPAddr string `envconfig:"HTTP_ADDR" default:":8080" desc:"address the HTTP API listens on"`
}

func (h HTTP) Validate() error {
	if h.HTTPAddr == "" {
		return errors.New("HTTP_ADDR: must not be empty")
	}
	return nil
}

// Metrics configures the api's Prometheus listener. It is apart from HTTP_ADDR so that
// scrapes need no access token and /metrics is never exposed where the API is.
type Metrics struct {
	MetricsAddr string `envconfig:"METRICS_ADDR" default:":9090" desc:"address of the api's Prometheus /metrics (keep it off the public network); empty serves none"`
}

// Shutdown bounds how long a process drains in-flight work after SIGTERM.
type Shutdown struct {
	ShutdownTimeout time.Duration `envconfig:"SHUTDOWN_TIMEOUT" default:"20s" desc:"how long SIGTERM waits for in-flight work before exiting"`
}

func (s Shutdown) Validate() error {
	if s.ShutdownTimeout <= 0 {
		return fmt.Errorf("SHUTDOWN_TIMEOUT: must be positive, got %s", s.ShutdownTimeout)
	}
	return nil
}

// Log configures the process log.
type Log struct {
	LogFormat LogFormat `envconfig:"LOG_FORMAT" default:"json" desc:"json or text"`
	LogLevel  LogLevel  `envconfig:"LOG_LEVEL" default:"info" desc:"debug, info, warn or error"`
}

// Load fills cfg, a pointer to a struct of embedded pieces, from the environment and validates
// every piece. When args hold -h, -help or --help it prints every variable with its default to
// out and returns ErrHelp. Errors name the variable at fault.
func Load(cfg any, args []string, out io.Writer) error {
	if slices.ContainsFunc(args, func(a string) bool { return a == "-h" || a == "-help" || a == "--help" }) {
		tw := tabwriter.NewWriter(out, 1, 0, 2, ' ', 0)
		if err := envconfig.Usagef("", cfg, tw, usageFormat); err != nil {
			return err
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		return ErrHelp
	}
	if err := envconfig.Process("", cfg); err != nil {
		var pe *envconfig.ParseError
		if errors.As(err, &pe) {
			return fmt.Errorf("%s: cannot use %q: %v", pe.KeyName, pe.Value, pe.Err)
		}
		return err
	}
	return validate(cfg)
}

const usageFormat = `Configuration is read from the environment:

VARIABLE	DEFAULT	DESCRIPTION
{{range .}}{{usage_key .}}	{{usage_default .}}	{{usage_description .}}
{{end}}`

// validate runs Validate on cfg itself and on each embedded piece that has it.
func validate(cfg any) error {
	for _, v := range pieces(cfg) {
		if err := v.Validate(); err != nil {
			return err
		}
	}
	return nil
}

func checkURL(name, value string, schemes ...string) error {
	u, err := url.Parse(value)
	if err != nil {
		// url.Parse's error repeats the whole URL, which may hold a password.
		return fmt.Errorf("%s: not a valid URL", name)
	}
	if !slices.Contains(schemes, u.Scheme) {
		return fmt.Errorf("%s: scheme must be one of %s, got %q", name, strings.Join(schemes, ", "), u.Scheme)
	}
	return nil
}

// checkRedisURL checks the scheme, and the whole syntax of the Sentinel and Cluster forms,
// which the clients would otherwise report only when the binary connects.
func checkRedisURL(name, value string, schemes ...string) error {
	scheme, _, _ := strings.Cut(value, "://")
	if (scheme == redisurl.SchemeSentinel || scheme == redisurl.SchemeCluster) && slices.Contains(schemes, scheme) {
		// Not url.Parse: it refuses a list of IPv6 addresses that redisurl accepts.
		_, err := redisurl.Parse(name, value)
		return err
	}
	return checkURL(name, value, schemes...)
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// CacheConfig is the cache library's configuration these settings make.
func (c Cache) CacheConfig() cache.Config {
	return cache.Config{
		Namespace:       c.CacheNamespace,
		DefaultTTL:      c.CacheDefaultTTL,
		NotFoundTTL:     c.CacheNotFound,
		LocalCacheBytes: int64(c.CacheLocalSize),
		TTL: map[cache.Kind]time.Duration{
			cache.KindExam:          c.TTLExam,
			cache.KindExamQuestions: c.TTLExamQuestions,
			cache.KindQuestion:      c.TTLQuestion,
			cache.KindUserProfile:   c.TTLUserProfile,
			cache.KindExamResult:    c.TTLExamResult,
			cache.KindUserExams:     c.TTLUserExams,
			cache.KindAllExams:      c.TTLAllExams,
		},
	}
}
