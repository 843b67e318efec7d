package benchkit

import (
	"context"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/oeshq/oes/pkg/infra/store"
	"github.com/oeshq/oes/pkg/oes"
)

// CreateAccount stores a verified account with role (oes.RoleStudent or oes.RoleAdmin) that
// signs in through the api with password, as the demo data's accounts do, without the
// verification email a registration writes: a program that counts emails adds none of its own.
// The hash has bcrypt's lowest cost, so that signing many accounts in costs the api little;
// the api checks a hash at whatever cost it was made with.
func CreateAccount(ctx context.Context, st *store.Store, email, name, password, role string) (oes.User, error) {
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		return oes.User{}, err
	}
	now := time.Now()
	return st.CreateUser(ctx, store.NewUser{Email: email, Name: name, PasswordHash: string(hash), Role: role, EmailVerifiedAt: &now})
}
