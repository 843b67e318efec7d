package account

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/oeshq/oes/pkg/infra/auth"
	"github.com/oeshq/oes/pkg/infra/store"
	"github.com/oeshq/oes/pkg/oes"
	"github.com/oeshq/oes/pkg/testkit/pgtest"
)

type testBundle struct {
	svc   *Service
	store *store.Store
}

func setup(t *testing.T) testBundle {
	t.Helper()
	st := store.New(pgtest.New(t))
	tokens, err := auth.New([]byte("a-test-secret-of-at-least-32-bytes"), time.Minute)
	require.NoError(t, err)
	svc, err := NewService(st, tokens, Config{
		VerifyURL: "https://oes.example.org/verify", ResetURL: "https://oes.example.org/reset",
		VerifyTTL: time.Hour, ResetTTL: time.Hour, PasswordCost: bcrypt.MinCost,
	}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	return testBundle{svc: svc, store: st}
}

// Each token has its email, written with it; a newer token's email cancels the older one's,
// whose link would be dead, so that a user who asked twice gets one working link.
func TestEachTokenHasOneEmailAndTheNewestReplacesTheUnsentOnes(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	r, err := b.svc.Register(ctx, RegisterInput{Email: "ann@example.org", Name: "Ann", Password: "correct horse"})
	require.NoError(t, err)
	require.NoError(t, b.svc.ResendVerification(ctx, "ann@example.org"))
	require.NoError(t, b.svc.RequestPasswordReset(ctx, "ann@example.org"))
	b.svc.Wait() // the emails are written after the calls return

	es, err := b.store.ListUserEmails(ctx, r.User.ID, 1, 10)
	require.NoError(t, err)
	require.Len(t, es, 3)
	byState := map[oes.EmailKind][]oes.EmailState{}
	for _, e := range es {
		byState[e.Kind] = append(byState[e.Kind], e.State)
		require.Equal(t, EmailPriority, e.Priority)
		require.Equal(t, EmailAttempts, e.AttemptsAllowed)
	}
	require.Equal(t, []oes.EmailState{oes.EmailPending, oes.EmailCancelled}, byState[oes.EmailVerify], "newest first")
	require.Equal(t, []oes.EmailState{oes.EmailPending}, byState[oes.EmailReset], "another kind is not replaced")
	require.Equal(t, r.JobID, strconv.FormatInt(es[2].ID, 10))
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
		"relativeURL":  func(c *Config) { c.VerifyURL = "/verify" },
		"urlWithQuery": func(c *Config) { c.ResetURL = "https://x.org/r?from=email" },
		"noTTL":        func(c *Config) { c.ResetTTL = 0 },
		"cost":         func(c *Config) { c.PasswordCost = 99 },
	} {
		t.Run(name, func(t *testing.T) {
			c := good
			edit(&c)
			_, err := NewService(nil, nil, c, nil)
			require.Error(t, err)
		})
	}
}

// bcrypt reads a password's first 72 bytes only: Login refuses anything longer as a wrong
// password, so that nothing appended to a 72-byte password signs in.
func TestLoginRefusesPasswordsOver72Bytes(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	long := strings.Repeat("p", MaxPasswordBytes)
	hash, err := bcrypt.GenerateFromPassword([]byte(long), bcrypt.MinCost)
	require.NoError(t, err)
	now := time.Now()
	_, err = b.store.CreateUser(ctx, store.NewUser{Email: "long@example.org", Name: "Long", PasswordHash: string(hash),
		Role: oes.RoleStudent, EmailVerifiedAt: &now})
	require.NoError(t, err)
	_, err = b.svc.Login(ctx, "long@example.org", long)
	require.NoError(t, err)
	for _, pw := range []string{long + "x", long + long} {
		_, err = b.svc.Login(ctx, "long@example.org", pw)
		require.Equal(t, oes.EUNAUTHORIZED, oes.ErrorCode(err))
	}
}
