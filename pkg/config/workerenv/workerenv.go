// Package workerenv is the email worker's environment: the pieces of pkg/config it shares with
// the api and its own (Worker, SMTP), and the configurations of the queue server, the delivery
// handler, the outbox relay and the SMTP sender that it makes. It is apart from pkg/config so
// that the api, which reads pkg/config, links no mail code.
package workerenv

import (
	"fmt"
	"time"

	"github.com/oeshq/oes/pkg/config"
	"github.com/oeshq/oes/pkg/infra/delivery"
	"github.com/oeshq/oes/pkg/infra/mail/smtpsend"
	"github.com/oeshq/oes/pkg/infra/outbox"
	"github.com/oeshq/oes/pkg/infra/queue"
)

// Env is everything the worker reads from the environment.
type Env struct {
	config.Database
	config.Redis
	config.Queue
	Worker
	SMTP
	config.Shutdown
	config.Log
}

// Validate checks what the pieces cannot alone: the queue server's configuration as a whole.
func (e Env) Validate() error {
	return e.QueueConfig().ValidateServer()
}

// QueueConfig is the queue's configuration as the worker runs it.
func (e Env) QueueConfig() queue.Config {
	return queue.Config{
		RedisURL:        e.QueueURL(),
		QueuePrefix:     e.QueuePrefix,
		Timeout:         e.EmailJobTimeout,
		Concurrency:     e.EmailConcurrency,
		RetryBase:       e.EmailBackoffBase,
		RetryMax:        e.EmailBackoffMax,
		FetchInterval:   e.EmailFetchInterval,
		ShutdownTimeout: e.ShutdownTimeout,
	}
}

// DeliveryConfig is the delivery handler's configuration. Its backoff is the queue's, which
// delivery.StartWorker gives it.
func (e Env) DeliveryConfig() delivery.Config {
	return delivery.Config{RetryWindow: e.EmailRetryWindow}
}

// RelayConfig is the outbox relay's configuration, without the chores the worker adds. Its
// JobTimeout is the queue's, which delivery.StartWorker gives it.
func (e Env) RelayConfig() outbox.RelayConfig {
	return outbox.RelayConfig{SweepInterval: e.EmailSweepInterval}
}

// SenderConfig is the SMTP sender's configuration: one connection per concurrent delivery, so
// that a delivery never waits for another's connection.
func (e Env) SenderConfig() smtpsend.Config {
	return smtpsend.Config{
		Host:     e.SMTPHost,
		Port:     e.SMTPPort,
		Username: e.SMTPUsername,
		Password: e.SMTPPassword,
		From:     e.SMTPFrom,
		TLS:      e.SMTPTLS,
		PoolSize: e.EmailConcurrency,
	}
}

// Worker configures how the email worker runs jobs.
type Worker struct {
	EmailConcurrency     int           `envconfig:"EMAIL_CONCURRENCY" default:"5" desc:"emails one worker delivers at once (and SMTP connections it keeps open)"`
	EmailJobTimeout      time.Duration `envconfig:"EMAIL_JOB_TIMEOUT" default:"5m" desc:"longest one delivery attempt may take before it is cancelled and tried again"`
	EmailBackoffBase     time.Duration `envconfig:"EMAIL_BACKOFF_BASE" default:"2000ms" desc:"delay before the first retry of an email the server asked to try later; each later retry waits twice as long (with jitter)"`
	EmailBackoffMax      time.Duration `envconfig:"EMAIL_BACKOFF_MAX" default:"1h" desc:"longest delay between two tries of an email"`
	EmailRetryWindow     time.Duration `envconfig:"EMAIL_RETRY_WINDOW" default:"24h" desc:"how long an email held back by SMTP outages and 4xx replies is retried before it fails with the last reason"`
	EmailFetchInterval   time.Duration `envconfig:"EMAIL_FETCH_INTERVAL" default:"20ms" desc:"how long an idle worker waits, on average, before it looks for new jobs again (asynq polls): the latency it adds, against up to 3 Redis scripts per look"`
	EmailSweepInterval   time.Duration `envconfig:"EMAIL_SWEEP_INTERVAL" default:"30s" desc:"how often the outbox relay checks that every unsent email is in the queue's Redis (at once when Redis lost its data)"`
	HealthAddr           string        `envconfig:"HEALTH_ADDR" default:":8081" desc:"address of the worker's /healthz, /readyz and /metrics"`
	AttemptGradeInterval time.Duration `envconfig:"ATTEMPT_GRADE_INTERVAL" default:"10s" desc:"how often one worker grades the attempts whose time ran out and that nobody submitted, queueing their result emails"`
}

