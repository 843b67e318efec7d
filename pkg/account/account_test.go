package account

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/oeshq/oes/pkg/auth"
	"github.com/oeshq/oes/pkg/oes"
	"github.com/oeshq/oes/pkg/queue"
	"github.com/oeshq/oes/pkg/queue/queuetest"
	"github.com/oeshq/oes/pkg/store"
	"github.com/oeshq/oes/pkg/testkit/pgtest"
)

type testBundle struct {
	svc   *Service
	queue *queue.Client
}

func setup(t *testing.T) testBundle {
	t.Helper()
	q := queuetest.Client(t, queuetest.Config(t))
	tokens, err := auth.New([]byte("a-test-secret-of-at-least-32-bytes"), time.Minute)
	require.NoError(t, err)
	svc, err := NewService(store.New(pgtest.New(t)), q, tokens, Config{
		VerifyURL: "https://oes.example.org/verify", ResetURL: "https://oes.example.org/reset",
		VerifyTTL: time.Hour, ResetTTL: time.Hour, PasswordCost: bcrypt.MinCost,
	}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	return testBundle{svc: svc, queue: q}
}

func TestAnEmailTokenIsQueuedOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	u := oes.User{ID: 1, Email: "ann@example.org", Name: "Ann"}
	tok := newEmailToken()

	first, err := b.svc.sendVerification(ctx, u, tok)
	require.NoError(t, err)
	again, err := b.svc.sendVerification(ctx, u, tok)
	require.NoError(t, err)
	require.Equal(t, first, again, "a repeated enqueue of one token finds the first job")
	n, err := b.queue.Counts(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n.Waiting)

	other, err := b.svc.sendVerification(ctx, u, newEmailToken())
	require.NoError(t, err)
	require.NotEqual(t, first, other)
}

func TestEmailTokens(t *testing.T) {
	t.Parallel()
	tok := newEmailToken()
	require.Len(t, tok.Value, 43)
	hash, ok := hashEmailToken(tok.Value)
	require.True(t, ok)
	require.Equal(t, tok.Hash, hash)
	require.NotEqual(t, tok.Value, newEmailToken().Value)

	for _, bad := range []string{"", "short", tok.Value + "A", tok.Value[:42] + "!", tok.Value[:42] + "B"} {
		if bad == tok.Value {
			continue
		}
		_, ok := hashEmailToken(bad)
		require.False(t, ok, bad)
	}
}

func TestNewServiceRefusesBadConfig(t *testing.T) {
	t.Parallel()
	good := Config{VerifyURL: "https://x.org/v", ResetURL: "https://x.org/r", VerifyTTL: time.Hour, ResetTTL: time.Hour}
	for name, edit := range map[string]func(*Config){
		"relativeURL": func(c *Config) { c.VerifyURL = "/verify" },
		"noTTL":       func(c *Config) { c.ResetTTL = 0 },
		"cost":        func(c *Config) { c.PasswordCost = 99 },
	} {
		t.Run(name, func(t *testing.T) {
			c := good
			edit(&c)
			_, err := NewService(nil, nil, nil, c, nil)
			require.Error(t, err)
		})
	}
}
