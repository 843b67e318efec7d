// Package account manages user accounts: registration with email verification, sign-in, and
// password reset. Emails are rendered from pkg/infra/mail/templates and written to the outbox in the
// transaction that issues their token, never sent inline: a request never waits on a mail
// server or on the queue, and no token is issued without its email.
package account

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/oeshq/oes/pkg/infra/auth"
	"github.com/oeshq/oes/pkg/infra/mail"
	"github.com/oeshq/oes/pkg/infra/store"
	"github.com/oeshq/oes/pkg/oes"
)

// How account emails are sent: they are what a user waits for, so they go first and are
// retried longer than bulk mail.
const (
	EmailPriority = 10
	EmailAttempts = 5
)

// Config configures a Service.
type Config struct {
	// VerifyURL is the page the verification email links to, with the token added as the
	// query parameter "token": the api's own page, or a front end's.
	VerifyURL string
	// ResetURL is the page the password-reset email links to, with the token added the same
	// way; it asks for the new password and sends it with the token to ResetPassword.
	ResetURL  string
	VerifyTTL time.Duration // how long a verification token works
	ResetTTL  time.Duration // how long a password-reset token works
	// PasswordCost is the bcrypt cost of new password hashes; 0 means bcrypt.DefaultCost.
	PasswordCost int
	// Now is the clock tokens are issued and checked by; nil means time.Now.
	Now func() time.Time
	// Revoker is told of every committed change that revokes a user's access tokens (a role
	// change, a password reset), to drop what is cached about the user's access; nil when
	// nothing is cached.
	Revoker Revoker
}

// Revoker drops what is cached about a user's access; *profile.Service implements it.
type Revoker interface {
	Revoke(ctx context.Context, userID int64)
}

// Service runs the account flows. It is safe for concurrent use.
type Service struct {
	store  *store.Store
	tokens *auth.Tokens
	cfg    Config
	log    *slog.Logger
	// dummyHash is compared against when an email is unknown, so that signing in with an
	// unknown address costs as long as with a known one. It is made at first use: at the
	// default cost it takes as long as a sign-in, which start-up need not wait for.
	dummyHash func() []byte
	detached  *detached // the work of resend and reset requests; see Wait
}

// NewService returns a Service storing accounts and their emails in st and signing access
// tokens with tokens. tokens may be nil for a Service that signs nobody in (the api's admin
// command).
func NewService(st *store.Store, tokens *auth.Tokens, cfg Config, log *slog.Logger) (*Service, error) {
	for _, u := range []struct{ name, value string }{{"VerifyURL", cfg.VerifyURL}, {"ResetURL", cfg.ResetURL}} {
		parsed, err := url.Parse(u.value)
		if err != nil || (parsed.Scheme != "http" && parsed.Scheme != "https") || parsed.Host == "" || parsed.RawQuery != "" || parsed.Fragment != "" {
			return nil, fmt.Errorf("account: %s must be an absolute http(s) URL without query, got %q", u.name, u.value)
		}
	}
	if cfg.VerifyTTL <= 0 || cfg.ResetTTL <= 0 {
		return nil, errors.New("account: token lifetimes must be positive")
	}
	if cfg.PasswordCost == 0 {
		cfg.PasswordCost = bcrypt.DefaultCost
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.PasswordCost < bcrypt.MinCost || cfg.PasswordCost > bcrypt.MaxCost {
		return nil, fmt.Errorf("account: password cost must be from %d to %d, got %d", bcrypt.MinCost, bcrypt.MaxCost, cfg.PasswordCost)
	}
	dummy := sync.OnceValue(func() []byte {
		h, _ := bcrypt.GenerateFromPassword([]byte(rand.Text()), cfg.PasswordCost) // the cost is valid
		return h
	})
	return &Service{store: st, tokens: tokens, cfg: cfg, log: log, dummyHash: dummy, detached: newDetached()}, nil
}

// emailToken is a token sent by email: Value goes into the email, Hash into the database.
type emailToken struct {
	Value string
	Hash  []byte
}

// tokenBytes is the entropy of an emailed token: 256 bits, beyond any guessing.
const tokenBytes = 32

var tokenEncoding = base64.RawURLEncoding.Strict()

func newEmailToken() emailToken {
	var b [tokenBytes]byte
	_, _ = rand.Read(b[:]) // never fails; see crypto/rand.Read
	h := sha256.Sum256(b[:])
	return emailToken{Value: tokenEncoding.EncodeToString(b[:]), Hash: h[:]}
}

// hashEmailToken returns the hash under which the token value is stored, or false when the
// value cannot be a token this service issued.
func hashEmailToken(value string) ([]byte, bool) {
	b, err := tokenEncoding.DecodeString(value)
	if err != nil || len(b) != tokenBytes {
		return nil, false
	}
	h := sha256.Sum256(b)
	return h[:], true
}

// withToken is the emailed link: page with the token as its query. NewService refused pages
// with a query of their own.
func withToken(page string, tok emailToken) string {
	return page + "?" + url.Values{"token": {tok.Value}}.Encode()
}

// checkToken reports whether a token of purpose would be accepted now, without spending it.
func (s *Service) checkToken(ctx context.Context, purpose store.TokenPurpose, token string) error {
	hash, ok := hashEmailToken(token)
	if !ok {
		return oes.Invalid(tokenFieldError(token))
	}
	return s.store.CheckToken(ctx, purpose, hash, s.cfg.Now())
}

// accountEmail is how an account email goes to the outbox.
func accountEmail(kind oes.EmailKind, m mail.Message) store.NewEmail {
	return store.NewEmail{Kind: kind, Message: m, Priority: EmailPriority, MaxAttempts: EmailAttempts}
}

// issueToken gives the account of email a new emailed token of purpose, valid for ttl, in place
// of its earlier one, with the email compose makes of the account and the token; the unsent
// emails carrying the earlier token are cancelled. ok is false when there is nothing to send: no
// such account, one that wants (when wants is not nil) rejects, or one deleted meanwhile; err is
// then nil unless email is not an address at all (EINVALID) or the store failed. Callers answer
// the same in every no-send case, so that nobody learns which addresses have accounts.
func (s *Service) issueToken(ctx context.Context, email string, purpose store.TokenPurpose, ttl time.Duration,
	wants func(store.Account) bool, compose func(store.Account, emailToken) (store.NewEmail, error)) (ok bool, err error) {
	email = strings.TrimSpace(email)
	if msg := checkEmail(email); msg != "" {
		return false, oes.Invalid(oes.FieldError{Field: "email", Message: msg})
	}
	acc, err := s.store.GetAccountByEmail(ctx, email)
	switch {
	case oes.ErrorCode(err) == oes.ENOTFOUND:
		return false, nil
	case err != nil:
		return false, err
	case wants != nil && !wants(acc):
		return false, nil
	}
	tok := newEmailToken()
	m, err := compose(acc, tok)
	if err != nil {
		return false, err
	}
	_, err = s.store.ReplaceToken(ctx, acc.ID, store.NewToken{Purpose: purpose, Hash: tok.Hash, ExpiresAt: s.cfg.Now().Add(ttl)}, m)
	switch {
	case oes.ErrorCode(err) == oes.ENOTFOUND: // deleted meanwhile
		return false, nil
	case err != nil:
		return false, err
	}
	return true, nil
}

// revoke tells the Revoker, if any, that the user's access tokens were revoked.
func (s *Service) revoke(ctx context.Context, userID int64) {
	if s.cfg.Revoker != nil {
		s.cfg.Revoker.Revoke(ctx, userID)
	}
}
