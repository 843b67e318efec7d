package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/oeshq/oes/pkg/infra/queue"
	"github.com/oeshq/oes/pkg/infra/store"
)

// RelayConfig says how a Relay runs. Zero fields take the default named on each.
type RelayConfig struct {
	// Batch is how many emails one transaction relays or checks. Default 500.
	Batch int
	// Tick is how often the relay looks at the outbox and at the queue's marker when nothing
	// wakes it. Default 1s.
	Tick time.Duration
	// SweepInterval is how often every email that should be on the queue is checked against
	// Redis, in case Redis lost some of them without losing its marker (a failover to a replica
	// that was behind). A lost marker starts a sweep at once. Zero sweeps only then.
	SweepInterval time.Duration
	// JobTimeout is the queue's Timeout: an email claimed longer ago than this plus a margin
	// is no longer being sent by anyone, and is queued again if Redis lost its task.
	// delivery.StartWorker sets it to its queue's when it is zero.
	JobTimeout time.Duration
	// LeaderRetry is how often a relay that is not the leader tries to become it. Default 5s.
	LeaderRetry time.Duration
	// Chores are done by the leader besides relaying, each every its Interval (checked at
	// each Tick): work the workers need done once, not once per worker.
	Chores []Chore
}

// Chore is periodic work of the leading relay. Run returns how many things it did, for the
// log; an error is logged once until a run succeeds again.
type Chore struct {
	Name     string
	Interval time.Duration
	Run      func(ctx context.Context) (int, error)
}

func (c RelayConfig) withDefaults() RelayConfig {
	if c.Batch <= 0 {
		c.Batch = 500
	}
	if c.Tick <= 0 {
		c.Tick = time.Second
	}
	if c.LeaderRetry <= 0 {
		c.LeaderRetry = 5 * time.Second
	}
	return c
}

// claimMargin is added to JobTimeout before a sending email counts as abandoned: the worker
// that claimed it has returned or died by then.
const claimMargin = 30 * time.Second

// Queue is what the relay does on the email queue; *queue.Client implements it.
type Queue interface {
	Enqueue(ctx context.Context, j queue.Job) error
	Missing(ctx context.Context, js []queue.Job) ([]queue.Job, error)
	Recover(ctx context.Context) (lost bool, err error)
}

// Relay moves the outbox's pending emails onto the queue, and puts back any email the queue's
// Redis lost. It runs in every email worker; one of them at a time, the leader, does the work
// (it holds a Postgres advisory lock), and another takes over within LeaderRetry when the
// leader stops or loses Postgres.
//
// The leader is woken by Postgres's NOTIFY the moment an email commits, relays every pending
// email in batches (each batch one transaction: rows locked FOR UPDATE SKIP LOCKED, tasks put
// in Redis, rows marked queued), and otherwise looks once a Tick. A task's id is its email's
// id, so relaying an email twice queues it once. When Redis is down the emails stay pending
// and are relayed when it returns.
//
// Each Tick it also checks the queue's marker key: when Redis lost it, Redis lost its data,
// and the relay sweeps at once: every queued email, and every email
// claimed longer ago than JobTimeout, whose task is missing from Redis is queued again. It
// sweeps every SweepInterval anyway.
type Relay struct {
	store *store.Store
	queue Queue
	cfg   RelayConfig
	log   *slog.Logger
	now   func() time.Time

	mu    sync.Mutex
	stats RelayStats
}

// RelayStats count what a relay has done, for tests and logs.
type RelayStats struct {
	Relayed  int // emails put on the queue from pending
	Restored int // emails put on the queue again after Redis lost them
	Sweeps   int
}

// NewRelay returns a relay of st's outbox onto q.
func NewRelay(st *store.Store, q Queue, cfg RelayConfig, log *slog.Logger) *Relay {
	if log == nil {
		log = slog.Default()
	}
	return &Relay{store: st, queue: q, cfg: cfg.withDefaults(), log: log.With("component", "relay"), now: time.Now}
}

// Stats returns what the relay has done so far.
func (r *Relay) Stats() RelayStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stats
}

