package account

import (
	"context"
	"log/slog"
	"strings"

	"golang.org/x/crypto/bcrypt"

	"github.com/oeshq/oes/pkg/mail/templates"
	"github.com/oeshq/oes/pkg/oes"
	"github.com/oeshq/oes/pkg/queue"
	"github.com/oeshq/oes/pkg/store"
)

// RegisterInput is the body of a registration.
type RegisterInput struct {
	Email    string `json:"email"`
	Name     string `json:"name"`
	Password string `json:"password"`
}

// Registration is the result of a registration: the new student account and how its
// verification email was queued. Queued is false when the account was created but the queue
// refused the email; the user then asks for it again (ResendVerification).
type Registration struct {
	User oes.User
	queue.Enqueued
}

// Register creates a student account whose address is not verified yet and queues the email
// that verifies it. EINVALID naming the fields at fault; ECONFLICT when an account with the
// email, compared case-insensitively, exists, in which case nothing is queued.
//
// The account and its verification token are written in one transaction, and the email is
// queued after it commits: an email never refers to an account that was rolled back. If
// queueing then fails, the account stays and Registration.Queued is false rather than the
// account being deleted again: the user cannot tell a rolled-back registration from a lost
// one, while a kept account needs only a resend, which replaces the unsent token.
func (s *Service) Register(ctx context.Context, in RegisterInput) (Registration, error) {
	in.Email = strings.TrimSpace(in.Email)
	in.Name = strings.TrimSpace(in.Name)
	var fs fieldErrors
	if msg := checkEmail(in.Email); msg != "" {
		fs.add("email", msg)
	}
	if msg := CheckName(in.Name); msg != "" {
		fs.add("name", msg)
	}
	if msg := checkPassword(in.Password); msg != "" {
		fs.add("password", msg)
	}
	if err := fs.err(); err != nil {
		return Registration{}, err
	}

	hash, err := bcrypt.GenerateFromPassword([]byte(in.Password), s.cfg.PasswordCost)
	if err != nil {
		return Registration{}, err
	}
	tok := newEmailToken()
	u, err := s.store.CreateUserWithToken(ctx, store.NewUser{
		Email: in.Email, Name: in.Name, PasswordHash: string(hash), Role: oes.RoleStudent,
	}, store.NewToken{Purpose: store.PurposeVerifyEmail, Hash: tok.Hash, ExpiresAt: s.cfg.Now().Add(s.cfg.VerifyTTL)})
	if err != nil {
		return Registration{}, err
	}

	id, err := s.sendVerification(ctx, u, tok)
	if err != nil {
		s.log.LogAttrs(ctx, slog.LevelWarn, "verification email not queued; the user can ask for it again",
			slog.Int64("user_id", u.ID), slog.Any("err", err))
		return Registration{User: u}, nil
	}
	return Registration{User: u, Enqueued: queue.Enqueued{Queued: true, JobID: id}}, nil
}

// VerifyEmail spends a verification token and marks its account's address verified.
// EINVALID on the field "token" when the token is malformed, unknown, replaced by a newer
// one, used, or expired.
func (s *Service) VerifyEmail(ctx context.Context, token string) (oes.User, error) {
	hash, ok := hashEmailToken(token)
	if !ok {
		return oes.User{}, oes.Invalid(tokenFieldError(token))
	}
	return s.store.VerifyEmail(ctx, hash, s.cfg.Now())
}

// ResendVerification queues a new verification email when email belongs to an account whose
// address is not verified yet, and does nothing otherwise: the caller learns nothing about
// which addresses have accounts. The new token replaces any earlier one. EINVALID only when
// email is not an address at all; a failure to queue is logged, not returned, since returning
// it would reveal that the account exists.
func (s *Service) ResendVerification(ctx context.Context, email string) error {
	acc, tok, ok, err := s.issueToken(ctx, email, store.PurposeVerifyEmail, s.cfg.VerifyTTL,
		func(acc store.Account) bool { return acc.EmailVerifiedAt == nil })
	if !ok {
		return err
	}
	if _, err := s.sendVerification(ctx, acc.User, tok); err != nil {
		s.log.LogAttrs(ctx, slog.LevelError, "verification email not queued",
			slog.Int64("user_id", acc.ID), slog.Any("err", err))
	}
	return nil
}

func (s *Service) sendVerification(ctx context.Context, u oes.User, tok emailToken) (string, error) {
	m, err := templates.VerificationEmail(u.Email, templates.Verification{
		Name:      u.Name,
		VerifyURL: s.cfg.VerifyURL + "?token=" + tok.Value,
		ExpiresIn: s.cfg.VerifyTTL,
	})
	if err != nil {
		return "", err
	}
	return s.enqueue(ctx, m, jobID("verify", tok.Hash))
}

// tokenFieldError explains a token value that cannot have been issued.
func tokenFieldError(token string) oes.FieldError {
	if token == "" {
		return oes.FieldError{Field: "token", Message: "is required"}
	}
	return oes.FieldError{Field: "token", Message: "is not valid"}
}
