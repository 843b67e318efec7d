package queue

import (
	"testing"
	"time"

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

func TestRetryDelayEndsOnAWholeSecondAndIsNeverShort(t *testing.T) {
	t.Parallel()
	delay := RetryDelay(2*time.Second, time.Hour)
	for n := range 6 {
		nominal := 2 * time.Second << n
		before := time.Now()
		d := delay(n, nil, nil)
		after := time.Now()

		require.GreaterOrEqual(t, d, nominal*8/10, "n=%d", n)
		require.LessOrEqual(t, d, nominal*12/10+time.Second, "n=%d", n)
		// The retry time, now+d for a now between before and after, is a whole second.
		end := time.Unix(after.Add(d).Unix(), 0)
		require.False(t, end.Before(before.Add(d)), "n=%d: %v does not end on a whole second", n, d)
	}
}

func TestWholeSecondAfterRoundsUp(t *testing.T) {
	t.Parallel()
	require.Equal(t, time.Unix(11, 0), wholeSecondAfter(time.Unix(10, 1)))
	require.Equal(t, time.Unix(11, 0), wholeSecondAfter(time.Unix(10, 999_999_999)))
	require.Equal(t, time.Unix(10, 0), wholeSecondAfter(time.Unix(10, 0)))
}

func TestRetryWindowOfTheDefaultsFitsTheDeliveredTTL(t *testing.T) {
	t.Parallel()
	c := DefaultConfig()
	w := c.retryWindow()
	// 25 attempts of 5m (2h05m); 24 backoffs at their longest, 2.4s, 4.8s, ... 2457.6s (1h22m),
	// then 13 of 1h; a second of rounding each.
	require.Equal(t, 2*time.Hour+5*time.Minute+4912800*time.Millisecond+13*time.Hour+24*time.Second, w)
	require.Less(t, w, c.DeliveredTTL)
}