// Run relays until ctx ends, taking the lead whenever it is free. It returns nil when ctx ends.
func (r *Relay) Run(ctx context.Context) error {
	warn := newWarner(r.log)
	for {
		l, leader, err := r.store.ListenOutbox(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			warn.warn("relay cannot reach postgres; emails wait in the outbox", err)
		case leader:
			warn.ok("relay reached postgres")
			r.lead(ctx, l)
			l.Close()
			if ctx.Err() != nil {
				return nil
			}
			if err := l.Err(); err != nil {
				warn.warn("relay lost its postgres connection; emails wait in the outbox", err)
			}
			continue // try to lead again at once
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(r.cfg.LeaderRetry):
		}
	}
}

// lead does the relay's work while it holds l.
func (r *Relay) lead(ctx context.Context, l *store.OutboxListener) {
	r.log.Info("relay leading: moving the outbox's emails onto the queue")
	defer r.log.Info("relay no longer leading")
	tick := time.NewTicker(r.cfg.Tick)
	defer tick.Stop()
	redisWarn, pgWarn := newWarner(r.log), newWarner(r.log)
	// The first sweep waits a SweepInterval, unless the marker says Redis lost its data: a
	// worker that starts on a backlog does not check every email of it against Redis at once.
	lastSweep := r.now()
	// A notification only relays: the queue's marker and the sweep wait for the tick, so that
	// a steady stream of emails costs Redis no more than their tasks.
	look, looked := true, false
	chores := make([]choreState, len(r.cfg.Chores))
	for i, c := range r.cfg.Chores {
		chores[i] = choreState{Chore: c, warn: newWarner(r.log.With("chore", c.Name))}
	}
	for {
		n, err := r.RelayPending(ctx)
		report(pgWarn, redisWarn, err, "emails wait in the outbox")
		if n > 0 {
			r.log.Debug("emails relayed", "count", n)
		}
		if look {
			lastSweep = r.look(ctx, lastSweep, !looked, pgWarn, redisWarn)
			looked = true
			for i := range chores {
				chores[i].due(ctx, r.now(), r.log)
			}
		}

		select {
		case <-ctx.Done():
			return
		case <-l.Lost():
			return
		case <-l.Notified():
			look = false
		case <-tick.C:
			look = true
		}
	}
}

// look checks the queue's marker and sweeps when Redis lost its data or the last sweep, at
// lastSweep, is SweepInterval old. It returns when the relay last swept. At the first look of a
// leader a missing marker is no news: the Redis may be new.
func (r *Relay) look(ctx context.Context, lastSweep time.Time, first bool, pgWarn, redisWarn *warner) time.Time {
	lost, err := r.queue.Recover(ctx)
	if err != nil {
		redisWarn.warn("relay cannot reach the queue's redis; emails wait in the outbox", err)
	} else {
		redisWarn.ok("relay reached the queue's redis")
	}
	if err == nil && (lost || (r.cfg.SweepInterval > 0 && r.now().Sub(lastSweep) >= r.cfg.SweepInterval)) {
		if lost && !first {
			r.log.Warn("the queue's redis lost its data; putting the outbox's emails back on the queue")
		}
		restored, err := r.Sweep(ctx)
		report(pgWarn, redisWarn, err, "the sweep is tried again")
		if err == nil {
			lastSweep = r.now()
		}
		if restored > 0 {
			r.log.Warn("emails the queue's redis had lost are queued again", "count", restored)
		}
	}
	return lastSweep
}

// choreState is a chore with when it last ran.
type choreState struct {
	Chore
	last time.Time
	warn *warner
}

// due runs the chore when its interval has passed since its last run.
func (c *choreState) due(ctx context.Context, now time.Time, log *slog.Logger) {
	if now.Sub(c.last) < c.Interval {
		return
	}
	c.last = now
	n, err := c.Run(ctx)
	if err != nil {
		c.warn.warn(c.Name+" failed; tried again later", err)
		return
	}
	c.warn.ok(c.Name + " works again")
	if n > 0 {
		log.Info(c.Name, "count", n)
	}
}

