package delivery

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// Breaker stops deliveries while a dependency (the SMTP server, Postgres) is down, instead of
// letting every job in the queue fail against it: after Threshold failures in a row it opens,
// and the handlers wait at Wait instead of taking their email. One goroutine then probes the
// dependency, first after ProbeMin and then twice as long each time up to ProbeMax, and
// closes the breaker at the first probe that succeeds. Safe for concurrent use.
type Breaker struct {
	name      string
	probe     func(context.Context) error
	threshold int
	probeMin  time.Duration
	probeMax  time.Duration
	log       *slog.Logger
	onChange  func(open bool)

	mu       sync.Mutex
	failures int
	openedAt time.Time
	// pass is closed while the breaker is closed; an open breaker has a fresh one that its
	// probe closes.
	pass    chan struct{}
	stopped chan struct{}
}

// BreakerConfig configures a Breaker. Zero fields take the default named on each.
type BreakerConfig struct {
	Name string // the dependency, as logs and metrics name it
	// Probe checks the dependency; nil means it is back as soon as anyone looks.
	Probe func(context.Context) error
	// Threshold is how many failures in a row open the breaker. Default 3.
	Threshold int
	// ProbeMin and ProbeMax bound the time between probes. Defaults 500ms and 5s.
	ProbeMin, ProbeMax time.Duration
	// OnChange is told when the breaker opens (true) and closes (false), for metrics.
	OnChange func(open bool)
}

// probeTimeout bounds one probe.
const probeTimeout = 10 * time.Second

// NewBreaker returns a closed breaker.
func NewBreaker(cfg BreakerConfig, log *slog.Logger) *Breaker {
	if cfg.Threshold <= 0 {
		cfg.Threshold = 3
	}
	if cfg.ProbeMin <= 0 {
		cfg.ProbeMin = 500 * time.Millisecond
	}
	if cfg.ProbeMax < cfg.ProbeMin {
		cfg.ProbeMax = max(5*time.Second, cfg.ProbeMin)
	}
	if cfg.Probe == nil {
		cfg.Probe = func(context.Context) error { return nil }
	}
	if cfg.OnChange == nil {
		cfg.OnChange = func(bool) {}
	}
	if log == nil {
		log = slog.Default()
	}
	pass := make(chan struct{})
	close(pass)
	return &Breaker{
		name: cfg.Name, probe: cfg.Probe, threshold: cfg.Threshold, probeMin: cfg.ProbeMin, probeMax: cfg.ProbeMax,
		log: log, onChange: cfg.OnChange, pass: pass, stopped: make(chan struct{}),
	}
}

// errStopped is Wait's error once Stop was called.
var errStopped = errors.New("the worker is stopping")

// Wait returns nil at once while the breaker is closed; while it is open it waits until it
// closes, ctx ends (returning ctx's error) or Stop is called (errStopped).
func (b *Breaker) Wait(ctx context.Context) error {
	b.mu.Lock()
	pass := b.pass
	b.mu.Unlock()
	select {
	case <-pass:
		return nil
	default:
	}
	select {
	case <-pass:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-b.stopped:
		return errStopped
	}
}

// Open reports whether the breaker is open.
func (b *Breaker) Open() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	select {
	case <-b.pass:
		return false
	default:
		return true
	}
}

// Success records that the dependency worked.
func (b *Breaker) Success() {
	b.mu.Lock()
	b.failures = 0
	b.mu.Unlock()
}

// Failure records that the dependency failed with err; the Threshold-th failure in a row opens
// the breaker.
func (b *Breaker) Failure(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failures++
	select {
	case <-b.pass:
	default:
		return // open already; its probe is running
	}
	if b.failures < b.threshold {
		return
	}
	b.pass = make(chan struct{})
	b.openedAt = time.Now()
	b.log.Warn(b.name+" unavailable: deliveries paused until it answers again", "dependency", b.name, "err", err,
		"failures", b.failures)
	b.onChange(true)
	go b.probeUntilBack(b.pass)
}

// probeUntilBack probes until the dependency answers, then closes pass.
//
//nolint:contextcheck // The probing outlives the delivery that opened the breaker and ends with Stop; each probe has its own deadline.
func (b *Breaker) probeUntilBack(pass chan struct{}) {
	wait := b.probeMin
	for {
		select {
		case <-b.stopped:
			return
		case <-time.After(wait):
		}
		ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
		err := b.probe(ctx)
		cancel()
		if err == nil {
			break
		}
		b.log.Debug(b.name+" still unavailable", "dependency", b.name, "err", err)
		wait = min(2*wait, b.probeMax)
	}
	b.mu.Lock()
	b.failures = 0
	down := time.Since(b.openedAt)
	close(pass)
	b.mu.Unlock()
	b.log.Info(b.name+" answers again: deliveries resume", "dependency", b.name, "paused", down.Round(time.Millisecond).String())
	b.onChange(false)
}

// Stop releases every Wait and ends the probing, for a worker that is shutting down.
func (b *Breaker) Stop() {
	b.mu.Lock()
	defer b.mu.Unlock()
	select {
	case <-b.stopped:
	default:
		close(b.stopped)
	}
}
