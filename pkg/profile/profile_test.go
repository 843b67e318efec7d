package profile_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/config"
	"github.com/oeshq/oes/pkg/infra/cache"
	"github.com/oeshq/oes/pkg/infra/store"
	"github.com/oeshq/oes/pkg/oes"
	"github.com/oeshq/oes/pkg/profile"
	"github.com/oeshq/oes/pkg/testkit/pgtest"
	"github.com/oeshq/oes/pkg/testkit/redistest"
)

type bundle struct {
	store    *store.Store
	redisURL string
	ns       string
	user     oes.User
}

func setup(t *testing.T) bundle {
	t.Helper()
	b := bundle{store: store.New(pgtest.New(t)), redisURL: redistest.URL(t), ns: redistest.Namespace(t)}
	u, err := b.store.CreateUser(context.Background(), store.NewUser{
		Email: "ada@example.org", Name: "Ada Lovelace", PasswordHash: "hash-not-to-cache", Role: oes.RoleStudent,
	})
	require.NoError(t, err)
	b.user = u
	return b
}

// service returns a profile service with its own cache client (its own process, as far as the
// in-memory layer goes) sealing under key.
func (b bundle) service(t *testing.T, key []byte) (*profile.Service, *cache.Cache) {
	t.Helper()
	cfg := config.Defaults[config.Cache]().CacheConfig()
	cfg.Namespace = b.ns
	c, err := cache.New(b.redisURL, cfg, nil)
	require.NoError(t, err)
	t.Cleanup(c.Close)
	sealer, err := cache.NewSealer(key)
	require.NoError(t, err)
	svc, err := profile.NewService(b.store, c, sealer, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	return svc, c
}

func randomKey() []byte {
	k := make([]byte, cache.SealKeyBytes)
	_, _ = rand.Read(k)
	return k
}

func name(t *testing.T, body []byte) string {
	t.Helper()
	var u oes.User
	require.NoError(t, json.Unmarshal(body, &u))
	return u.Name
}

func TestCachedProfileIsSealedInRedis(t *testing.T) {
	t.Parallel()
	b := setup(t)
	svc, _ := b.service(t, randomKey())
	body, err := svc.JSON(context.Background(), b.user.ID)
	require.NoError(t, err)
	require.Equal(t, "Ada Lovelace", name(t, body))
	require.NotContains(t, string(body), "hash-not-to-cache")

	raw := redistest.Client(t, b.redisURL)
	keys, err := raw.Do(context.Background(), raw.B().Keys().Pattern(b.ns+":*user_profile*").Build()).AsStrSlice()
	require.NoError(t, err)
	require.Len(t, keys, 1)
	v, err := raw.Do(context.Background(), raw.B().Get().Key(keys[0]).Build()).ToString()
	require.NoError(t, err)
	for _, clear := range []string{"ada@example.org", "Ada Lovelace", "hash-not-to-cache"} {
		require.False(t, strings.Contains(v, clear), "the cached value holds %q in clear", clear)
	}
}

func TestRotatedKeyReadsOldEntriesAsMisses(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	before, _ := b.service(t, randomKey())
	_, err := before.JSON(ctx, b.user.ID)
	require.NoError(t, err)

	after, c := b.service(t, randomKey())
	body, err := after.JSON(ctx, b.user.ID)
	require.NoError(t, err)
	require.Equal(t, "Ada Lovelace", name(t, body), "the old entry is reloaded, not served")

	// The reload overwrote the entry under the new key: the next read is a hit that opens.
	hits := c.Stats()[cache.KindUserProfile]
	body, err = after.JSON(ctx, b.user.ID)
	require.NoError(t, err)
	require.Equal(t, "Ada Lovelace", name(t, body))
	now := c.Stats()[cache.KindUserProfile]
	require.Greater(t, now.LocalHits+now.RemoteHits, hits.LocalHits+hits.RemoteHits)
}

func TestUpdateValidatesAndInvalidates(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	svc, _ := b.service(t, randomKey())
	_, err := svc.JSON(ctx, b.user.ID)
	require.NoError(t, err)

	u, err := svc.Update(ctx, b.user.ID, profile.UpdateInput{Name: "  Ada King  "})
	require.NoError(t, err)
	require.Equal(t, "Ada King", u.Name)
	body, err := svc.JSON(ctx, b.user.ID)
	require.NoError(t, err)
	require.Equal(t, "Ada King", name(t, body))

	for _, bad := range []string{"", "   ", strings.Repeat("x", 101), "a\nb"} {
		_, err := svc.Update(ctx, b.user.ID, profile.UpdateInput{Name: bad})
		require.Equal(t, oes.EINVALID, oes.ErrorCode(err), "name %q", bad)
	}
}

func TestCacheWithoutSealerIsRefused(t *testing.T) {
	t.Parallel()
	b := setup(t)
	cfg := config.Defaults[config.Cache]().CacheConfig()
	cfg.Namespace = b.ns
	c, err := cache.New(b.redisURL, cfg, nil)
	require.NoError(t, err)
	t.Cleanup(c.Close)
	_, err = profile.NewService(b.store, c, nil, nil)
	require.Error(t, err)
}

// Access answers from the cached entry, so a role change must drop it: Revoke does, and every
// other process sees the change as soon as Redis tells it.
func TestAccessFollowsRevoke(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	key := randomKey()
	here, _ := b.service(t, key)
	there, c := b.service(t, key)
	for range 3 {
		a, err := there.Access(ctx, b.user.ID)
		require.NoError(t, err)
		require.Equal(t, profile.Access{Role: oes.RoleStudent, TokenVersion: b.user.TokenVersion}, a)
	}
	// One load; then one read from Redis (the fill's write dropped the local copy), then the
	// process's memory: no query, no round trip.
	n := c.Stats()[cache.KindUserProfile]
	require.Equal(t, uint64(1), n.Misses)
	require.Equal(t, uint64(1), n.LocalHits)

	u, err := b.store.SetUserRole(ctx, b.user.ID, oes.RoleAdmin)
	require.NoError(t, err)
	here.Revoke(ctx, b.user.ID)
	require.Eventually(t, func() bool {
		a, err := there.Access(ctx, b.user.ID)
		return err == nil && a == profile.Access{Role: oes.RoleAdmin, TokenVersion: u.TokenVersion}
	}, time.Second, 5*time.Millisecond)

	body, err := there.JSON(ctx, b.user.ID)
	require.NoError(t, err)
	require.NotContains(t, string(body), "token_version", "the body is the profile only")
}

// A load that read the user before a change and stores it after Revoke dropped the entry would
// serve the old role and version; Revoke drops the entry again once such a load must be over.
func TestRevokeOutlivesAStaleFill(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	svc, c := b.service(t, randomKey())
	_, err := svc.Access(ctx, b.user.ID)
	require.NoError(t, err)
	raw := redistest.Client(t, b.redisURL)
	keys, err := raw.Do(ctx, raw.B().Keys().Pattern(b.ns+":*user_profile*").Build()).AsStrSlice()
	require.NoError(t, err)
	require.Len(t, keys, 1)
	stale, err := raw.Do(ctx, raw.B().Get().Key(keys[0]).Build()).AsBytes()
	require.NoError(t, err)

	u, err := b.store.SetUserRole(ctx, b.user.ID, oes.RoleAdmin)
	require.NoError(t, err)
	start := time.Now()
	svc.Revoke(ctx, b.user.ID)
	// The late fill: the entry as it was read before the change.
	require.NoError(t, raw.Do(ctx, raw.B().Set().Key(keys[0]).Value(string(stale)).Build()).Error())
	require.NoError(t, c.Delete(ctx, cache.Named("flush")), "a write on the cache's connection delivers pending invalidations")
	a, err := svc.Access(ctx, b.user.ID)
	require.NoError(t, err)
	require.Equal(t, oes.RoleStudent, a.Role, "the stale entry is served for now")

	require.Eventually(t, func() bool {
		a, err := svc.Access(ctx, b.user.ID)
		return err == nil && a.TokenVersion == u.TokenVersion
	}, 5*time.Second, 20*time.Millisecond, "the stale entry outlived the second drop")
	require.Less(t, time.Since(start), 5*time.Second)
}

func TestAccessOfAMissingUserIsNotFound(t *testing.T) {
	t.Parallel()
	b := setup(t)
	svc, _ := b.service(t, randomKey())
	_, err := svc.Access(context.Background(), b.user.ID+1000)
	require.Equal(t, oes.ENOTFOUND, oes.ErrorCode(err))
}
