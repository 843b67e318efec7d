package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/oeshq/oes/bench/internal/benchkit"
	"github.com/oeshq/oes/bench/internal/benchkit/smtpsink"
	"github.com/oeshq/oes/pkg/infra/store"
)

const (
	// startWithin bounds a process's start-up.
	startWithin = 60 * time.Second
	// stopWithin is how long a process has to exit after SIGTERM before it is killed: more
	// than the worker's SHUTDOWN_TIMEOUT (20s), so that it is never killed for being orderly.
	stopWithin = 30 * time.Second
	// queuePrefix names the queue's lanes in the scenarios' private Redis.
	queuePrefix = "faults"
)

// rig is one scenario's world: a redis-server as the queue's Redis, an SMTP sink, a fresh
// schema, and the api and worker processes started on them.
type rig struct {
	env     *environment
	name    string          // the scenario's short name: its schema, its processes' names
	procs   *benchkit.Group // the api and the workers
	servers *benchkit.Group // the redis-server, stopped after them
	redis   *benchkit.RedisServer
	sink    *smtpsink.Sink
	dbURL   string // the scenario's schema
	st      *store.Store
	closeDB func()
	workers int // workers started so far, to name each one's log
}

// newRig sets up scenario n's world. close stops everything it started.
func newRig(ctx context.Context, env *environment, n int, name string) (r *rig, err error) {
	dir := filepath.Join(env.dir, fmt.Sprintf("%d-%s", n, name))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	r = &rig{env: env, name: name, closeDB: func() {},
		procs: &benchkit.Group{Dir: dir, StopWithin: stopWithin}, servers: &benchkit.Group{Dir: dir, StopWithin: stopWithin}}
	defer func() {
		if err != nil {
			r.close()
		}
	}()
	if r.redis, err = benchkit.StartRedis(ctx, r.servers, "redis"); err != nil {
		return r, err
	}
	if r.sink, err = smtpsink.Start(false); err != nil {
		return r, err
	}
	if r.dbURL, err = benchkit.FreshSchema(ctx, env.dbURL, "faults_"+name); err != nil {
		return r, err
	}
	pool, err := store.Open(ctx, r.dbURL, 8)
	if err != nil {
		return r, err
	}
	r.st, r.closeDB = store.New(pool), pool.Close
	return r, nil
}

// close stops the processes, last started first, then Redis and the sink, and closes the pool.
func (r *rig) close() {
	r.procs.StopAll()
	r.servers.StopAll()
	if r.sink != nil {
		r.sink.Close()
	}
	r.closeDB()
}

// worker is a running emailworker and the address of its probes and metrics.
type worker struct {
	*benchkit.Process
	health string
}

// startWorker starts an emailworker on the rig's Redis, schema and sink, with the worker's
// defaults for everything else, and waits until its probes answer: /readyz, or /healthz when
// ready is false (the queue's Redis is down on purpose).
func (r *rig) startWorker(ctx context.Context, ready bool) (*worker, error) {
	w, err := r.spawnWorker()
	if err != nil {
		return nil, err
	}
	path := "/healthz"
	if ready {
		path = "/readyz"
	}
	if err := w.WaitOK(ctx, "http://"+w.health+path, startWithin, 20*time.Millisecond); err != nil {
		return nil, err
	}
	return w, nil
}

// spawnWorker starts an emailworker without waiting for it.
func (r *rig) spawnWorker() (*worker, error) {
	health, err := benchkit.FreeAddr()
	if err != nil {
		return nil, err
	}
	r.workers++
	cmd := exec.Command(r.env.worker)
	cmd.Env = benchkit.ChildEnv(append(r.redisEnv(),
		// Its log is evidence: which emails it deferred, when it paused and resumed.
		"LOG_LEVEL=info",
		"DATABASE_URL="+r.dbURL,
		"SMTP_HOST=127.0.0.1",
		"SMTP_PORT="+strconv.Itoa(r.sink.Port()),
		"SMTP_TLS=none",
		"HEALTH_ADDR="+health,
	)...)
	p, err := r.procs.Start(fmt.Sprintf("emailworker %d", r.workers), cmd)
	if err != nil {
		return nil, err
	}
	return &worker{Process: p, health: health}, nil
}

// startAPI starts `api serve` on the rig's Redis and schema, with the cache off (nothing
// cached may answer for the database), and waits until its /readyz answers, which needs
// Postgres only.
func (r *rig) startAPI(ctx context.Context) (*apiClient, error) {
	addr, err := benchkit.FreeAddr()
	if err != nil {
		return nil, err
	}
	metrics, err := benchkit.FreeAddr()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(r.env.api, "serve")
	cmd.Env = benchkit.ChildEnv(append(r.redisEnv(),
		"DATABASE_URL="+r.dbURL,
		"HTTP_ADDR="+addr,
		"METRICS_ADDR="+metrics,
		"CACHE_ENABLED=false",
		// A secret for this run only.
		"JWT_SECRET="+randomHex(32),
	)...)
	p, err := r.procs.Start("api", cmd)
	if err != nil {
		return nil, err
	}
	if _, err := p.WaitReady(ctx, addr, startWithin, 20*time.Millisecond); err != nil {
		return nil, err
	}
	return newAPIClient(addr), nil
}

// redisEnv points every Redis setting of both binaries at the rig's redis-server, so that
// neither touches the Redis of the environment.
func (r *rig) redisEnv() []string {
	return []string{
		"REDIS_URL=" + r.redis.URL(),
		"QUEUE_REDIS_URL=" + r.redis.URL(),
		"CACHE_REDIS_URL=",
		"RATE_LIMIT_REDIS_URL=",
		"QUEUE_PREFIX=" + queuePrefix,
	}
}

// sleep waits d, or less when ctx ends first.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func randomHex(bytes int) string {
	b := make([]byte, bytes)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
