package store_test

import (
	"crypto/sha256"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/infra/store"
	"github.com/oeshq/oes/pkg/oes"
)

// hashOf stands in for the hash of an emailed token.
func hashOf(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// tokenEmail is the email that carries a token of purpose to to.
func tokenEmail(purpose store.TokenPurpose, to string) store.NewEmail {
	kind := oes.EmailVerify
	if purpose == store.PurposeResetPassword {
		kind = oes.EmailReset
	}
	return newEmail(kind, to)
}

// replaceToken issues a token of purpose for u with its email and returns the email's id.
func (b *testBundle) replaceToken(t *testing.T, u oes.User, purpose store.TokenPurpose, token string) int64 {
	t.Helper()
	id, err := b.store.ReplaceToken(b.ctx, u.ID, store.NewToken{Purpose: purpose, Hash: hashOf(token), ExpiresAt: time.Now().Add(time.Hour)},
		tokenEmail(purpose, u.Email))
	require.NoError(t, err)
	return id
}

func TestCreateUserWithTokenThenVerify(t *testing.T) {
	t.Parallel()
	b := setup(t)
	now := time.Now()
	u, emailID, err := b.store.CreateUserWithToken(b.ctx, store.NewUser{Email: "ann@example.org", Name: "Ann", PasswordHash: "h", Role: oes.RoleStudent},
		store.NewToken{Purpose: store.PurposeVerifyEmail, Hash: hashOf("t1"), ExpiresAt: now.Add(time.Hour)},
		tokenEmail(store.PurposeVerifyEmail, "ann@example.org"))
	require.NoError(t, err)
	require.Nil(t, u.EmailVerifiedAt)

	emails := b.outboxRows(t)
	require.Len(t, emails, 1, "the account comes with exactly one email")
	require.Equal(t, emailID, emails[0].ID)
	require.Equal(t, string(oes.EmailVerify), emails[0].Kind)
	require.Equal(t, string(oes.EmailPending), emails[0].State)
	require.Equal(t, &u.ID, emails[0].UserID, "the email is recorded as the new user's")
	require.Equal(t, "ann@example.org", emails[0].Recipient)

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
	tok := store.NewToken{Purpose: store.PurposeVerifyEmail, Hash: hashOf("t"), ExpiresAt: time.Now().Add(time.Hour)}

	_, _, err := b.store.CreateUserWithToken(b.ctx, store.NewUser{Email: "TAKEN@example.org", Name: "T", PasswordHash: "h", Role: oes.RoleStudent},
		tok, tokenEmail(store.PurposeVerifyEmail, "TAKEN@example.org"))
	requireCode(t, err, oes.ECONFLICT)
	require.Equal(t, 0, b.count(t, "SELECT count(*) FROM user_tokens"))
	require.Empty(t, b.outboxRows(t), "no email for an account that was not created")

	unfit := tokenEmail(store.PurposeVerifyEmail, "new@example.org")
	unfit.Priority = 0
	_, _, err = b.store.CreateUserWithToken(b.ctx, store.NewUser{Email: "new@example.org", Name: "N", PasswordHash: "h", Role: oes.RoleStudent},
		tok, unfit)
	e := requireCode(t, err, oes.EINVALID)
	require.Equal(t, "priority", e.Fields[0].Field)
	require.Equal(t, 1, b.count(t, "SELECT count(*) FROM users"), "no account without its email")
	require.Equal(t, 0, b.count(t, "SELECT count(*) FROM user_tokens"))
	require.Empty(t, b.outboxRows(t))
}

func TestTokenExpiry(t *testing.T) {
	t.Parallel()
	b := setup(t)
	u := b.createUser(t, "ann@example.org", oes.RoleStudent)
	issued := time.Now()
	_, err := b.store.ReplaceToken(b.ctx, u.ID, store.NewToken{
		Purpose: store.PurposeResetPassword, Hash: hashOf("r"), ExpiresAt: issued.Add(time.Hour)},
		tokenEmail(store.PurposeResetPassword, u.Email))
	require.NoError(t, err)

	_, err = b.store.ResetPassword(b.ctx, hashOf("r"), "new", issued.Add(time.Hour))
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
	b.replaceToken(t, u, store.PurposeVerifyEmail, "v1")
	b.replaceToken(t, u, store.PurposeVerifyEmail, "v2")
	b.replaceToken(t, u, store.PurposeResetPassword, "r1")
	require.Equal(t, 2, b.count(t, "SELECT count(*) FROM user_tokens WHERE user_id = $1 AND used_at IS NULL", u.ID))

	_, err := b.store.VerifyEmail(b.ctx, hashOf("v1"), time.Now())
	e := requireCode(t, err, oes.EINVALID)
	require.Contains(t, e.Fields[0].Message, "not valid")
	_, err = b.store.VerifyEmail(b.ctx, hashOf("v2"), time.Now())
	require.NoError(t, err)

	_, err = b.store.ReplaceToken(b.ctx, missing, store.NewToken{Purpose: store.PurposeVerifyEmail, Hash: hashOf("x"), ExpiresAt: time.Now().Add(time.Hour)},
		tokenEmail(store.PurposeVerifyEmail, "nobody@example.org"))
	requireCode(t, err, oes.ENOTFOUND)
	require.Equal(t, 0, b.count(t, "SELECT count(*) FROM email_outbox WHERE recipient = 'nobody@example.org'"))
}

func TestReplaceTokenWritesOneEmailAndCancelsTheUnsentOneOfItsKind(t *testing.T) {
	t.Parallel()
	b := setup(t)
	u := b.createUser(t, "ann@example.org", oes.RoleStudent)
	other := b.createUser(t, "bob@example.org", oes.RoleStudent)

	delivered := b.replaceToken(t, u, store.PurposeVerifyEmail, "v0")
	b.moveTo(t, delivered, oes.EmailDelivered)
	queued := b.replaceToken(t, u, store.PurposeVerifyEmail, "v1")
	b.moveTo(t, queued, oes.EmailQueued)
	reset := b.replaceToken(t, u, store.PurposeResetPassword, "r1")
	othersVerify := b.replaceToken(t, other, store.PurposeVerifyEmail, "o1")
	before := len(b.outboxRows(t))

	newest := b.replaceToken(t, u, store.PurposeVerifyEmail, "v2")
	require.Len(t, b.outboxRows(t), before+1, "one email per token")

	got := b.outbox(t, newest)
	require.Equal(t, string(oes.EmailPending), got.State)
	require.Equal(t, &u.ID, got.UserID)
	require.Equal(t, string(oes.EmailVerify), got.Kind)

	superseded := b.outbox(t, queued)
	require.Equal(t, string(oes.EmailCancelled), superseded.State, "its link no longer works")
	require.Contains(t, superseded.LastError, "superseded")
	require.Nil(t, superseded.HTML, "a cancelled email's link is erased")
	require.Nil(t, superseded.Text)
	require.NotNil(t, superseded.FinishedAt)

	require.Equal(t, string(oes.EmailDelivered), b.outbox(t, delivered).State, "a sent email stays as it was")
	for _, id := range []int64{reset, othersVerify} {
		r := b.outbox(t, id)
		require.Equal(t, string(oes.EmailPending), r.State, "another kind or another user's email is left alone")
		require.NotNil(t, r.HTML)
	}

	// A replacement whose email is unfit changes nothing: the newest link still works and its
	// email is still on its way.
	unfit := tokenEmail(store.PurposeVerifyEmail, u.Email)
	unfit.Message.Subject = ""
	_, err := b.store.ReplaceToken(b.ctx, u.ID, store.NewToken{Purpose: store.PurposeVerifyEmail, Hash: hashOf("v3"), ExpiresAt: time.Now().Add(time.Hour)}, unfit)
	e := requireCode(t, err, oes.EINVALID)
	require.Equal(t, "subject", e.Fields[0].Field)
	require.Len(t, b.outboxRows(t), before+1)
	require.Equal(t, string(oes.EmailPending), b.outbox(t, newest).State)
	_, err = b.store.VerifyEmail(b.ctx, hashOf("v2"), time.Now())
	require.NoError(t, err)
}

func TestConcurrentIssuesAndUsesOfTokens(t *testing.T) {
	t.Parallel()
	b := setup(t)
	u := b.createUser(t, "ann@example.org", oes.RoleStudent)
	exp := time.Now().Add(time.Hour)

	// Concurrent issues for one user take turns: every call succeeds, one token is left, and
	// only the last email is still to be sent.
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = b.store.ReplaceToken(b.ctx, u.ID, store.NewToken{
				Purpose: store.PurposeResetPassword, Hash: hashOf(string(rune('a' + i))), ExpiresAt: exp},
				tokenEmail(store.PurposeResetPassword, u.Email))
		})
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	require.Equal(t, 1, b.count(t, "SELECT count(*) FROM user_tokens WHERE used_at IS NULL"))
	require.Equal(t, 1, b.count(t, "SELECT count(*) FROM email_outbox WHERE state = 'pending'"))
	require.Equal(t, len(errs)-1, b.count(t, "SELECT count(*) FROM email_outbox WHERE state = 'cancelled'"))

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

func TestTokensGoWithTheirUserButEmailsStay(t *testing.T) {
	t.Parallel()
	b := setup(t)
	u := b.createUser(t, "ann@example.org", oes.RoleStudent)
	id := b.replaceToken(t, u, store.PurposeVerifyEmail, "v")
	_, err := b.pool.Exec(b.ctx, "DELETE FROM users WHERE id = $1", u.ID)
	require.NoError(t, err)
	require.Equal(t, 0, b.count(t, "SELECT count(*) FROM user_tokens"))
	email := b.outbox(t, id)
	require.Nil(t, email.UserID, "the record of what was sent outlives the account")
	require.Equal(t, u.Email, email.Recipient)
}
