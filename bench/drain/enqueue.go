package main

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// enqueueRun is one measured run of queueing emails: writing them to the outbox, relaying
// them onto the queue, or registering accounts through the api.
type enqueueRun struct {
	jobs     int // the emails written or relayed
	failed   int
	firstErr string
	elapsed  time.Duration
	p50, p99 time.Duration // of one call, from its start to its answer; 0 when not measured
	use      usage
}

func (e enqueueRun) rate() float64 { return float64(e.jobs) / e.elapsed.Seconds() }

// latencies collects the duration of each call of a closed-loop run.
type latencies struct {
	mu  sync.Mutex
	all []time.Duration
}

func (l *latencies) add(d []time.Duration) {
	l.mu.Lock()
	l.all = append(l.all, d...)
	l.mu.Unlock()
}

// percentile returns the p-quantile (0 < p <= 1) of the durations, nearest rank.
func (l *latencies) percentile(p float64) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	slices.Sort(l.all)
	return percentile(l.all, p)
}

// percentile returns the p-quantile (0 < p <= 1) of sorted, nearest rank; 0 when it is empty.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// closedLoop calls do(i) for every i below n from workers goroutines, each with one call in
// flight, and measures the run. do returns an error text, "" on success.
func closedLoop(ctx context.Context, m *meter, pid, n, workers int, do func(ctx context.Context, i int) string) enqueueRun {
	var next atomic.Int64
	var failed atomic.Int64
	var firstErr atomic.Value
	var lat latencies
	before := m.read(ctx, pid)
	start := time.Now()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			own := make([]time.Duration, 0, n/workers+1)
			defer func() { lat.add(own) }()
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				t := time.Now()
				if msg := do(ctx, i); msg != "" {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, msg)
					continue
				}
				own = append(own, time.Since(t))
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	r := enqueueRun{
		jobs:    len(lat.all),
		failed:  int(failed.Load()),
		elapsed: elapsed,
		p50:     lat.percentile(0.50),
		p99:     lat.percentile(0.99),
		use:     m.read(ctx, pid).since(before),
	}
	if s, ok := firstErr.Load().(string); ok {
		r.firstErr = s
	}
	return r
}
