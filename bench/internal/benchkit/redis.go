package benchkit

import (
	"context"
	"errors"
	"strings"

	"github.com/redis/go-redis/v9"
)

// UnlinkMatching removes every key matching pattern, in the syntax of SCAN's MATCH, from rdb
// with UNLINK, a thousand at a time. A benchmark cleans up with it after itself in a Redis that
// others share; GlobEscape quotes the literal parts of the pattern.
func UnlinkMatching(ctx context.Context, rdb *redis.Client, pattern string) error {
	iter := rdb.Scan(ctx, 0, pattern, 1000).Iterator()
	var batch []string
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := rdb.Unlink(ctx, batch...).Err()
		batch = batch[:0]
		return err
	}
	for iter.Next(ctx) {
		if batch = append(batch, iter.Val()); len(batch) == 1000 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return errors.Join(iter.Err(), flush())
}

// GlobEscape quotes the characters SCAN's MATCH treats as wildcards.
func GlobEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`, `[`, `\[`, `]`, `\]`).Replace(s)
}
