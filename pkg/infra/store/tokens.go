package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/oeshq/oes/db/dbsqlc"
	"github.com/oeshq/oes/pkg/oes"
)

// TokenPurpose says what an emailed token allows; a token works for its own purpose only.
type TokenPurpose string

// Token purposes, as the schema's user_tokens_purpose_check knows them.
const (
	PurposeVerifyEmail   TokenPurpose = "verify_email"
	PurposeResetPassword TokenPurpose = "reset_password"
)

// NewToken is an emailed token to store. Hash is the SHA-256 of the token; the token itself
// is never stored.
type NewToken struct {
	Purpose   TokenPurpose
	Hash      []byte
	ExpiresAt time.Time
}

// CreateUserWithToken stores a new account, its first token and the email that carries the
// token in one transaction, so that an account never exists without its verification email,
// nor an email without its account. The email is recorded as the new user's. It returns the
// account and the email's id. ECONFLICT when the email address, compared case-insensitively,
// is taken; EINVALID when the email is not fit to send.
func (s *Store) CreateUserWithToken(ctx context.Context, in NewUser, tok NewToken, email NewEmail) (oes.User, int64, error) {
	var u oes.User
	var emailID int64
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		row, err := s.q.CreateUser(ctx, tx, in.params())
		if err != nil {
			return err
		}
		u = userFromRow(row)
		if err := s.q.CreateUserToken(ctx, tx, dbsqlc.CreateUserTokenParams{
			UserID: u.ID, Purpose: string(tok.Purpose), TokenHash: tok.Hash, ExpiresAt: tok.ExpiresAt,
		}); err != nil {
			return err
		}
		email.UserID = u.ID
		emailID, err = s.insertEmail(ctx, tx, email)
		return err
	})
	if err != nil {
		return oes.User{}, 0, translate(err, "user")
	}
	return u, emailID, nil
}

// ReplaceToken stores tok for the user with the email that carries it, and deletes the user's
// unused tokens of the same purpose, so only the newest emailed link works; the unsent emails
// of the same kind are cancelled, since their links would no longer work. Concurrent calls for
// one user take turns. It returns the email's id. ENOTFOUND when the user does not exist;
// EINVALID when the email is not fit to send, in which case nothing changes.
func (s *Store) ReplaceToken(ctx context.Context, userID int64, tok NewToken, email NewEmail) (int64, error) {
	var emailID int64
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := s.q.LockUser(ctx, tx, userID); err != nil {
			return err
		}
		if _, err := s.q.DeletePendingUserTokens(ctx, tx, dbsqlc.DeletePendingUserTokensParams{
			UserID: userID, Purpose: string(tok.Purpose),
		}); err != nil {
			return err
		}
		if err := s.q.CreateUserToken(ctx, tx, dbsqlc.CreateUserTokenParams{
			UserID: userID, Purpose: string(tok.Purpose), TokenHash: tok.Hash, ExpiresAt: tok.ExpiresAt,
		}); err != nil {
			return err
		}
		if err := s.cancelSuperseded(ctx, tx, userID, email.Kind); err != nil {
			return err
		}
		email.UserID = userID
		var err error
		emailID, err = s.insertEmail(ctx, tx, email)
		return err
	})
	return emailID, translate(err, fmt.Sprintf("user %d", userID))
}

// VerifyEmail spends the email-verification token whose hash is tokenHash and marks its user's
// address verified as of now. EINVALID on the field "token" when the token is unknown, used,
// or expired at now; the message says which.
func (s *Store) VerifyEmail(ctx context.Context, tokenHash []byte, now time.Time) (oes.User, error) {
	var u oes.User
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		userID, err := s.consumeToken(ctx, tx, PurposeVerifyEmail, tokenHash, now)
		if err != nil {
			return err
		}
		row, err := s.q.MarkUserEmailVerified(ctx, tx, dbsqlc.MarkUserEmailVerifiedParams{ID: userID, Now: now})
		if err != nil {
			return err
		}
		u = userFromRow(row)
		return nil
	})
	if err != nil {
		return oes.User{}, translate(err, "user")
	}
	return u, nil
}

// ResetPassword spends the password-reset token whose hash is tokenHash, sets its user's
// password hash, and deletes the user's other unused reset tokens. The address counts as
// verified from now on, since the token was sent there. EINVALID on the field "token" as
// VerifyEmail.
func (s *Store) ResetPassword(ctx context.Context, tokenHash []byte, passwordHash string, now time.Time) (oes.User, error) {
	var u oes.User
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		userID, err := s.consumeToken(ctx, tx, PurposeResetPassword, tokenHash, now)
		if err != nil {
			return err
		}
		row, err := s.q.SetUserPassword(ctx, tx, dbsqlc.SetUserPasswordParams{ID: userID, PasswordHash: passwordHash, Now: now})
		if err != nil {
			return err
		}
		u = userFromRow(row)
		_, err = s.q.DeletePendingUserTokens(ctx, tx, dbsqlc.DeletePendingUserTokensParams{
			UserID: userID, Purpose: string(PurposeResetPassword),
		})
		return err
	})
	if err != nil {
		return oes.User{}, translate(err, "user")
	}
	return u, nil
}

// consumeToken marks the token used and returns its user, or explains why it cannot be used.
func (s *Store) consumeToken(ctx context.Context, tx pgx.Tx, purpose TokenPurpose, hash []byte, now time.Time) (int64, error) {
	userID, err := s.q.ConsumeUserToken(ctx, tx, dbsqlc.ConsumeUserTokenParams{
		TokenHash: hash, Purpose: string(purpose), Now: now,
	})
	if !errors.Is(err, pgx.ErrNoRows) {
		return userID, err
	}
	if err := s.explainToken(ctx, tx, purpose, hash, now); err != nil {
		return 0, err
	}
	// Not reached: the update and the read judge the row by the same now. Refused anyway,
	// as the update found nothing to spend.
	return 0, invalidToken("has expired: ask for a new one")
}

// CheckToken reports whether the token whose hash is tokenHash would be accepted for purpose
// at now, without spending it: nil when it would, else EINVALID on the field "token" as
// VerifyEmail says. It is what a page shows before the token is used.
func (s *Store) CheckToken(ctx context.Context, purpose TokenPurpose, tokenHash []byte, now time.Time) error {
	return translate(s.explainToken(ctx, s.pool, purpose, tokenHash, now), "token")
}

// explainToken returns nil when the token is usable at now, else why it is not.
func (s *Store) explainToken(ctx context.Context, db dbsqlc.DBTX, purpose TokenPurpose, hash []byte, now time.Time) error {
	tok, err := s.q.GetUserToken(ctx, db, dbsqlc.GetUserTokenParams{TokenHash: hash, Purpose: string(purpose)})
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return invalidToken("is not valid: it may have been replaced by a newer one")
	case err != nil:
		return err
	case tok.UsedAt != nil:
		return invalidToken("has already been used")
	case !tok.ExpiresAt.After(now):
		return invalidToken("has expired: ask for a new one")
	}
	return nil
}

func invalidToken(reason string) *oes.Error {
	return oes.Invalid(oes.FieldError{Field: "token", Message: reason})
}
