package ratelimit_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/infra/ratelimit"
	"github.com/oeshq/oes/pkg/testkit/redistest"
)

func newLimiter(t *testing.T, url string) *ratelimit.Limiter {
	t.Helper()
	l, err := ratelimit.New(url, redistest.Namespace(t), nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close() })
	return l
}

func TestAllowRefusesOverTheLimitPerBucket(t *testing.T) {
	t.Parallel()
	l := newLimiter(t, redistest.URL(t))
	ctx := context.Background()
	a, b := ratelimit.IP("login", "192.0.2.1"), ratelimit.IP("login", "192.0.2.2")
	for range 3 {
		require.True(t, l.Allow(ctx, a, 3).Allowed)
	}
	d := l.Allow(ctx, a, 3)
	require.False(t, d.Allowed)
	require.Greater(t, d.RetryAfter, time.Duration(0))
	require.LessOrEqual(t, d.RetryAfter, 20*time.Second, "a minute over 3 requests: one every 20s")
	require.True(t, l.Allow(ctx, b, 3).Allowed, "another bucket has its own count")
	require.True(t, l.Allow(ctx, ratelimit.IP("register", "192.0.2.1"), 3).Allowed, "another scope too")
}

func TestEmailBucketsIgnoreCaseAndHideTheAddress(t *testing.T) {
	t.Parallel()
	l := newLimiter(t, redistest.URL(t))
	a, b := ratelimit.Email("login", "Ann@Example.org "), ratelimit.Email("login", "ann@example.org")
	require.Equal(t, a, b)
	require.False(t, strings.Contains(l.Key(a), "example"))
}

func TestAllowFailsOpenWithoutRedis(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	l := newLimiter(t, srv.URL())
	ctx := context.Background()
	bucket := ratelimit.IP("login", "192.0.2.1")
	require.True(t, l.Allow(ctx, bucket, 1).Allowed)
	require.False(t, l.Allow(ctx, bucket, 1).Allowed)

	srv.Stop()
	start := time.Now()
	for range 20 {
		require.True(t, l.Allow(ctx, bucket, 1).Allowed)
	}
	require.Less(t, time.Since(start), 2*time.Second, "an outage must not hold every request")
}

// Check counts nothing; Fail counts every failure, those over the limit too; Reset empties.
func TestCheckAndFailCountFailuresOnly(t *testing.T) {
	t.Parallel()
	l := newLimiter(t, redistest.URL(t))
	ctx := context.Background()
	b := ratelimit.EmailIP("login", "Ann@example.org", "192.0.2.1")
	require.Equal(t, ratelimit.EmailIP("login", "ann@example.org ", "192.0.2.1"), b)
	for range 10 {
		require.True(t, l.Check(ctx, b, 3).Allowed, "checking counts nothing")
	}
	for range 3 {
		require.True(t, l.Check(ctx, b, 3).Allowed)
		l.Fail(ctx, b, 3)
	}
	d := l.Check(ctx, b, 3)
	require.False(t, d.Allowed)
	require.InDelta(t, 20*time.Second, d.RetryAfter, float64(time.Second), "a minute over 3: one every 20s")

	// Failures over the limit push the refill out.
	for range 3 {
		l.Fail(ctx, b, 3)
	}
	require.InDelta(t, 80*time.Second, l.Check(ctx, b, 3).RetryAfter, float64(time.Second))

	l.Reset(ctx, b)
	require.True(t, l.Check(ctx, b, 3).Allowed)
	require.True(t, l.Check(ctx, ratelimit.EmailIP("login", "ann@example.org", "192.0.2.2"), 1).Allowed, "another client's pair")
}

func TestRememberMarksABucket(t *testing.T) {
	t.Parallel()
	l := newLimiter(t, redistest.URL(t))
	ctx := context.Background()
	b := ratelimit.EmailIP("known", "ann@example.org", "192.0.2.1")
	require.False(t, l.Remembered(ctx, b))
	l.Remember(ctx, b, time.Minute)
	require.True(t, l.Remembered(ctx, b))
	require.False(t, l.Remembered(ctx, ratelimit.EmailIP("known", "ann@example.org", "192.0.2.2")))
}
