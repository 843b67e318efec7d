package ratelimit

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The sliding estimate: the previous window's count weighs by the share of the current minute
// still to come.
func TestSlidingWindowWait(t *testing.T) {
	t.Parallel()
	start := int64(1000) * int64(window) // the start of window 1000
	at := func(d time.Duration) int64 { return start + int64(d) }
	for _, c := range []struct {
		name             string
		prev, cur, limit int64
		elapsed          time.Duration
		want             time.Duration
	}{
		{"empty", 0, 0, 10, 0, 0},
		{"under the limit", 0, 9, 10, 30 * time.Second, 0},
		{"full previous window, at the start", 10, 0, 10, 0, 6 * time.Second},
		{"full previous window, half gone", 10, 0, 10, 30 * time.Second, 0},
		{"previous and current", 10, 5, 10, 30 * time.Second, 6 * time.Second},
		{"current full", 0, 10, 10, 15 * time.Second, 45*time.Second + 6*time.Second},
	} {
		lb := &localBucket{limit: int(c.limit), window: 1000, prev: c.prev, global: c.cur}
		got := lb.wait(at(c.elapsed))
		if c.want == 0 {
			require.LessOrEqual(t, got, time.Duration(0), c.name)
			continue
		}
		require.InDelta(t, c.want, got, float64(time.Millisecond), c.name)
	}
}

// A bucket that moves to the next window takes its count as the previous one.
func TestWindowRoll(t *testing.T) {
	t.Parallel()
	lb := &localBucket{limit: 10, window: 5, global: 6, pending: 2, inFlight: 1}
	lb.roll(6 * int64(window))
	require.Equal(t, int64(9), lb.prev)
	require.Equal(t, int64(0), lb.current()-lb.inFlight)
	lb.roll(9 * int64(window))
	require.Equal(t, int64(0), lb.prev, "a window after a gap has no previous count")
}
