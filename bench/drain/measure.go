package main

import (
	"context"
	"errors"
	"os"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/oeshq/oes/bench/internal/benchkit"
)

// usage is the CPU spent during a measured phase, in CPU time: by the process under test (the
// sender, the worker, or the api), by drain itself (the sink; the producer; the relay), by
// Redis, by Postgres's processes working for the bench database, and by everything else on
// the machine. A figure that could not be read is negative. pstats, the bench database's
// counters, are read once the phase's connections have closed (pgProbe.settle) and set by
// the phase itself.
type usage struct {
	window   time.Duration // how long the counters ran
	proc     time.Duration
	self     time.Duration
	redis    time.Duration
	postgres time.Duration
	other    time.Duration
	rstats   redisStats
	pstats   pgStats
}

// meter reads the counters of a phase: Redis's own, Postgres's from /proc, the machine's.
type meter struct {
	rdb *redis.Client
	pg  *pgProbe
}

// counters is a reading of the CPU counters at one moment.
type counters struct {
	at     time.Time
	proc   time.Duration
	self   time.Duration
	busy   time.Duration
	pg     pgCPU // nil when unknown
	rstats redisStats
	err    error
}

// read reads the counters of the process pid (none when 0), of drain, of Postgres, of the
// machine and of Redis. Redis and Postgres are asked first: their answers take a round trip,
// the rest is /proc.
func (m *meter) read(ctx context.Context, pid int) counters {
	c := counters{rstats: readRedisStats(ctx, m.rdb)}
	c.pg, _ = m.pg.cpu(ctx)
	var errProc, errSelf, errBusy error
	if pid != 0 {
		c.proc, errProc = benchkit.CPUTime(pid)
	}
	c.self, errSelf = benchkit.CPUTime(os.Getpid())
	c.busy, errBusy = benchkit.BusyTime()
	c.at = time.Now()
	c.err = errors.Join(errProc, errSelf, errBusy)
	return c
}

// since returns the usage between before and c.
func (c counters) since(before counters) usage {
	u := usage{window: c.at.Sub(before.at), rstats: c.rstats.sub(before.rstats)}
	if c.err != nil || before.err != nil {
		u.proc, u.self, u.redis, u.postgres, u.other = -1, -1, -1, -1, -1
		return u
	}
	u.proc, u.self = c.proc-before.proc, c.self-before.self
	u.redis, u.postgres = -1, -1
	if u.rstats.known {
		u.redis = u.rstats.cpu
	}
	if c.pg != nil && before.pg != nil {
		u.postgres = c.pg.since(before.pg)
	}
	u.other = c.busy - before.busy - u.proc - u.self - max(u.redis, 0) - max(u.postgres, 0)
	u.other = max(u.other, 0)
	return u
}

// perItem returns d per item, or -1 when d is not known.
func perItem(d time.Duration, n int) time.Duration {
	if d < 0 || n == 0 {
		return -1
	}
	return d / time.Duration(n)
}

// cores returns d as a share of the window: CPU seconds per second.
func (u usage) cores(d time.Duration) float64 {
	if d < 0 || u.window <= 0 {
		return -1
	}
	return d.Seconds() / u.window.Seconds()
}
