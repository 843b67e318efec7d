package delivery

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/oeshq/oes/pkg/queue"
)

// Record remembers which jobs were delivered, in the queue's Redis, one key per job
// (queue.Config.DeliveredKey) that expires after DeliveredTTL, longer than any job's retry
// window.
//
// It uses go-redis, the client asynq is built on, rather than rueidis: the worker then needs
// one connection pool to the queue's Redis, shared with its asynq server
// (asynq.NewServerFromRedisClient), opened from one URL by queue.OpenRedis.
type Record struct {
	rdb redis.UniversalClient
	cfg queue.Config
	ttl time.Duration
}

// NewRecord returns the delivered record of cfg's queue in rdb.
func NewRecord(rdb redis.UniversalClient, cfg queue.Config) *Record {
	ttl := cfg.DeliveredTTL
	if ttl <= 0 {
		ttl = queue.DefaultConfig().DeliveredTTL
	}
	return &Record{rdb: rdb, cfg: cfg, ttl: ttl}
}

// Has reports whether job id was recorded as delivered.
func (r *Record) Has(ctx context.Context, id string) (bool, error) {
	n, err := r.rdb.Exists(ctx, r.cfg.DeliveredKey(id)).Result()
	return n == 1, err
}

// Add records job id as delivered, now.
func (r *Record) Add(ctx context.Context, id string) error {
	return r.rdb.Set(ctx, r.cfg.DeliveredKey(id), time.Now().UTC().Format(time.RFC3339), r.ttl).Err()
}
