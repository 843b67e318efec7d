package cache

import "context"

// RedisKey returns the Redis key under which c currently stores k, so that tests can look at
// the entry directly.
func (c *Cache) RedisKey(ctx context.Context, k Key) (string, error) {
	prefix, err := c.keyPrefix(ctx)
	if err != nil {
		return "", err
	}
	return redisKey(prefix, k), nil
}

// FlightTimeout bounds a GetOrSet flight.
const FlightTimeout = flightTimeout
