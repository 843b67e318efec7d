package account

import (
	"context"
	"strings"

	"golang.org/x/crypto/bcrypt"

	"github.com/oeshq/oes/pkg/infra/mail/templates"
	"github.com/oeshq/oes/pkg/infra/store"
	"github.com/oeshq/oes/pkg/oes"
)

// RequestPasswordReset sends a password-reset email when email belongs to an account, and does
// nothing otherwise, so the caller learns nothing about which addresses have accounts. The new
// token replaces any earlier reset token of the account, and an earlier reset email not sent
// yet is cancelled. EINVALID only when email is not an address at all.
//
// Only the address is checked before it returns: the account is looked up and the email written
// afterwards (see Wait), so that it returns as soon for an unknown address as for a known one.
// The store's failures are logged, not returned.
func (s *Service) RequestPasswordReset(ctx context.Context, email string) error {
	return s.issueLater(ctx, email, "password reset", func(ctx context.Context, email string) error {
		_, err := s.issueToken(ctx, email, store.PurposeResetPassword, s.cfg.ResetTTL, nil,
			func(acc store.Account, tok emailToken) (store.NewEmail, error) {
				m, err := templates.PasswordResetEmail(acc.Email, templates.PasswordReset{
					Name: acc.Name, ResetURL: withToken(s.cfg.ResetURL, tok), ExpiresIn: s.cfg.ResetTTL,
				})
				return accountEmail(oes.EmailReset, m), err
			})
		return err
	})
}

// issueLater checks email and has issue run for it once the caller has its answer; the failure
// is logged under what, with ctx's request id.
func (s *Service) issueLater(ctx context.Context, email, what string, issue func(context.Context, string) error) error {
	email = strings.TrimSpace(email)
	if msg := checkEmail(email); msg != "" {
		return oes.Invalid(oes.FieldError{Field: "email", Message: msg})
	}
	err := s.detached.run(ctx, func(ctx context.Context) {
		if err := issue(ctx, email); err != nil {
			s.log.ErrorContext(ctx, "account email not written", "email", what, "err", err)
		}
	})
	if err != nil {
		return oes.Errorf(oes.EUNAVAILABLE, "the request ended before its email could be queued (%v)", err)
	}
	return nil
}

// CheckReset reports whether ResetPassword would accept token, without spending it: nil when
// it would, else the EINVALID on the field "token" ResetPassword would return. The page the
// reset email links to asks for the new password only when the link still works.
func (s *Service) CheckReset(ctx context.Context, token string) error {
	return s.checkToken(ctx, store.PurposeResetPassword, token)
}

// ResetPasswordInput is the body of a password-reset confirmation.
type ResetPasswordInput struct {
	Token    string `json:"token"`
	Password string `json:"password"`
}

// ResetPassword spends a reset token and sets the new password; the account's other reset
// tokens stop working, and so do the access tokens issued before. EINVALID naming "password"
// when the password breaks the rules, or "token" when the token is malformed, unknown,
// replaced, used or expired.
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
	u, err := s.store.ResetPassword(ctx, hash, string(pw), s.cfg.Now())
	if err != nil {
		return err
	}
	s.revoke(ctx, u.ID)
	return nil
}
