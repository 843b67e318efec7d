package cache

import (
	"context"
	"crypto/rand"
	"encoding/hex"

	"github.com/redis/rueidis"
)

// genPrefix is the key prefix of one generation, kept so that a read does not rebuild it.
type genPrefix struct {
	gen    string
	prefix string // "<namespace>:g<gen>:"
}

// keyPrefix returns the prefix of the current generation. The generation is read with
// DoCache, so it normally comes from process memory, and Clear's SET invalidates it in every
// process. A missing generation key (a new Redis, or the key was evicted or deleted) starts a
// new random generation: the entries of any earlier one are never read again.
func (c *Cache) keyPrefix(ctx context.Context) (string, error) {
	client := c.redis()
	gen, err := client.DoCache(ctx, client.B().Get().Key(c.genKey).Cache(), genLocalTTL).ToString()
	if rueidis.IsRedisNil(err) {
		// Several processes may get here at once: the first SET wins and all use its value.
		err = client.Do(ctx, client.B().Set().Key(c.genKey).Value(randomGeneration()).Nx().Build()).Error()
		if err == nil || rueidis.IsRedisNil(err) {
			gen, err = client.Do(ctx, client.B().Get().Key(c.genKey).Build()).ToString()
		}
	}
	if err != nil {
		return "", err
	}
	if p := c.prefix.Load(); p != nil && p.gen == gen {
		return p.prefix, nil
	}
	p := &genPrefix{gen: gen, prefix: c.cfg.Namespace + ":g" + gen + ":"}
	c.prefix.Store(p)
	return p.prefix, nil
}

// redisKey returns the Redis key of k in the generation whose prefix is given.
func redisKey(prefix string, k Key) string {
	b := make([]byte, 0, len(prefix)+32)
	b = k.appendTo(append(b, prefix...))
	return rueidis.BinaryString(b) // b is never written again
}

// randomGeneration returns a generation that no Cache has used: 64 random bits, in hex.
func randomGeneration() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}
