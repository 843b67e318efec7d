package main

import (
	"fmt"
	"log/slog"

	"github.com/oeshq/oes/cmd/api/internal/httpapi"
	"github.com/oeshq/oes/pkg/infra/cache"
	"github.com/oeshq/oes/pkg/infra/ratelimit"
)

// openSealer returns the sealer of cached personal data, nil when the cache is disabled (then
// nothing is cached and no key is needed). A missing or malformed key stops start-up; a
// generated one is announced, never printed.
func openSealer(cfg Config, log *slog.Logger) (*cache.Sealer, error) {
	if !cfg.CacheEnabled {
		return nil, nil
	}
	key, generated, err := cfg.SealingKey()
	if err != nil {
		return nil, err
	}
	s, err := cache.NewSealer(key)
	if err != nil {
		return nil, fmt.Errorf("CACHE_ENCRYPTION_KEY: %w", err)
	}
	if generated {
		log.Warn("cache encryption key generated for this process (CACHE_ENCRYPTION_KEY=generate, local runs only): other replicas cannot read its cached profiles")
	}
	return s, nil
}

// openLimits returns the rate limits and the function that closes their Redis connections.
// With RATE_LIMIT_ENABLED=false the limits are off and nothing is opened.
func openLimits(cfg Config, log *slog.Logger) (httpapi.RateLimits, func(), error) {
	if !cfg.RateLimitEnabled {
		log.Warn("rate limits are off (RATE_LIMIT_ENABLED=false)")
		return httpapi.RateLimits{}, func() {}, nil
	}
	url := cfg.RateLimitRedisURL
	if url == "" {
		url = cfg.CacheURL(cfg.RedisURL)
	}
	l, err := ratelimit.New(url, cfg.RateLimitKeyPrefix, log)
	if err != nil {
		return httpapi.RateLimits{}, nil, fmt.Errorf("RATE_LIMIT_REDIS_URL/CACHE_REDIS_URL/REDIS_URL: %w", err)
	}
	local := ratelimit.NewLocal(l, cfg.RateLimitSyncInterval)
	return httpapi.RateLimits{
		Limiter:      l,
		Local:        local,
		AuthIP:       cfg.RateLimitAuthIP,
		AuthEmail:    cfg.RateLimitAuthEmail,
		AuthEmailIP:  cfg.RateLimitAuthEmailIP,
		LoginIP:      cfg.RateLimitLoginIP,
		LoginEmailIP: cfg.RateLimitLoginEmailIP,
		LoginEmail:   cfg.RateLimitLoginEmail,
		IP:           cfg.RateLimitIP,
		User:         cfg.RateLimitUser,
	}, func() { local.Close(); _ = l.Close() }, nil
}
