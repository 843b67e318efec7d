package account

import (
	"context"
	"log/slog"

	"golang.org/x/crypto/bcrypt"

	"github.com/oeshq/oes/pkg/mail/templates"
	"github.com/oeshq/oes/pkg/store"
)

// RequestPasswordReset queues a password-reset email when email belongs to an account, and
// does nothing otherwise, so the caller learns nothing about which addresses have accounts.
// The new token replaces any earlier reset token of the account. EINVALID only when email is
// not an address at all; a failure to queue is logged, not returned.
func (s *Service) RequestPasswordReset(ctx context.Context, email string) error {
	acc, tok, ok, err := s.issueToken(ctx, email, store.PurposeResetPassword, s.cfg.ResetTTL, nil)
	if !ok {
		return err
	}
	m, err := templates.PasswordResetEmail(acc.Email, templates.PasswordReset{
		Name: acc.Name, Token: tok.Value, ConfirmURL: s.cfg.ResetURL, ExpiresIn: s.cfg.ResetTTL,
	})
	if err == nil {
		_, err = s.enqueue(ctx, m, jobID("reset", tok.Hash))
	}
	if err != nil {
		s.log.LogAttrs(ctx, slog.LevelError, "password-reset email not queued",
			slog.Int64("user_id", acc.ID), slog.Any("err", err))
	}
	return nil
}

// ResetPasswordInput is the body of a password-reset confirmation.
type ResetPasswordInput struct {
	Token    string `json:"token"`
	Password string `json:"password"`
}

// ResetPassword spends a reset token and sets the new password; the account's other reset
// tokens stop working. Access tokens already issued stay valid until they expire. EINVALID
// naming "password" when the password breaks the rules, or "token" when the token is
// malformed, unknown, replaced, used or expired.
func (s *Service) ResetPassword(ctx context.Context, in ResetPasswordInput) error {
	hash, ok := hashEmailToken(in.Token)
	var fs fieldErrors
	if !ok {
		fs = append(fs, tokenFieldError(in.Token))
	}
	if msg := checkPassword(in.Password); msg != "" {
		fs.add("password", msg)
	}
	if err := fs.err(); err != nil {
		return err
	}
	pw, err := bcrypt.GenerateFromPassword([]byte(in.Password), s.cfg.PasswordCost)
	if err != nil {
		return err
	}
	_, err = s.store.ResetPassword(ctx, hash, string(pw), s.cfg.Now())
	return err
}
