package account

import (
	"context"
	"strconv"
	"strings"

	"golang.org/x/crypto/bcrypt"

	"github.com/oeshq/oes/pkg/infra/mail/templates"
	"github.com/oeshq/oes/pkg/infra/store"
	"github.com/oeshq/oes/pkg/oes"
)

// RegisterInput is the body of a registration.
type RegisterInput struct {
	Email    string `json:"email"`
	Name     string `json:"name"`
	Password string `json:"password"`
}

// Registration is the result of a registration: the new student account and its verification
// email's job id, by which admins follow the email.
type Registration struct {
	User  oes.User
	JobID string
}

// checked returns in with its email and name trimmed, or EINVALID naming every field that
// breaks registration's rules.
func (in RegisterInput) checked() (RegisterInput, error) {
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
	return in, fs.err()
}

// Register creates a student account whose address is not verified yet, with the email that
// verifies it. EINVALID naming the fields at fault; ECONFLICT when an account with the email,
// compared case-insensitively, exists, in which case no email is made.
//
// The account, its verification token and the email are written in one transaction: the email
// is on its way whenever the account exists, whatever the queue's state (the outbox's relay
// puts it on the queue), and no email refers to an account that was rolled back.
func (s *Service) Register(ctx context.Context, in RegisterInput) (Registration, error) {
	in, err := in.checked()
	if err != nil {
		return Registration{}, err
	}

	hash, err := bcrypt.GenerateFromPassword([]byte(in.Password), s.cfg.PasswordCost)
	if err != nil {
		return Registration{}, err
	}
	tok := newEmailToken()
	email, err := s.verificationEmail(in.Email, in.Name, tok)
	if err != nil {
		return Registration{}, err
	}
	u, emailID, err := s.store.CreateUserWithToken(ctx, store.NewUser{
		Email: in.Email, Name: in.Name, PasswordHash: string(hash), Role: oes.RoleStudent,
	}, store.NewToken{Purpose: store.PurposeVerifyEmail, Hash: tok.Hash, ExpiresAt: s.cfg.Now().Add(s.cfg.VerifyTTL)}, email)
	if err != nil {
		return Registration{}, err
	}
	return Registration{User: u, JobID: strconv.FormatInt(emailID, 10)}, nil
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

// CheckVerification reports whether VerifyEmail would accept token, without spending it: nil
// when it would, else the EINVALID VerifyEmail would return. A page shows the state of an
// emailed link with it before anyone acts.
func (s *Service) CheckVerification(ctx context.Context, token string) error {
	return s.checkToken(ctx, store.PurposeVerifyEmail, token)
}

// ResendVerification sends a new verification email when email belongs to an account whose
// address is not verified yet, and does nothing otherwise: the caller learns nothing about
// which addresses have accounts. The new token replaces any earlier one, and an earlier email
// not sent yet is cancelled, its link being dead. EINVALID only when email is not an address at
// all.
//
// As RequestPasswordReset, it returns once the address is checked and does the rest afterwards
// (see Wait), so that it returns as soon whatever the address; the store's failures are logged.
func (s *Service) ResendVerification(ctx context.Context, email string) error {
	return s.issueLater(ctx, email, "verification", func(ctx context.Context, email string) error {
		_, err := s.issueToken(ctx, email, store.PurposeVerifyEmail, s.cfg.VerifyTTL,
			func(acc store.Account) bool { return acc.EmailVerifiedAt == nil },
			func(acc store.Account, tok emailToken) (store.NewEmail, error) {
				return s.verificationEmail(acc.Email, acc.Name, tok)
			})
		return err
	})
}

func (s *Service) verificationEmail(to, name string, tok emailToken) (store.NewEmail, error) {
	m, err := templates.VerificationEmail(to, templates.Verification{
		Name:      name,
		VerifyURL: withToken(s.cfg.VerifyURL, tok),
		ExpiresIn: s.cfg.VerifyTTL,
	})
	return accountEmail(oes.EmailVerify, m), err
}

// tokenFieldError explains a token value that cannot have been issued.
func tokenFieldError(token string) oes.FieldError {
	if token == "" {
		return oes.FieldError{Field: "token", Message: "is required"}
	}
	return oes.FieldError{Field: "token", Message: "is not valid"}
}
