package main

import (
	"context"
	"time"

	"github.com/oeshq/oes/bench/internal/benchkit"
	"github.com/oeshq/oes/pkg/infra/queue"
)

// deleteNamespace removes every key under namespace from the Redis at redisURL. The cached
// api's entries would expire with their TTL, but the bench runs against a Redis that others
// share, and a cache generation counter never expires.
//
// It runs as loadgen ends, Ctrl-C included, so it does not stop when ctx is cancelled.
func deleteNamespace(ctx context.Context, redisURL, namespace string) error {
	// queue.OpenRedis's errors never repeat the URL, which may hold a password.
	rdb, err := queue.OpenRedis(queue.Config{RedisURL: redisURL})
	if err != nil {
		return err
	}
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	return benchkit.UnlinkMatching(ctx, rdb, benchkit.GlobEscape(namespace)+":*")
}
