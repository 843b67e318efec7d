package account

import (
	"context"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/oeshq/oes/pkg/infra/store"
	"github.com/oeshq/oes/pkg/oes"
)

// CreateAdmin creates an admin account whose address counts as verified: it is how the first
// admin comes to exist (the api's admin command). The input follows registration's rules,
// EINVALID naming the fields at fault. ECONFLICT when an account with the email, compared
// case-insensitively, exists: an existing account is never taken over here, whatever its
// password; SetRole makes it an admin.
func (s *Service) CreateAdmin(ctx context.Context, in RegisterInput) (oes.User, error) {
	in, err := in.checked()
	if err != nil {
		return oes.User{}, err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(in.Password), s.cfg.PasswordCost)
	if err != nil {
		return oes.User{}, err
	}
	verified := s.cfg.Now().Truncate(time.Microsecond) // Postgres keeps microseconds
	return s.store.CreateUser(ctx, store.NewUser{
		Email: in.Email, Name: in.Name, PasswordHash: string(hash), Role: oes.RoleAdmin, EmailVerifiedAt: &verified,
	})
}

// SetRole gives the user role (oes.RoleStudent or oes.RoleAdmin) and returns the user. A change
// of role revokes the access tokens issued to the user before: the next request with one is
// refused, on every replica. EINVALID naming "role" for another role; ENOTFOUND when there is no
// such user; ELASTADMIN when the user is the only admin and role demotes them.
func (s *Service) SetRole(ctx context.Context, userID int64, role string) (oes.User, error) {
	if role != oes.RoleStudent && role != oes.RoleAdmin {
		return oes.User{}, oes.Invalid(oes.FieldError{Field: "role", Message: "must be student or admin"})
	}
	u, err := s.store.SetUserRole(ctx, userID, role)
	if err != nil {
		return oes.User{}, err
	}
	// Also when the role was already role: dropping a cached entry is harmless.
	s.revoke(ctx, u.ID)
	return u, nil
}

// SetRoleByEmail is SetRole for the account whose email equals email ignoring case. ENOTFOUND
// when there is none.
func (s *Service) SetRoleByEmail(ctx context.Context, email, role string) (oes.User, error) {
	acc, err := s.store.GetAccountByEmail(ctx, strings.TrimSpace(email))
	if err != nil {
		return oes.User{}, err
	}
	return s.SetRole(ctx, acc.ID, role)
}

// ListUsers returns one page (from 1) of the accounts, by id; a non-empty email keeps those
// whose address contains it, ignoring case.
func (s *Service) ListUsers(ctx context.Context, email string, page, size int) ([]oes.User, error) {
	return s.store.ListUsers(ctx, strings.TrimSpace(email), page, size)
}