// report logs err, at most once until it clears, by which dependency failed. A success clears
// Postgres's warning; the queue's is cleared by a successful Recover, which always asks Redis.
func report(pg, redis *warner, err error, consequence string) {
	var qerr *queueError
	switch {
	case err == nil:
		pg.ok("relay reached postgres")
	case errors.As(err, &qerr):
		redis.warn("relay cannot reach the queue's redis; "+consequence, qerr.err)
	default:
		pg.warn("relay cannot reach postgres; "+consequence, err)
	}
}

// queueError marks a failure of the queue, to tell it from the outbox's.
type queueError struct{ err error }

func (e *queueError) Error() string { return e.err.Error() }
func (e *queueError) Unwrap() error { return e.err }

// RelayPending puts every pending email on the queue, Batch at a time, and returns how many it
// relayed.
func (r *Relay) RelayPending(ctx context.Context) (int, error) {
	total := 0
	for {
		relayed := 0
		taken, err := r.store.RelayPending(ctx, r.cfg.Batch, func(jobs []store.OutboxJob) ([]int64, error) {
			ids, err := r.enqueueJobs(ctx, toQueueJobs(jobs))
			relayed = len(ids)
			return ids, err
		})
		total += relayed
		r.count(func(s *RelayStats) { s.Relayed += relayed })
		if err != nil {
			return total, err
		}
		if taken < r.cfg.Batch {
			return total, nil
		}
	}
}

// Sweep puts back on the queue every email that should be there and is not, and returns how
// many it restored.
func (r *Relay) Sweep(ctx context.Context) (int, error) {
	now := r.now()
	// Every queued email counts, however young: the relay puts its task in Redis before it
	// commits it as queued, and a worker moves it to sending before its task leaves Redis.
	queuedBefore, claimedBefore := now, now.Add(-r.cfg.JobTimeout-claimMargin)
	restored := 0
	defer func() { r.count(func(s *RelayStats) { s.Restored += restored; s.Sweeps++ }) }()
	var after int64
	for {
		last, n, err := r.store.SweepInFlight(ctx, after, r.cfg.Batch, queuedBefore, claimedBefore,
			func(jobs []store.OutboxJob) ([]int64, error) {
				missing, err := r.queue.Missing(ctx, toQueueJobs(jobs))
				if err != nil {
					return nil, &queueError{err}
				}
				ids, err := r.enqueueJobs(ctx, missing)
				restored += len(ids)
				return ids, err
			})
		if err != nil {
			return restored, err
		}
		if n < r.cfg.Batch {
			return restored, nil
		}
		after = last
	}
}

// enqueueJobs puts jobs on the queue in order and returns the ids it queued, stopping at the
// first failure.
func (r *Relay) enqueueJobs(ctx context.Context, jobs []queue.Job) ([]int64, error) {
	ids := make([]int64, 0, len(jobs))
	for _, j := range jobs {
		if err := r.queue.Enqueue(ctx, j); err != nil {
			return ids, &queueError{fmt.Errorf("email %d: %w", j.ID, err)}
		}
		ids = append(ids, j.ID)
	}
	return ids, nil
}

func toQueueJobs(jobs []store.OutboxJob) []queue.Job {
	out := make([]queue.Job, len(jobs))
	for i, j := range jobs {
		out[i] = queue.Job{ID: j.ID, Kind: string(j.Kind), Priority: j.Priority, RunAt: j.RunAt}
	}
	return out
}

func (r *Relay) count(f func(*RelayStats)) {
	r.mu.Lock()
	f(&r.stats)
	r.mu.Unlock()
}

// warner logs a dependency's failure once, and its recovery once, instead of at every tick.
type warner struct {
	log    *slog.Logger
	failed bool
}

func newWarner(log *slog.Logger) *warner { return &warner{log: log} }

func (w *warner) warn(msg string, err error) {
	if !w.failed {
		w.log.Warn(msg, "err", err)
	}
	w.failed = true
}

func (w *warner) ok(msg string) {
	if w.failed {
		w.log.Info(msg)
	}
	w.failed = false
}
