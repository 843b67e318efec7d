package delivery

import (
	"log/slog"
	"sync"
	"time"

	"github.com/hibiken/asynq"

	"github.com/oeshq/oes/pkg/queue"
)

// progressInterval is how often a running delivery's progress is written to its job. Each
// write is a Redis round trip; most deliveries finish well within one interval, and for them
// nothing is written at all: Status reports a completed job at 100 and a failed one by its
// reason. A slow delivery, the one someone watches, shows its progress within an interval.
const progressInterval = 100 * time.Millisecond

// progressReporter keeps the latest progress a sender reported and writes it to the job at
// most once per interval, from its own timer so that the send never waits for Redis.
type progressReporter struct {
	task *asynq.Task
	log  *slog.Logger

	mu       sync.Mutex
	latest   int
	written  int
	stopped  bool
	interval time.Duration
	timer    *time.Timer
}

func newProgressReporter(t *asynq.Task, interval time.Duration, log *slog.Logger) *progressReporter {
	p := &progressReporter{task: t, log: log, interval: interval}
	p.timer = time.AfterFunc(interval, p.flush)
	return p
}

// report records percent; it is the sender's progress callback.
func (p *progressReporter) report(percent int) {
	p.mu.Lock()
	p.latest = percent
	p.mu.Unlock()
}

// flush writes the latest progress if it changed, then waits for the next interval.
func (p *progressReporter) flush() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return
	}
	if p.latest != p.written {
		if err := queue.WriteProgress(p.task, p.latest); err != nil {
			p.log.Debug("progress not recorded", "progress", p.latest, "err", err)
		} else {
			p.written = p.latest
		}
	}
	p.timer.Reset(p.interval)
}

// stop ends the reporting once the send has returned; no write happens after it.
func (p *progressReporter) stop() {
	p.mu.Lock()
	p.stopped = true
	p.mu.Unlock()
	p.timer.Stop()
}
