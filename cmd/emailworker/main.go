// Command emailworker delivers the email queue's jobs over SMTP. It is deployed apart from the
// api and scaled on its own: any number of workers may consume the same queue, and a job is
// delivered by one of them only. Its HTTP port (HEALTH_ADDR) serves the health probes and the
// Prometheus metrics.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"

	"github.com/oeshq/oes/pkg/attempt"
	"github.com/oeshq/oes/pkg/config"
	"github.com/oeshq/oes/pkg/config/workerenv"
	"github.com/oeshq/oes/pkg/infra/delivery"
	"github.com/oeshq/oes/pkg/infra/logging"
	"github.com/oeshq/oes/pkg/infra/mail/smtpsend"
	"github.com/oeshq/oes/pkg/infra/metrics/emailmetrics"
	"github.com/oeshq/oes/pkg/infra/outbox"
	"github.com/oeshq/oes/pkg/infra/queue"
	"github.com/oeshq/oes/pkg/infra/store"
)

// Config is everything the worker reads from the environment.
type Config = workerenv.Env

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case errors.Is(err, config.ErrHelp):
	case err != nil:
		fmt.Fprintln(os.Stderr, "emailworker:", err)
		os.Exit(1)
	}
}

// run connects to the queue's Redis and Postgres, relays the outbox onto the queue and
// delivers its jobs until ctx is cancelled (SIGINT, SIGTERM), then stops fetching, lets running
// deliveries finish within SHUTDOWN_TIMEOUT and puts the unfinished ones back in the queue.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cfg Config
	if err := config.Load(&cfg, args, stdout); err != nil {
		return err
	}
	log := logging.New(stderr, string(cfg.LogFormat), cfg.LogLevel.Level())
	queue.LogRedisTo(log)

	qcfg := cfg.QueueConfig()
	rdb, err := queue.OpenRedis(qcfg)
	if err != nil {
		return fmt.Errorf("QUEUE_REDIS_URL/REDIS_URL: %w", err)
	}
	defer rdb.Close()
	checkRedis(ctx, rdb, log)

	pool, err := store.Open(ctx, cfg.DatabaseURL, cfg.DatabaseMaxConns, store.GenericPlans())
	if err != nil {
		return fmt.Errorf("DATABASE_URL: %w", err)
	}
	defer pool.Close()
	st := store.New(pool)
	pingCtx, cancel := context.WithTimeout(ctx, 3*time.Second)
	if err := st.Ping(pingCtx); err != nil {
		log.Warn("postgres unavailable; emails wait in the outbox until it returns", "err", err)
	} else {
		log.Info("postgres connected")
	}
	cancel()

	sender, err := smtpsend.New(cfg.SenderConfig())
	if err != nil {
		return err
	}
	defer sender.Close()

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	observer := emailmetrics.NewDelivery(reg)
	relay := cfg.RelayConfig()
	relay.Chores = []outbox.Chore{gradeExpiredAttempts(st, cfg, log)}
	w, err := delivery.StartWorker(delivery.WorkerConfig{
		Queue:    qcfg,
		Store:    st,
		Sender:   sender,
		Handler:  cfg.DeliveryConfig(),
		Relay:    relay,
		Log:      log,
		Observer: observer,
		OnPause:  observer.Paused,
	})
	if err != nil {
		return err
	}
	reg.MustRegister(emailmetrics.NewQueueCollector(w.Queue()))

	// A scrape the queue's Redis cannot answer still serves the delivery metrics.
	metricsHandler := promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg, ErrorHandling: promhttp.ContinueOnError})
	probes, err := startProbes(cfg.HealthAddr, rdb, st, metricsHandler, log)
	if err != nil {
		w.Shutdown()
		return err
	}
	log.Info("worker initialized", "concurrency", cfg.EmailConcurrency, "queues", qcfg.QueueNames(),
		"smtp", fmt.Sprintf("%s:%d", cfg.SMTPHost, cfg.SMTPPort), "health_addr", probes.addr)

	<-ctx.Done()
	log.Info("worker shutting down", "timeout", cfg.ShutdownTimeout)
	// Shutdown stops fetching, waits up to the timeout for running jobs and returns the rest
	// to their queue; asynq cancels their contexts only after that.
	w.Shutdown()
	probes.stop(ctx)
	log.Info("worker stopped")
	return nil
}

// gradeExpiredAttempts is the chore that grades the attempts whose time ran out and that
// nobody submitted, with their result emails: deadlines act without a request, on one worker
// at a time (the leading relay), not on a timer of an api replica. The api's cached views of
// those attempts need no word of it: an attempt in progress is cached only until its deadline.
func gradeExpiredAttempts(st *store.Store, cfg Config, log *slog.Logger) outbox.Chore {
	grader := attempt.NewService(st, nil, nil, cfg.EmailAttempts, log)
	return outbox.Chore{
		Name:     "attempts past their deadline graded",
		Interval: cfg.AttemptGradeInterval,
		Run:      func(ctx context.Context) (int, error) { return grader.GradeExpired(ctx, 500) },
	}
}

// checkRedis logs whether the queue's Redis answers and warns when it may evict keys: an
// evicted job is a lost email. The worker starts either way and asynq keeps retrying; /readyz
// reports the state.
func checkRedis(ctx context.Context, rdb *redis.Client, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		log.Warn("queue redis unavailable; jobs wait until it returns", "err", err)
		return
	}
	log.Info("redis connected")
	policy, err := rdb.ConfigGet(ctx, "maxmemory-policy").Result()
	if err != nil || policy["maxmemory-policy"] == "" {
		// Managed Redis services often disable CONFIG; say so rather than guess.
		log.Warn("could not read the queue redis maxmemory-policy; make sure it is noeviction, or jobs may be lost", "err", err)
		return
	}
	if p := policy["maxmemory-policy"]; p != "noeviction" {
		log.Warn("THE QUEUE REDIS MAY EVICT KEYS: an evicted job is a lost email; set maxmemory-policy noeviction or use QUEUE_REDIS_URL for a Redis that never evicts",
			"maxmemory_policy", p)
	}
}
