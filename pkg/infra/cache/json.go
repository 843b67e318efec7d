package cache

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// GetJSON is Get for a value stored as JSON. An entry that does not decode into T is an error
// and a miss.
func GetJSON[T any](ctx context.Context, c *Cache, key Key) (T, bool, error) {
	var v T
	b, ok, err := c.Get(ctx, key)
	if err != nil || !ok {
		return v, false, err
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return v, false, fmt.Errorf("cache: decode %v: %w", key, err)
	}
	return v, true, nil
}

// SetJSON is Set for a value stored as JSON.
func SetJSON[T any](ctx context.Context, c *Cache, key Key, v T, ttl time.Duration) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("cache: encode %v: %w", key, err)
	}
	return c.Set(ctx, key, b, ttl)
}

// GetOrSetJSON is GetOrSet for a value stored as JSON. Each caller gets its own decoded T,
// except the one whose load ran, which gets load's value itself.
func GetOrSetJSON[T any](ctx context.Context, c *Cache, key Key, ttl time.Duration, load func(ctx context.Context) (T, error)) (T, error) {
	var zero T
	var loaded *T // written by this call's load, if it is the one that runs; read after the flight ends
	b, err := c.GetOrSet(ctx, key, ttl, func(ctx context.Context) ([]byte, error) {
		v, err := load(ctx)
		if err != nil {
			return nil, err
		}
		loaded = &v
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("cache: encode %v: %w", key, err)
		}
		return b, nil
	})
	if err != nil {
		return zero, err
	}
	if loaded != nil {
		return *loaded, nil
	}
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		return zero, fmt.Errorf("cache: decode %v: %w", key, err)
	}
	return v, nil
}
