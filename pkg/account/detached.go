package account

import (
	"context"
	"sync"
	"time"
)

// The work of a resend or a reset request (looking the address up, issuing the token, writing
// the email) runs after the request is answered, so that the answer takes as long whether or
// not the address has an account: doing the work in the request and padding the shorter path
// would leak again whenever the database is slower than the padding.
const (
	// detachedTimeout bounds each piece of detached work.
	detachedTimeout = 10 * time.Second
	// maxDetached pieces run at once; a request that finds them all busy waits for a slot
	// before it is answered, which takes as long whatever its address.
	maxDetached = 64
)

// detached runs work that outlives the request that asked for it; Wait waits for it.
type detached struct {
	slots chan struct{}

	mu      sync.Mutex
	idle    sync.Cond // broadcast when running drops to 0
	running int
}

func newDetached() *detached {
	d := &detached{slots: make(chan struct{}, maxDetached)}
	d.idle.L = &d.mu
	return d
}

// run starts work in a context that keeps ctx's values (the request id of its log lines) but
// not its cancellation, bounded by detachedTimeout. It returns ctx's error when ctx ends before
// a slot is free; the work is not started then.
func (d *detached) run(ctx context.Context, work func(context.Context)) error {
	select {
	case d.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	d.mu.Lock()
	d.running++
	d.mu.Unlock()
	go func() {
		defer d.done()
		defer func() { <-d.slots }()
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), detachedTimeout)
		defer cancel()
		work(ctx)
	}()
	return nil
}

func (d *detached) done() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.running--; d.running == 0 {
		d.idle.Broadcast()
	}
}

// Wait returns once no email asked for is still being written (each is written or given up
// within detachedTimeout): the api calls it on shutdown, after the last request and before
// closing the database. It may be called at any time, by any number of callers.
func (s *Service) Wait() {
	d := s.detached
	d.mu.Lock()
	defer d.mu.Unlock()
	for d.running > 0 {
		d.idle.Wait()
	}
}
