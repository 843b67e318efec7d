package main

import (
	"context"
	"errors"
	"os"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/oeshq/oes/pkg/benchkit"
)

// usage is the CPU spent during a measured phase, in CPU time: by the process under test (the
// sender, the worker, or the api), by drain itself (the sink; the enqueuing client), by Redis,
// and by everything else on the machine. A figure that could not be read is negative.
type usage struct {
	window time.Duration // how long the counters ran
	proc   time.Duration
	self   time.Duration
	redis  time.Duration
	other  time.Duration
	rstats redisStats
}

// counters is a reading of the CPU counters at one moment.
type counters struct {
	at     time.Time
	proc   time.Duration
	self   time.Duration
	busy   time.Duration
	rstats redisStats
	err    error
}

// readCounters reads the counters of the process pid (none when 0), of drain, of the machine
// and of Redis. Redis is asked first: its answer takes a round trip, the rest is /proc.
func readCounters(ctx context.Context, rdb *redis.Client, pid int) counters {
	c := counters{rstats: readRedisStats(ctx, rdb)}
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
		u.proc, u.self, u.redis, u.other = -1, -1, -1, -1
		return u
	}
	u.proc, u.self = c.proc-before.proc, c.self-before.self
	u.redis = -1
	if u.rstats.known {
		u.redis = u.rstats.cpu
	}
	u.other = c.busy - before.busy - u.proc - u.self - max(u.redis, 0)
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
