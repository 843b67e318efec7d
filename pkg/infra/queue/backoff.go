package queue

import (
	"errors"
	"math/rand/v2"
	"time"

	"github.com/hibiken/asynq"
)

// RetryDelay returns the worker's backoff between attempts: base*2^n before the retry that
// follows the n-th failure counted from 0 (2s, 4s, 8s, ... for a base of 2s), times a random
// factor from 0.8 to 1.2 so that jobs that failed together (an SMTP outage) come back spread
// out, and never more than limit.
//
// asynq keeps retry times in whole seconds, truncated, and releases a job once the current
// second reaches its time; the delay returned is therefore stretched to end on a whole second,
// so that no retry comes early: a retry waits from its nominal delay to a second more, plus up
// to the worker's PollInterval before it is picked up. Delays below a second cannot be told
// apart.
//
// A Deferral waits its own After instead, and a job whose worker died (asynq.ErrLeaseExpired)
// runs again at once: neither says anything about the email.
func RetryDelay(base, limit time.Duration) asynq.RetryDelayFunc {
	return func(n int, err error, _ *asynq.Task) time.Duration {
		now := time.Now()
		var d time.Duration
		var deferral *Deferral
		switch {
		case errors.As(err, &deferral):
			d = deferral.After
		case errors.Is(err, asynq.ErrLeaseExpired):
		default:
			d = backoff(base, limit, n, rand.Float64())
		}
		return wholeSecondAfter(now.Add(d)).Sub(now)
	}
}

// Backoff is the delay before the try that follows the n-th failed one (from 0), as RetryDelay
// computes it: base*2^n times a random factor from 0.8 to 1.2, at most limit.
func Backoff(base, limit time.Duration, n int) time.Duration {
	return backoff(base, limit, n, rand.Float64())
}

// backoff is the delay after the n-th failure (from 0) for a jitter draw r in [0, 1].
func backoff(base, limit time.Duration, n int, r float64) time.Duration {
	n = min(max(n, 0), 62)
	d := limit
	if base <= limit>>n {
		d = base << n
	}
	return min(time.Duration(float64(d)*(0.8+0.4*r)), limit)
}
