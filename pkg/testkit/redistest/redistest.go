// Package redistest gives tests a real Redis: the shared one named by TEST_REDIS_URL, with a
// key namespace per test, or private redis-server processes started for one test: a single
// server (StartServer), a master with a replica and a sentinel (StartSentinel), or a
// three-master Cluster (StartCluster).
package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/rueidis"
)

// DefaultURL is the Redis used when TEST_REDIS_URL is not set.
const DefaultURL = "redis://127.0.0.1:6379/0"

var (
	reachOnce sync.Once
	reachErr  error // whether the shared Redis answered, checked once per test binary
)

// URL returns the shared test Redis (TEST_REDIS_URL, or DefaultURL) after checking once per
// process that it answers. If it does not, the test fails, so that a missing Redis cannot
// pass for a green run; set TEST_ALLOW_SKIP=1 to skip instead.
func URL(t testing.TB) string {
	t.Helper()
	url := sharedURL()
	if err := reachShared(url); err != nil {
		msg := "redistest: no Redis at " + redact(url) + " (set TEST_REDIS_URL, or TEST_ALLOW_SKIP=1 to skip): " + err.Error()
		if os.Getenv("TEST_ALLOW_SKIP") == "1" {
			t.Skip(msg)
		}
		t.Fatal(msg)
	}
	return url
}

// Namespace returns a key prefix no other test uses, e.g. "test:TestGet:3f9a0c1b2d4e5f60".
// Keys under it are deleted from the shared Redis when the test ends.
func Namespace(t testing.TB) string {
	t.Helper()
	var b [8]byte
	_, _ = rand.Read(b[:])
	name := strings.NewReplacer("/", ".", " ", "_", "*", "_", "?", "_", "[", "_", "]", "_", `\`, "_").Replace(t.Name())
	ns := "test:" + name + ":" + hex.EncodeToString(b[:])
	t.Cleanup(func() { deleteNamespace(ns) })
	return ns
}

// Client returns a plain client of the Redis at url, without client-side caching, closed when
// the test ends. Use it to look at Redis behind the back of the code under test. The server
// may be down: the client dials again on each command until it answers.
func Client(t testing.TB, url string) rueidis.Client {
	t.Helper()
	c, err := openClient(url)
	if c == nil {
		t.Fatalf("redistest: client of %s: %v", redact(url), err)
	}
	t.Cleanup(c.Close)
	return c
}

func sharedURL() string {
	if url := os.Getenv("TEST_REDIS_URL"); url != "" {
		return url
	}
	return DefaultURL
}

func reachShared(url string) error {
	reachOnce.Do(func() {
		c, err := newClient(url)
		if err != nil {
			reachErr = err
			return
		}
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		reachErr = c.Do(ctx, c.B().Ping().Build()).Error()
	})
	return reachErr
}

// openClient returns a client even when the dial fails, together with the dial's error; the
// client dials again on its next command.
func openClient(url string) (rueidis.Client, error) {
	opt, err := rueidis.ParseURL(url)
	if err != nil {
		return nil, err
	}
	opt.DisableCache = true
	opt.ForceSingleClient = true
	opt.Dialer.Timeout = 2 * time.Second
	return rueidis.NewClient(opt)
}

// newClient returns a connected client.
func newClient(url string) (rueidis.Client, error) {
	c, err := openClient(url)
	if err != nil {
		if c != nil {
			c.Close()
		}
		return nil, err
	}
	return c, nil
}

// deleteNamespace removes the keys of a test's namespace from the shared Redis, best effort:
// the keys expire anyway, except a cache's generation counter.
func deleteNamespace(ns string) {
	url := sharedURL()
	if reachShared(url) != nil {
		return
	}
	c, err := newClient(url)
	if err != nil {
		return
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var cursor uint64
	for {
		e, err := c.Do(ctx, c.B().Scan().Cursor(cursor).Match(ns+":*").Count(1000).Build()).AsScanEntry()
		if err != nil {
			return
		}
		if len(e.Elements) > 0 {
			c.Do(ctx, c.B().Unlink().Key(e.Elements...).Build())
		}
		if cursor = e.Cursor; cursor == 0 {
			return
		}
	}
}

// redact hides the credentials of a Redis URL in messages.
func redact(url string) string {
	scheme, rest, ok := strings.Cut(url, "://")
	if !ok {
		return url
	}
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		return scheme + "://***@" + rest[at+1:]
	}
	return url
}
