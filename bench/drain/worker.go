package main

import (
	"context"
	"os/exec"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/oeshq/oes/bench/internal/benchkit"
	"github.com/oeshq/oes/bench/internal/benchkit/smtpsink"
	"github.com/oeshq/oes/pkg/config"
	"github.com/oeshq/oes/pkg/config/workerenv"
)

// rig is what every phase measures with: the processes it starts, the SMTP sink, the queue's
// Redis, the counters, the bench database and the worker's binary.
type rig struct {
	procs    *benchkit.Group
	sink     *smtpsink.Sink
	rdb      *redis.Client
	redisURL string
	meter    *meter
	dbURL    string
	worker   string
}

// workerProcess is an emailworker the bench started.
type workerProcess struct {
	proc       *benchkit.Process
	healthAddr string
	readyAt    time.Time // when its /readyz first answered 200
}

// startWorker starts the worker binary as the process called name, on the queue of prefix
// and the bench database's outbox, with conns deliveries at once to the sink and asynq's
// fetch interval fetch (the shipped default when 0), and returns once its /readyz answers.
// Its relay runs as in any worker.
func (r *rig) startWorker(ctx context.Context, name, prefix string, conns int, fetch time.Duration) (*workerProcess, error) {
	if fetch == 0 {
		fetch = shippedFetchInterval()
	}
	healthAddr, err := benchkit.FreeAddr()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(r.worker)
	cmd.Env = benchkit.ChildEnv(
		"DATABASE_URL="+r.dbURL,
		"QUEUE_PREFIX="+prefix,
		"EMAIL_CONCURRENCY="+strconv.Itoa(conns),
		"EMAIL_FETCH_INTERVAL="+fetch.String(),
		"SMTP_HOST=127.0.0.1",
		"SMTP_PORT="+strconv.Itoa(r.sink.Port()),
		"SMTP_TLS=none",
		"SMTP_FROM="+smtpFrom,
		"HEALTH_ADDR="+healthAddr,
	)
	p, err := r.procs.Start(name, cmd)
	if err != nil {
		return nil, err
	}
	readyAt, err := p.WaitReady(ctx, healthAddr, readyWithin, readyPoll)
	if err != nil {
		_ = p.Stop()
		return nil, err
	}
	return &workerProcess{proc: p, healthAddr: healthAddr, readyAt: readyAt}, nil
}

// shippedFetchInterval is EMAIL_FETCH_INTERVAL's default, so that the bench measures what
// ships whatever the environment says.
func shippedFetchInterval() time.Duration {
	return config.Defaults[workerenv.Worker]().EmailFetchInterval
}
