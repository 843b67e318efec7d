package delivery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/oeshq/oes/pkg/infra/mail"
	"github.com/oeshq/oes/pkg/infra/outbox"
	"github.com/oeshq/oes/pkg/infra/queue"
	"github.com/oeshq/oes/pkg/infra/store"
)

// Sender is a mail.Sender that can also tell whether sending can work, which the SMTP breaker
// probes with; *smtpsend.Sender implements it.
type Sender interface {
	mail.Sender
	Probe(ctx context.Context) error
}

// WorkerConfig is what a Worker is made of.
type WorkerConfig struct {
	Queue   queue.Config
	Store   *store.Store
	Sender  Sender
	Handler Config
	Relay   outbox.RelayConfig
	Log     *slog.Logger
	// Observer, when set, is told of every send and failure.
	Observer Observer
	// OnPause, when set, is told when deliveries stop because a dependency ("smtp",
	// "postgres") is down (true) and when they resume (false).
	OnPause func(dependency string, paused bool)
}

// Worker is the email worker's machinery: an asynq server running a Handler over the queue's
// lanes, with its breakers, and the outbox's Relay.
type Worker struct {
	server  *asynq.Server
	handler *Handler
	relay   *outbox.Relay
	batch   *store.BatchOutbox
	client  *queue.Client
	rdb     *redis.Client
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// StartWorker starts delivering. It does not wait for Redis or Postgres: while either is down
// the worker waits for it. Shutdown stops it.
//
//nolint:contextcheck // The relay runs until Shutdown, which stops it after the deliveries in flight, not when a context ends.
func StartWorker(cfg WorkerConfig) (*Worker, error) {
	log := cfg.Log
	if log == nil {
		log = slog.Default()
	}
	onPause := cfg.OnPause
	if onPause == nil {
		onPause = func(string, bool) {}
	}
	srvCfg, err := cfg.Queue.ServerConfig(log)
	if err != nil {
		return nil, err
	}
	client, err := queue.New(cfg.Queue)
	if err != nil {
		return nil, err
	}
	rdb, err := queue.OpenRedis(cfg.Queue)
	if err != nil {
		_ = client.Close()
		return nil, err
	}
	smtp := NewBreaker(BreakerConfig{
		Name: "smtp", Probe: cfg.Sender.Probe, OnChange: func(open bool) { onPause("smtp", open) },
	}, log)
	pg := NewBreaker(BreakerConfig{
		// A pool's error is not a flaky connection: one is enough.
		Name: "postgres", Probe: cfg.Store.Ping, Threshold: 1, OnChange: func(open bool) { onPause("postgres", open) },
	}, log)
	opts := []Option{WithBreakers(smtp, pg)}
	if cfg.Observer != nil {
		opts = append(opts, WithObserver(cfg.Observer))
	}
	// The handler backs off like the queue, and the relay knows how long the queue lets a
	// job run, unless told otherwise.
	handlerCfg, relayCfg := cfg.Handler, cfg.Relay
	if handlerCfg.RetryBase == 0 {
		handlerCfg.RetryBase, handlerCfg.RetryMax = cfg.Queue.RetryBase, cfg.Queue.RetryMax
	}
	if relayCfg.JobTimeout == 0 {
		relayCfg.JobTimeout = cfg.Queue.Timeout
	}
	// The concurrent deliveries claim and record their emails in shared statements.
	batch := cfg.Store.Batched()
	w := &Worker{
		server:  asynq.NewServerFromRedisClient(rdb, srvCfg),
		handler: New(batch, cfg.Sender, handlerCfg, log, opts...),
		batch:   batch,
		relay:   outbox.NewRelay(cfg.Store, client, relayCfg, log),
		client:  client,
		rdb:     rdb,
	}
	mux := asynq.NewServeMux()
	mux.Handle(queue.TypeEmail, w.handler)
	if err := w.server.Start(mux); err != nil {
		batch.Close()
		_ = rdb.Close()
		_ = client.Close()
		return nil, fmt.Errorf("start: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	w.cancel = cancel
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		if err := w.relay.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			log.Error("relay stopped", "err", err)
		}
	}()
	return w, nil
}

// Relay is the worker's outbox relay.
func (w *Worker) Relay() *outbox.Relay { return w.relay }

// Queue is the worker's queue client, for the queue's metrics.
func (w *Worker) Queue() *queue.Client { return w.client }

// Redis is the worker's connection to the queue's Redis, for its readiness probe.
func (w *Worker) Redis() *redis.Client { return w.rdb }

// Shutdown stops fetching, defers the jobs waiting for a breaker, lets running deliveries
// finish within the queue's ShutdownTimeout and returns the rest to the queue; then it stops
// the relay and closes the connections.
func (w *Worker) Shutdown() {
	w.handler.Stop()
	w.server.Shutdown()
	w.batch.Close()
	w.cancel()
	w.wg.Wait()
	_ = w.client.Close()
	_ = w.rdb.Close()
}
