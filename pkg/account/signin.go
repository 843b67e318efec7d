package account

import (
	"context"
	"errors"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/oeshq/oes/pkg/oes"
)

// Session is a signed-in user with an access token for the api.
type Session struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
	User      oes.User  `json:"user"`
}

// errBadCredentials answers a wrong password and an unknown address alike.
var errBadCredentials = oes.Errorf(oes.EUNAUTHORIZED, "the email or the password is wrong")

// Login checks email and password and returns a session. EINVALID when either is missing;
// EUNAUTHORIZED, with one message, for an unknown address and a wrong password;
// EEMAILNOTVERIFIED when the password is right but the address is not verified yet. The
// verification state is revealed only to a caller who knows the password.
func (s *Service) Login(ctx context.Context, email, password string) (Session, error) {
	email = strings.TrimSpace(email)
	var fs fieldErrors
	if email == "" {
		fs.add("email", "is required")
	}
	if password == "" {
		fs.add("password", "is required")
	}
	if err := fs.err(); err != nil {
		return Session{}, err
	}
	if len(password) > MaxPasswordBytes {
		// bcrypt reads only the first 72 bytes: unrefused, a password that long would sign in
		// with anything appended. No password can be set longer, so it is a wrong one, whatever
		// the account.
		return Session{}, errBadCredentials
	}

	acc, err := s.store.GetAccountByEmail(ctx, email)
	switch {
	case oes.ErrorCode(err) == oes.ENOTFOUND:
		// Spend the time a real check would, so timing does not tell which addresses exist.
		_ = bcrypt.CompareHashAndPassword(s.dummyHash(), []byte(password))
		return Session{}, errBadCredentials
	case err != nil:
		return Session{}, err
	}
	if err := bcrypt.CompareHashAndPassword([]byte(acc.PasswordHash), []byte(password)); err != nil {
		if errors.Is(err, bcrypt.ErrMismatchedHashAndPassword) {
			return Session{}, errBadCredentials
		}
		return Session{}, err // a stored hash that bcrypt cannot read
	}
	if acc.EmailVerifiedAt == nil {
		return Session{}, oes.Errorf(oes.EEMAILNOTVERIFIED,
			"the email address is not verified yet; follow the link in the verification email or ask for a new one")
	}
	token, exp, err := s.tokens.Issue(acc.User)
	if err != nil {
		return Session{}, err
	}
	return Session{Token: token, ExpiresAt: exp, User: acc.User}, nil
}
