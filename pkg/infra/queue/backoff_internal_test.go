package queue

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/stretchr/testify/require"
)

func TestBackoffDoublesFromBaseWithinJitterUpToTheLimit(t *testing.T) {
	t.Parallel()
	const base, limit = 2 * time.Second, 30 * time.Second
	for _, tc := range []struct {
		n    int
		r    float64
		want time.Duration
	}{
		{0, 0.5, 2 * time.Second},
		{1, 0.5, 4 * time.Second},
		{2, 0.5, 8 * time.Second},
		{3, 0.5, 16 * time.Second},
		{4, 0.5, 30 * time.Second}, // 32s, capped
		{0, 0, 1600 * time.Millisecond},
		{0, 1, 2400 * time.Millisecond},
		{3, 1, 19200 * time.Millisecond},
		{3, 0, 12800 * time.Millisecond},
		{4, 1, 30 * time.Second}, // the jitter does not lift it over the limit
		{4, 0, 24 * time.Second},
		{80, 0.5, 30 * time.Second}, // no overflow
		{-1, 0.5, 2 * time.Second},
	} {
		require.Equal(t, tc.want, backoff(base, limit, tc.n, tc.r), "n=%d r=%v", tc.n, tc.r)
	}
}

func TestBackoffStaysWithinItsJitter(t *testing.T) {
	t.Parallel()
	for range 100 {
		d := Backoff(2*time.Second, time.Hour, 3)
		require.GreaterOrEqual(t, d, 12800*time.Millisecond)
		require.LessOrEqual(t, d, 19200*time.Millisecond)
	}
}

// requireWholeSecond fails unless now+d is a whole second for the now RetryDelay read, which
// lies between before and after.
func requireWholeSecond(t *testing.T, before, after time.Time, d time.Duration, msg string) {
	t.Helper()
	end := time.Unix(after.Add(d).Unix(), 0)
	require.False(t, end.Before(before.Add(d)), "%s: %v does not end on a whole second", msg, d)
}

func TestRetryDelayEndsOnAWholeSecondAndIsNeverShort(t *testing.T) {
	t.Parallel()
	delay := RetryDelay(2*time.Second, time.Hour)
	for n := range 6 {
		nominal := 2 * time.Second << n
		before := time.Now()
		d := delay(n, errors.New("421 4.7.0 try again later"), nil)
		after := time.Now()

		require.GreaterOrEqual(t, d, nominal*8/10, "n=%d", n)
		require.LessOrEqual(t, d, nominal*12/10+time.Second, "n=%d", n)
		requireWholeSecond(t, before, after, d, fmt.Sprintf("n=%d", n))
	}
}

// A deferral says when to try again; the backoff of the failures so far (256s here) does not
// apply, nor does the limit: the handler chose the delay.
func TestRetryDelayWaitsOutADeferral(t *testing.T) {
	t.Parallel()
	delay := RetryDelay(2*time.Second, time.Hour)
	for _, wait := range []time.Duration{0, 1500 * time.Millisecond, 10 * time.Second, 3 * time.Hour} {
		for _, err := range []error{
			Defer(wait, "smtp.example.org unreachable", nil),
			fmt.Errorf("deliver: %w", Defer(wait, "postgres unavailable", nil)),
		} {
			before := time.Now()
			d := delay(7, err, nil)
			after := time.Now()

			require.GreaterOrEqual(t, d, wait, "%v: %v", wait, err)
			require.Less(t, d, wait+time.Second, "%v: %v", wait, err)
			requireWholeSecond(t, before, after, d, fmt.Sprintf("%v: %v", wait, err))
		}
	}
}

// A worker that died (its lease expired) says nothing about the email: its job runs again as
// soon as asynq can tell the time apart.
func TestRetryDelayRunsADeadWorkersJobAgainAtOnce(t *testing.T) {
	t.Parallel()
	delay := RetryDelay(2*time.Second, time.Hour)
	for _, err := range []error{asynq.ErrLeaseExpired, fmt.Errorf("recover: %w", asynq.ErrLeaseExpired)} {
		before := time.Now()
		d := delay(7, err, nil)
		after := time.Now()

		require.GreaterOrEqual(t, d, time.Duration(0))
		require.LessOrEqual(t, d, time.Second, "%v", err)
		requireWholeSecond(t, before, after, d, err.Error())
	}
}

func TestWholeSecondAfterRoundsUp(t *testing.T) {
	t.Parallel()
	require.Equal(t, time.Unix(11, 0), wholeSecondAfter(time.Unix(10, 1)))
	require.Equal(t, time.Unix(11, 0), wholeSecondAfter(time.Unix(10, 999_999_999)))
	require.Equal(t, time.Unix(10, 0), wholeSecondAfter(time.Unix(10, 0)))
}
