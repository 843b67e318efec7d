package store_test

import (
	"crypto/sha256"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/oes"
	"github.com/oeshq/oes/pkg/store"
)

// hashOf stands in for the hash of an emailed token.
func hashOf(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

func TestCreateUserWithTokenThenVerify(t *testing.T) {
	t.Parallel()
	b := setup(t)
	now := time.Now()
	u, err := b.store.CreateUserWithToken(b.ctx, store.NewUser{Email: "ann@example.org", Name: "Ann", PasswordHash: "h", Role: oes.RoleStudent},
		store.NewToken{Purpose: store.PurposeVerifyEmail, Hash: hashOf("t1"), ExpiresAt: now.Add(time.Hour)})
	require.NoError(t, err)
	require.Nil(t, u.EmailVerifiedAt)

	_, err = b.store.ResetPassword(b.ctx, hashOf("t1"), "h2", now)
	requireCode(t, err, oes.EINVALID) // a token works for its own purpose only

	got, err := b.store.VerifyEmail(b.ctx, hashOf("t1"), now)
	require.NoError(t, err)
	require.Equal(t, u.ID, got.ID)
	require.NotNil(t, got.EmailVerifiedAt)

	e := requireCode(t, func() error { _, err := b.store.VerifyEmail(b.ctx, hashOf("t1"), now); return err }(), oes.EINVALID)
	require.Equal(t, "token", e.Fields[0].Field)
	require.Contains(t, e.Fields[0].Message, "already been used")
}

func TestCreateUserWithTokenIsAllOrNothing(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.createUser(t, "taken@example.org", oes.RoleStudent)
	_, err := b.store.CreateUserWithToken(b.ctx, store.NewUser{Email: "TAKEN@example.org", Name: "T", PasswordHash: "h", Role: oes.RoleStudent},
		store.NewToken{Purpose: store.PurposeVerifyEmail, Hash: hashOf("t"), ExpiresAt: time.Now().Add(time.Hour)})
	requireCode(t, err, oes.ECONFLICT)
	require.Equal(t, 0, b.count(t, "SELECT count(*) FROM user_tokens"))
}

func TestTokenExpiry(t *testing.T) {
	t.Parallel()
	b := setup(t)
	u := b.createUser(t, "ann@example.org", oes.RoleStudent)
	issued := time.Now()
	require.NoError(t, b.store.ReplaceToken(b.ctx, u.ID, store.NewToken{
		Purpose: store.PurposeResetPassword, Hash: hashOf("r"), ExpiresAt: issued.Add(time.Hour)}))

	_, err := b.store.ResetPassword(b.ctx, hashOf("r"), "new", issued.Add(time.Hour))
	e := requireCode(t, err, oes.EINVALID)
	require.Contains(t, e.Fields[0].Message, "expired")

	got, err := b.store.ResetPassword(b.ctx, hashOf("r"), "new", issued.Add(time.Hour-time.Second))
	require.NoError(t, err)
	require.NotNil(t, got.EmailVerifiedAt, "a reset proves the address")
	acc, err := b.store.GetAccountByEmail(b.ctx, u.Email)
	require.NoError(t, err)
	require.Equal(t, "new", acc.PasswordHash)
}

func TestReplaceTokenKeepsOnePendingTokenPerPurpose(t *testing.T) {
	t.Parallel()
	b := setup(t)
	u := b.createUser(t, "ann@example.org", oes.RoleStudent)
	exp := time.Now().Add(time.Hour)
	for _, tok := range []string{"v1", "v2"} {
		require.NoError(t, b.store.ReplaceToken(b.ctx, u.ID, store.NewToken{Purpose: store.PurposeVerifyEmail, Hash: hashOf(tok), ExpiresAt: exp}))
	}
	require.NoError(t, b.store.ReplaceToken(b.ctx, u.ID, store.NewToken{Purpose: store.PurposeResetPassword, Hash: hashOf("r1"), ExpiresAt: exp}))
	require.Equal(t, 2, b.count(t, "SELECT count(*) FROM user_tokens WHERE user_id = $1 AND used_at IS NULL", u.ID))

	_, err := b.store.VerifyEmail(b.ctx, hashOf("v1"), time.Now())
	e := requireCode(t, err, oes.EINVALID)
	require.Contains(t, e.Fields[0].Message, "not valid")
	_, err = b.store.VerifyEmail(b.ctx, hashOf("v2"), time.Now())
	require.NoError(t, err)

	err = b.store.ReplaceToken(b.ctx, missing, store.NewToken{Purpose: store.PurposeVerifyEmail, Hash: hashOf("x"), ExpiresAt: exp})
	requireCode(t, err, oes.ENOTFOUND)
}

func TestConcurrentIssuesAndUsesOfTokens(t *testing.T) {
	t.Parallel()
	b := setup(t)
	u := b.createUser(t, "ann@example.org", oes.RoleStudent)
	exp := time.Now().Add(time.Hour)

	// Concurrent issues for one user take turns: every call succeeds and one token is left.
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() {
			errs[i] = b.store.ReplaceToken(b.ctx, u.ID, store.NewToken{
				Purpose: store.PurposeResetPassword, Hash: hashOf(string(rune('a' + i))), ExpiresAt: exp})
		})
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	require.Equal(t, 1, b.count(t, "SELECT count(*) FROM user_tokens WHERE used_at IS NULL"))

	// Concurrent uses of one token: exactly one wins.
	var hash []byte
	require.NoError(t, b.pool.QueryRow(b.ctx, "SELECT token_hash FROM user_tokens WHERE used_at IS NULL").Scan(&hash))
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = b.store.ResetPassword(b.ctx, hash, "new", time.Now())
		})
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		if err == nil {
			won++
		} else {
			require.Equal(t, oes.EINVALID, oes.ErrorCode(err), "err: %v", err)
		}
	}
	require.Equal(t, 1, won)
}

func TestTokensGoWithTheirUser(t *testing.T) {
	t.Parallel()
	b := setup(t)
	u := b.createUser(t, "ann@example.org", oes.RoleStudent)
	require.NoError(t, b.store.ReplaceToken(b.ctx, u.ID, store.NewToken{
		Purpose: store.PurposeVerifyEmail, Hash: hashOf("v"), ExpiresAt: time.Now().Add(time.Hour)}))
	_, err := b.pool.Exec(b.ctx, "DELETE FROM users WHERE id = $1", u.ID)
	require.NoError(t, err)
	require.Equal(t, 0, b.count(t, "SELECT count(*) FROM user_tokens"))
}
