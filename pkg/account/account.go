// Package account manages user accounts: registration with email verification, sign-in, and
// password reset. Emails are rendered from pkg/mail/templates and queued, never sent inline,
// so a request never waits on a mail server.
package account

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/oeshq/oes/pkg/auth"
	"github.com/oeshq/oes/pkg/mail"
	"github.com/oeshq/oes/pkg/oes"
	"github.com/oeshq/oes/pkg/queue"
	"github.com/oeshq/oes/pkg/store"
)

// EmailQueue queues an email for the email worker; *queue.Client implements it.
type EmailQueue interface {
	Enqueue(ctx context.Context, m mail.Message, opts queue.Options) (string, error)
}

// How account emails are queued: they are what a user waits for, so they go first and are
// retried longer than bulk mail.
const (
	EmailPriority = 10
	EmailAttempts = 5
)

// enqueueTimeout bounds queueing an email once the database has committed. The enqueue does
// not stop when the client hangs up: the account exists by then and its email should leave.
const enqueueTimeout = 5 * time.Second

// Config configures a Service.
type Config struct {
	// VerifyURL is the api's verification endpoint; emails link to it with the token added as
	// the query parameter "token".
	VerifyURL string
	// ResetURL is the api's endpoint that takes a reset token and a new password.
	ResetURL  string
	VerifyTTL time.Duration // how long a verification token works
	ResetTTL  time.Duration // how long a password-reset token works
	// PasswordCost is the bcrypt cost of new password hashes; 0 means bcrypt.DefaultCost.
	PasswordCost int
	// Now is the clock tokens are issued and checked by; nil means time.Now.
	Now func() time.Time
}

// Service runs the account flows. It is safe for concurrent use.
type Service struct {
	store  *store.Store
	queue  EmailQueue
	tokens *auth.Tokens
	cfg    Config
	log    *slog.Logger
	// dummyHash is compared against when an email is unknown, so that signing in with an
	// unknown address costs as long as with a known one. It is made at first use: at the
	// default cost it takes as long as a sign-in, which start-up need not wait for.
	dummyHash func() []byte
}

// NewService returns a Service storing accounts in st, queueing emails on q and signing
// access tokens with tokens.
func NewService(st *store.Store, q EmailQueue, tokens *auth.Tokens, cfg Config, log *slog.Logger) (*Service, error) {
	for _, u := range []struct{ name, value string }{{"VerifyURL", cfg.VerifyURL}, {"ResetURL", cfg.ResetURL}} {
		parsed, err := url.Parse(u.value)
		if err != nil || (parsed.Scheme != "http" && parsed.Scheme != "https") || parsed.Host == "" {
			return nil, fmt.Errorf("account: %s must be an absolute http(s) URL, got %q", u.name, u.value)
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
	return &Service{store: st, queue: q, tokens: tokens, cfg: cfg, log: log, dummyHash: dummy}, nil
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

// jobID names the email job of a token. A retried enqueue of the same token finds the job
// already there and queues nothing, so one token is never mailed twice. The hash prefix tells
// nothing about the token itself.
func jobID(kind string, hash []byte) string {
	return kind + "-" + hex.EncodeToString(hash[:16])
}

// enqueue queues m as an account email. It outlives ctx's cancellation, within enqueueTimeout.
func (s *Service) enqueue(ctx context.Context, m mail.Message, id string) (string, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), enqueueTimeout)
	defer cancel()
	return s.queue.Enqueue(ctx, m, queue.Options{Priority: EmailPriority, Attempts: EmailAttempts, ID: id})
}

// issueToken gives the account of email a new emailed token of purpose, valid for ttl, in place
// of its earlier one. ok is false when there is nothing to send: no such account, one that
// wants (when wants is not nil) rejects, or one deleted meanwhile; err is then nil unless email
// is not an address at all (EINVALID) or the store failed. Callers answer the same in every
// no-send case, so that nobody learns which addresses have accounts.
func (s *Service) issueToken(ctx context.Context, email string, purpose store.TokenPurpose, ttl time.Duration,
	wants func(store.Account) bool) (acc store.Account, tok emailToken, ok bool, err error) {
	email = strings.TrimSpace(email)
	if msg := checkEmail(email); msg != "" {
		return acc, tok, false, oes.Invalid(oes.FieldError{Field: "email", Message: msg})
	}
	acc, err = s.store.GetAccountByEmail(ctx, email)
	switch {
	case oes.ErrorCode(err) == oes.ENOTFOUND:
		return acc, tok, false, nil
	case err != nil:
		return acc, tok, false, err
	case wants != nil && !wants(acc):
		return acc, tok, false, nil
	}
	tok = newEmailToken()
	err = s.store.ReplaceToken(ctx, acc.ID, store.NewToken{Purpose: purpose, Hash: tok.Hash, ExpiresAt: s.cfg.Now().Add(ttl)})
	switch {
	case oes.ErrorCode(err) == oes.ENOTFOUND: // deleted meanwhile
		return acc, tok, false, nil
	case err != nil:
		return acc, tok, false, err
	}
	return acc, tok, true, nil
}
