package cache_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/infra/cache"
	"github.com/oeshq/oes/pkg/oes"
)

// loader counts its calls and returns what it is told to.
type loader struct {
	calls atomic.Int64
	delay time.Duration
	value []byte
	err   error
}

func (l *loader) load(ctx context.Context) ([]byte, error) {
	l.calls.Add(1)
	if l.delay > 0 {
		time.Sleep(l.delay)
	}
	return l.value, l.err
}

func TestGetOrSetLoadsOnceThenHits(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	ctx := context.Background()
	l := &loader{value: []byte(`[1,2,3]`)}

	for range 3 {
		v, err := b.cache.GetOrSet(ctx, cache.ExamQuestions(1), 0, l.load)
		require.NoError(t, err)
		require.Equal(t, `[1,2,3]`, string(v))
	}
	require.Equal(t, int64(1), l.calls.Load())
	n := stats(b.cache, cache.KindExamQuestions)
	require.Equal(t, uint64(1), n.Misses)
	require.Equal(t, uint64(2), n.Hits())

	pttl, err := b.raw.Do(ctx, b.raw.B().Pttl().Key(b.redisKey(t, cache.ExamQuestions(1))).Build()).AsInt64()
	require.NoError(t, err)
	require.InDelta(t, (4 * time.Hour).Milliseconds(), pttl, 2000, "ttl 0 stores with the kind's default")
}

func TestGetOrSetCollapsesConcurrentMisses(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	ctx := context.Background()
	l := &loader{value: []byte("exam"), delay: 50 * time.Millisecond}

	const callers = 50
	start := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for range callers {
		wg.Go(func() {
			<-start
			v, err := b.cache.GetOrSet(ctx, cache.Exam(5), 0, l.load)
			if err == nil && string(v) != "exam" {
				err = errors.New("wrong value " + string(v))
			}
			errs <- err
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Equal(t, int64(1), l.calls.Load(), "50 concurrent misses, one load")
}

func TestGetOrSetRemembersNotFound(t *testing.T) {
	t.Parallel()
	const notFoundTTL = 400 * time.Millisecond
	b := setup(t, setupOpts{config: func(c *cache.Config) { c.NotFoundTTL = notFoundTTL }})
	ctx := context.Background()
	key := cache.Exam(404)
	l := &loader{err: oes.Errorf(oes.ENOTFOUND, "exam 404 does not exist")}

	_, err := b.cache.GetOrSet(ctx, key, 0, l.load)
	require.Equal(t, oes.ENOTFOUND, oes.ErrorCode(err))
	remembered := time.Now()
	require.Equal(t, int64(1), l.calls.Load())

	pttl, err := b.raw.Do(ctx, b.raw.B().Pttl().Key(b.redisKey(t, key)).Build()).AsInt64()
	require.NoError(t, err)
	require.LessOrEqual(t, pttl, notFoundTTL.Milliseconds(), "the tombstone lives NotFoundTTL")

	for range 3 {
		v, err := b.cache.GetOrSet(ctx, key, 0, l.load)
		require.Nil(t, v)
		var oerr *oes.Error
		require.ErrorAs(t, err, &oerr)
		require.Equal(t, oes.ENOTFOUND, oerr.Code)
		require.Equal(t, "exam 404 does not exist", oerr.Message)
	}
	require.Equal(t, int64(1), l.calls.Load(), "not found is remembered")

	_, ok, err := b.cache.Get(ctx, key)
	require.NoError(t, err)
	require.False(t, ok, "Get reports a remembered not-found as a miss")

	time.Sleep(notFoundTTL - time.Since(remembered) + 50*time.Millisecond)
	_, err = b.cache.GetOrSet(ctx, key, 0, l.load)
	require.Equal(t, oes.ENOTFOUND, oes.ErrorCode(err))
	require.Equal(t, int64(2), l.calls.Load(), "after NotFoundTTL the loader is asked again")
}

func TestGetOrSetDoesNotRememberOtherErrors(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	ctx := context.Background()
	boom := errors.New("database unreachable")
	l := &loader{err: boom}

	for range 2 {
		_, err := b.cache.GetOrSet(ctx, cache.Question(1), 0, l.load)
		require.ErrorIs(t, err, boom)
	}
	require.Equal(t, int64(2), l.calls.Load())
	_, ok, err := b.cache.Get(ctx, cache.Question(1))
	require.NoError(t, err)
	require.False(t, ok)
}

func TestGetOrSetStopsWaitingWhenCallerGivesUp(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	release := make(chan struct{})
	loaded := make(chan struct{})
	load := func(ctx context.Context) ([]byte, error) {
		<-release
		defer close(loaded)
		return []byte("late"), ctx.Err()
	}

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := b.cache.GetOrSet(ctx, cache.Exam(9), 0, load)
	require.ErrorIs(t, err, context.DeadlineExceeded)

	// The load itself was not cancelled with its first caller: it completes and fills the cache.
	close(release)
	<-loaded
	eventually(t, time.Second, "the detached load stored its value", func() bool {
		v, _, _ := b.cache.Get(context.Background(), cache.Exam(9))
		return string(v) == "late"
	})
}

func TestGetOrSetRaisesLoadPanicInCaller(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	require.Panics(t, func() {
		_, _ = b.cache.GetOrSet(context.Background(), cache.Exam(13), 0, func(context.Context) ([]byte, error) {
			panic("load bug")
		})
	})
}

// A flight serves every caller waiting for its key: the caller that started it going away does
// not cancel it, it keeps that caller's values (the request id), and it is bounded whatever
// its load does.
func TestAFlightOutlivesItsFirstCallerWithinABound(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	type requestID struct{}
	started, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	var seen struct {
		err      error
		deadline time.Time
		bounded  bool
		id       any
	}
	load := func(ctx context.Context) ([]byte, error) {
		once.Do(func() {
			close(started)
			<-release
			seen.err = ctx.Err()
			seen.deadline, seen.bounded = ctx.Deadline()
			seen.id = ctx.Value(requestID{})
		})
		return []byte(`"fresh"`), nil
	}

	first, cancel := context.WithCancel(context.WithValue(t.Context(), requestID{}, "req-1"))
	firstDone := make(chan error, 1)
	go func() {
		_, err := b.cache.GetOrSet(first, cache.Exam(7), 0, load)
		firstDone <- err
	}()
	<-started
	second := make(chan []byte, 1)
	go func() {
		v, err := b.cache.GetOrSet(t.Context(), cache.Exam(7), 0, load)
		assert.NoError(t, err)
		second <- v
	}()
	cancel()
	require.ErrorIs(t, <-firstDone, context.Canceled, "the first caller stops waiting")
	close(release)
	require.Equal(t, `"fresh"`, string(<-second), "the waiting caller gets the flight's value")
	require.NoError(t, seen.err, "the first caller's cancel does not reach the flight")
	require.True(t, seen.bounded, "the flight has a deadline")
	require.LessOrEqual(t, time.Until(seen.deadline), cache.FlightTimeout)
	require.Equal(t, "req-1", seen.id, "the flight keeps the first caller's values")
}
