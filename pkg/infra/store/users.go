package store

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/oeshq/oes/db/dbsqlc"
	"github.com/oeshq/oes/pkg/oes"
)

// NewUser is an account to store. PasswordHash is already hashed; the store never sees a
// password.
type NewUser struct {
	Email        string
	Name         string
	PasswordHash string
	Role         string // oes.RoleStudent or oes.RoleAdmin
	// EmailVerifiedAt is when the address was confirmed, nil while it is not.
	EmailVerifiedAt *time.Time
}

// Account is a user together with the password hash, for signing in. It is the only way the
// hash leaves the store; do not hand it further than the code that checks a password.
type Account struct {
	oes.User
	PasswordHash string
}

// params is in as the arguments of the generated CreateUser query.
func (in NewUser) params() dbsqlc.CreateUserParams {
	return dbsqlc.CreateUserParams{
		Email:           in.Email,
		Name:            in.Name,
		PasswordHash:    in.PasswordHash,
		Role:            in.Role,
		EmailVerifiedAt: in.EmailVerifiedAt,
	}
}

// CreateUser stores a new account. ECONFLICT when the email, compared case-insensitively, is
// taken; EINVALID when the role is not one the schema knows.
func (s *Store) CreateUser(ctx context.Context, in NewUser) (oes.User, error) {
	row, err := s.q.CreateUser(ctx, s.pool, in.params())
	if err != nil {
		return oes.User{}, translate(err, "user")
	}
	return userFromRow(row), nil
}

// UpsertUser creates the account or, when the email is taken, makes the existing account
// match in: name, password hash and role are overwritten, an earlier verification is kept.
// It lets seeding be repeated.
func (s *Store) UpsertUser(ctx context.Context, in NewUser) (oes.User, error) {
	row, err := s.q.UpsertUser(ctx, s.pool, dbsqlc.UpsertUserParams{
		Email:           in.Email,
		Name:            in.Name,
		PasswordHash:    in.PasswordHash,
		Role:            in.Role,
		EmailVerifiedAt: in.EmailVerifiedAt,
	})
	if err != nil {
		return oes.User{}, translate(err, "user")
	}
	return userFromRow(row), nil
}

// GetUser returns the user with the given id. ENOTFOUND when there is none.
func (s *Store) GetUser(ctx context.Context, id int64) (oes.User, error) {
	row, err := s.q.GetUser(ctx, s.pool, id)
	if err != nil {
		return oes.User{}, translate(err, fmt.Sprintf("user %d", id))
	}
	return userFromRow(row), nil
}

// GetAccountByEmail returns the account whose email equals email ignoring case, with its
// password hash. ENOTFOUND when there is none; the message does not repeat the address.
func (s *Store) GetAccountByEmail(ctx context.Context, email string) (Account, error) {
	row, err := s.q.GetUserByEmail(ctx, s.pool, email)
	if err != nil {
		return Account{}, translate(err, "user")
	}
	return Account{User: userFromRow(row), PasswordHash: row.PasswordHash}, nil
}

// ListUsers returns one page (from 1) of the accounts, by id. A non-empty email keeps those
// whose address contains it, ignoring case.
func (s *Store) ListUsers(ctx context.Context, email string, page, size int) ([]oes.User, error) {
	skip, ok := offset(page, size)
	if !ok {
		return []oes.User{}, nil
	}
	rows, err := s.q.ListUsers(ctx, s.pool, dbsqlc.ListUsersParams{Email: email, Skip: skip, Size: int32(size)})
	if err != nil {
		return nil, translate(err, "users")
	}
	out := make([]oes.User, len(rows))
	for i, r := range rows {
		out[i] = userFromRow(r)
	}
	return out, nil
}

// SetUserRole gives the user role and returns the user. A change of role increments the
// user's token version, which revokes the access tokens issued before; setting the role the
// user has changes nothing. ENOTFOUND when there is no such user; ELASTADMIN when the user is
// the only admin and role is not admin; EINVALID naming "role" for a role the schema does not
// know. Concurrent calls take turns on the admins' rows, so that two demotions cannot together
// leave no admin.
func (s *Store) SetUserRole(ctx context.Context, id int64, role string) (oes.User, error) {
	var u oes.User
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		admins, err := s.q.LockAdmins(ctx, tx)
		if err != nil {
			return err
		}
		if role != oes.RoleAdmin && len(admins) == 1 && slices.Contains(admins, id) {
			return oes.Errorf(oes.ELASTADMIN, "user %d is the only admin: make another account an admin first", id)
		}
		row, err := s.q.SetUserRole(ctx, tx, dbsqlc.SetUserRoleParams{ID: id, Role: role})
		if err != nil {
			return err
		}
		u = userFromRow(row)
		return nil
	})
	if err != nil {
		return oes.User{}, translate(err, fmt.Sprintf("user %d", id))
	}
	return u, nil
}

func userFromRow(r dbsqlc.User) oes.User {
	return oes.User{
		ID:              r.ID,
		Email:           r.Email,
		Name:            r.Name,
		Role:            r.Role,
		EmailVerifiedAt: r.EmailVerifiedAt,
		CreatedAt:       r.CreatedAt,
		UpdatedAt:       r.UpdatedAt,
		TokenVersion:    r.TokenVersion,
	}
}
