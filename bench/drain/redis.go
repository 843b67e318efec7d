package main

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/oeshq/oes/bench/internal/benchkit"
	"github.com/oeshq/oes/pkg/infra/queue"
)

// removeQueue removes every key of the queue cfg names from Redis: asynq's keys of its three
// lanes (asynq:{<prefix>:<lane>}:*), the lanes' entries in asynq's set of queues, and the
// queue's own keys (<prefix>:*, its marker). The lanes would otherwise show in every asynq
// tool pointed at the shared Redis.
func removeQueue(ctx context.Context, rdb *redis.Client, cfg queue.Config) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	prefix := benchkit.GlobEscape(cfg.QueuePrefix)
	var errs []error
	for _, pattern := range []string{"asynq:{" + prefix + ":*}:*", prefix + ":*"} {
		errs = append(errs, benchkit.UnlinkMatching(ctx, rdb, pattern))
	}
	// asynq.Inspector's DeleteQueue would refuse a lane that still holds jobs; the keys are
	// gone already, so only the name is left to remove.
	names := cfg.QueueNames()
	members := make([]any, len(names))
	for i, n := range names {
		members[i] = n
	}
	errs = append(errs, rdb.SRem(ctx, "asynq:queues", members...).Err())
	return errors.Join(errs...)
}

// redisStats is what Redis says of its own work: the CPU time of the server process and, by
// command, how many calls it ran and how long they took. Commands run inside Lua scripts
// count as well as the scripts' own EVALSHA. They cover every client of the server, so a
// Redis that others use at the same time adds their work.
type redisStats struct {
	cpu   time.Duration
	calls map[string]int64
	usec  int64 // time spent in commands, all commands together
	known bool
}

func readRedisStats(ctx context.Context, rdb *redis.Client) redisStats {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	info, err := rdb.Info(ctx, "cpu", "commandstats").Result()
	if err != nil {
		return redisStats{}
	}
	s := redisStats{calls: map[string]int64{}, known: true}
	var cpu float64
	in := bufio.NewScanner(strings.NewReader(info))
	for in.Scan() {
		name, value, ok := strings.Cut(strings.TrimSpace(in.Text()), ":")
		if !ok {
			continue
		}
		switch {
		case name == "used_cpu_sys" || name == "used_cpu_user":
			f, err := strconv.ParseFloat(value, 64)
			if err != nil {
				return redisStats{}
			}
			cpu += f
		case strings.HasPrefix(name, "cmdstat_"):
			// cmdstat_evalsha:calls=4000,usec=91234,usec_per_call=22.81,...
			for field := range strings.SplitSeq(value, ",") {
				k, v, _ := strings.Cut(field, "=")
				n, err := strconv.ParseInt(v, 10, 64)
				if err != nil {
					continue
				}
				switch k {
				case "calls":
					s.calls[strings.TrimPrefix(name, "cmdstat_")] = n
				case "usec":
					s.usec += n
				}
			}
		}
	}
	s.cpu = time.Duration(cpu * float64(time.Second))
	return s
}

// sub returns the work Redis did between before and s.
func (s redisStats) sub(before redisStats) redisStats {
	if !s.known || !before.known {
		return redisStats{}
	}
	d := redisStats{cpu: s.cpu - before.cpu, usec: s.usec - before.usec, calls: map[string]int64{}, known: true}
	for name, n := range s.calls {
		if n -= before.calls[name]; n > 0 {
			d.calls[name] = n
		}
	}
	return d
}

// perJob describes the commands per job, most frequent first, leaving out those below 0.05
// per job (the pings of health checks and the like).
func (s redisStats) perJob(jobs int) string {
	if !s.known || jobs == 0 {
		return "n/a"
	}
	names := slices.Collect(maps.Keys(s.calls))
	slices.SortFunc(names, func(a, b string) int {
		return cmp.Or(cmp.Compare(s.calls[b], s.calls[a]), strings.Compare(a, b))
	})
	var total float64
	var parts []string
	for _, name := range names {
		per := float64(s.calls[name]) / float64(jobs)
		total += per
		if per >= 0.05 {
			parts = append(parts, fmt.Sprintf("%s %.2f", strings.ToUpper(name), per))
		}
	}
	return fmt.Sprintf("%.1f in all: %s", total, strings.Join(parts, ", "))
}
