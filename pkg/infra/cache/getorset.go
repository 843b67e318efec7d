package cache

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/oeshq/oes/pkg/oes"
)

// GetOrSet returns the value under key, calling load to produce and store it on a miss
// (cache-aside); ttl 0 means the kind's default TTL.
//
// Concurrent misses of one key in this process share a single call of load. That call runs
// detached from any one caller's cancellation, since it serves them all: give load its own
// deadline if it can hang. A caller whose ctx ends stops waiting and gets ctx's error.
//
// If load fails with an oes.ENOTFOUND error, GetOrSet returns that error and remembers it for
// Config.NotFoundTTL: until then GetOrSet returns an *oes.Error with code ENOTFOUND and the
// same message without calling load. Other errors of load are returned and not remembered.
//
// GetOrSet never fails because of Redis: when Redis cannot be asked, it returns load's result
// (Redis errors are counted and logged by the Cache). The returned slice must not be modified.
func (c *Cache) GetOrSet(ctx context.Context, key Key, ttl time.Duration, load func(ctx context.Context) ([]byte, error)) ([]byte, error) {
	if err := key.check(); err != nil {
		return nil, err
	}
	if ttl < 0 {
		return nil, fmt.Errorf("cache: get or set %v: negative ttl %v", key, ttl)
	}
	e, found, local, err := c.read(ctx, key)
	switch {
	case err != nil:
		// Counted and logged by read; the loader answers instead.
	case found:
		c.countHit(key.kind, local)
		if e.notFound {
			return nil, notFound(e.message)
		}
		return e.value, nil
	default:
		c.countMiss(key.kind)
	}

	ch := c.flights.DoChan(key.String(), func() (any, error) {
		// The flight serves every caller waiting for key, so the one that started it going
		// away does not cancel it; it keeps that caller's values (the request id) and ends
		// within flightTimeout whatever the load does.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), flightTimeout)
		defer cancel()
		return c.fill(ctx, key, ttl, load)
	})
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case r := <-ch:
		var p *loadPanic
		if errors.As(r.Err, &p) {
			panic(p)
		}
		b, _ := r.Val.([]byte)
		return b, r.Err
	}
}

// flightTimeout bounds a flight: the load and the write of its outcome. It is the api's
// longest request (its HTTP server's write timeout).
const flightTimeout = 30 * time.Second

// fill runs once per flight: it loads the value and stores the outcome.
func (c *Cache) fill(ctx context.Context, key Key, ttl time.Duration, load func(ctx context.Context) ([]byte, error)) ([]byte, error) {
	if c.Available() {
		// A flight that ended between this caller's miss and the start of this flight has
		// stored the value already, and its write dropped the local copy of the miss, so this
		// second look usually costs no round trip.
		if e, found, _, err := c.read(ctx, key); err == nil && found {
			if e.notFound {
				return nil, notFound(e.message)
			}
			return e.value, nil
		}
	}
	v, err := callLoad(ctx, load)
	if !c.Available() {
		return v, err // the write would fail too, and count the same outage again
	}
	switch {
	case err == nil:
		_ = c.Set(ctx, key, v, ttl) // a failure is counted and logged; the value is still good
	case oes.ErrorCode(err) == oes.ENOTFOUND:
		_ = c.store(ctx, key, encodeNotFound(oes.ErrorMessage(err)), c.cfg.NotFoundTTL)
	}
	return v, err
}

func notFound(message string) error {
	return &oes.Error{Code: oes.ENOTFOUND, Message: message}
}

// loadPanic carries a panic of load out of the flight, to be raised again in every caller
// waiting for it rather than crash the process from the flight's goroutine.
type loadPanic struct {
	value any
	stack []byte
}

func (p *loadPanic) Error() string {
	return fmt.Sprintf("cache: load panicked: %v\n\n%s", p.value, p.stack)
}

func callLoad(ctx context.Context, load func(ctx context.Context) ([]byte, error)) (v []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &loadPanic{value: r, stack: debug.Stack()}
		}
	}()
	return load(ctx)
}
