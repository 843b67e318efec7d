package profile_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/cache"
	"github.com/oeshq/oes/pkg/oes"
	"github.com/oeshq/oes/pkg/profile"
	"github.com/oeshq/oes/pkg/store"
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
	cfg := cache.DefaultConfig()
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
	c, err := cache.New(b.redisURL, cache.Config{Namespace: b.ns}, nil)
	require.NoError(t, err)
	t.Cleanup(c.Close)
	_, err = profile.NewService(b.store, c, nil, nil)
	require.Error(t, err)
}