func (w Worker) Validate() error {
	if w.EmailConcurrency < 1 || w.EmailConcurrency > 1000 {
		return fmt.Errorf("EMAIL_CONCURRENCY: must be between 1 and 1000, got %d", w.EmailConcurrency)
	}
	if w.EmailJobTimeout < 5*time.Second {
		return fmt.Errorf("EMAIL_JOB_TIMEOUT: must be at least 5s, got %s", w.EmailJobTimeout)
	}
	if w.EmailBackoffBase < time.Millisecond || w.EmailBackoffMax < w.EmailBackoffBase {
		return fmt.Errorf("EMAIL_BACKOFF_BASE/EMAIL_BACKOFF_MAX: want 0 < base <= max, got %s and %s", w.EmailBackoffBase, w.EmailBackoffMax)
	}
	if w.EmailRetryWindow < time.Minute {
		return fmt.Errorf("EMAIL_RETRY_WINDOW: must be at least 1m, got %s", w.EmailRetryWindow)
	}
	if w.EmailFetchInterval < time.Millisecond || w.EmailFetchInterval > 10*time.Second {
		return fmt.Errorf("EMAIL_FETCH_INTERVAL: must be from 1ms to 10s, got %s", w.EmailFetchInterval)
	}
	if w.EmailSweepInterval < time.Second {
		return fmt.Errorf("EMAIL_SWEEP_INTERVAL: must be at least 1s, got %s", w.EmailSweepInterval)
	}
	if w.HealthAddr == "" {
		return fmt.Errorf("HEALTH_ADDR: must not be empty")
	}
	if w.AttemptGradeInterval < time.Second || w.AttemptGradeInterval > time.Minute {
		return fmt.Errorf("ATTEMPT_GRADE_INTERVAL: must be from 1s to 1m, got %s", w.AttemptGradeInterval)
	}
	return nil
}

// SMTP says where and how the worker delivers email.
type SMTP struct {
	SMTPHost     string `envconfig:"SMTP_HOST" default:"localhost" desc:"SMTP server (relay) host"`
	SMTPPort     int    `envconfig:"SMTP_PORT" default:"587" desc:"SMTP server port (587 submission with STARTTLS, 465 implicit TLS, 1025 a local mail catcher)"`
	SMTPUsername string `envconfig:"SMTP_USERNAME" desc:"SMTP AUTH PLAIN user name; empty sends without AUTH"`
	SMTPPassword string `envconfig:"SMTP_PASSWORD" desc:"SMTP AUTH password (secret)"`
	SMTPFrom     string `envconfig:"SMTP_FROM" default:"OES <no-reply@oes.local>" desc:"From address of messages that name none"`
	SMTPTLS      string `envconfig:"SMTP_TLS" default:"starttls" desc:"none, starttls (required) or tls (implicit)"`
}

func (s SMTP) Validate() error {
	if s.SMTPHost == "" {
		return fmt.Errorf("SMTP_HOST: must not be empty")
	}
	if s.SMTPPort < 1 || s.SMTPPort > 65535 {
		return fmt.Errorf("SMTP_PORT: must be a port number, got %d", s.SMTPPort)
	}
	switch s.SMTPTLS {
	case "none", "starttls", "tls":
	default:
		return fmt.Errorf("SMTP_TLS: want none, starttls or tls, got %q", s.SMTPTLS)
	}
	if s.SMTPPassword != "" && s.SMTPUsername == "" {
		return fmt.Errorf("SMTP_USERNAME: must be set when SMTP_PASSWORD is")
	}
	return nil
}
