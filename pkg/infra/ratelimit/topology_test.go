package ratelimit_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/infra/ratelimit"
	"github.com/oeshq/oes/pkg/testkit/redistest"
)

// Every api replica counts against the same buckets whatever Redis topology holds them.
func TestLimitsAreSharedOnSentinelAndCluster(t *testing.T) {
	t.Parallel()
	for name, start := range map[string]func(testing.TB) string{
		"sentinel": func(t testing.TB) string { return redistest.StartSentinel(t).URL() },
		"cluster":  func(t testing.TB) string { return redistest.StartCluster(t).URL() },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			url := start(t)
			prefix := redistest.Namespace(t)
			replica := func() *ratelimit.Limiter {
				l, err := ratelimit.New(url, prefix, nil)
				require.NoError(t, err)
				t.Cleanup(func() { _ = l.Close() })
				return l
			}
			one, two := replica(), replica()
			ctx := context.Background()
			// Buckets spread over slots, so a cluster's nodes each hold some.
			for i := range 8 {
				b := ratelimit.IP("login", fmt.Sprintf("192.0.2.%d", i))
				require.True(t, one.Allow(ctx, b, 2).Allowed)
				require.True(t, two.Allow(ctx, b, 2).Allowed)
				require.False(t, one.Allow(ctx, b, 2).Allowed, "the two replicas share bucket %d", i)
				require.False(t, two.Allow(ctx, b, 2).Allowed)
			}
		})
	}
}
