// Package auth issues and checks the api's access tokens: JWTs signed with HMAC-SHA256 that
// name a user, the user's role and token version, and expire after a short time. Nothing is
// stored: any replica that knows the secret can check a token. Parse checks the token alone;
// revoking tokens before they expire is the caller's part, by comparing Claims.Version with
// the user's current token version (oes.User.TokenVersion).
package auth

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/oeshq/oes/pkg/oes"
)

// MinSecretBytes is the shortest secret accepted: HS256 keys shorter than the hash offer less
// than its 256 bits of strength.
const MinSecretBytes = 32

// issuer is written into every token and required of every token presented, so that a token
// signed with the same secret for another purpose is not taken for an access token.
const issuer = "oes"

// Claims is what a valid token says about its bearer.
type Claims struct {
	UserID int64
	Role   string // oes.RoleStudent or oes.RoleAdmin, as when the token was issued
	// Version is the user's token version when the token was issued; a token is revoked once
	// the user's version has moved on. Tokens issued without one read as version 0.
	Version   int64
	ExpiresAt time.Time
}

// Tokens issues and parses access tokens. It is safe for concurrent use.
type Tokens struct {
	secret []byte
	ttl    time.Duration
	now    func() time.Time
	parser *jwt.Parser
}

// New returns Tokens signing with secret, at least MinSecretBytes long, whose tokens are
// valid for ttl.
func New(secret []byte, ttl time.Duration) (*Tokens, error) {
	if len(secret) < MinSecretBytes {
		return nil, fmt.Errorf("auth: the secret must be at least %d bytes, got %d", MinSecretBytes, len(secret))
	}
	if ttl <= 0 {
		return nil, fmt.Errorf("auth: the token lifetime must be positive, got %s", ttl)
	}
	t := &Tokens{secret: secret, ttl: ttl, now: time.Now}
	t.parser = jwt.NewParser(
		// Pinning the algorithm refuses "none" and any attempt to pass another kind of key.
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuer(issuer),
		jwt.WithTimeFunc(func() time.Time { return t.now() }),
	)
	return t, nil
}

// TTL is how long an issued token is valid.
func (t *Tokens) TTL() time.Duration { return t.ttl }

type claims struct {
	Role    string `json:"role"`
	Version int64  `json:"ver,omitempty"`
	jwt.RegisteredClaims
}

// Issue returns a signed token for u and the time it expires.
func (t *Tokens) Issue(u oes.User) (string, time.Time, error) {
	now := t.now()
	exp := now.Add(t.ttl).Truncate(time.Second) // JWT times are whole seconds
	c := claims{
		Role:    u.Role,
		Version: u.TokenVersion,
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    issuer,
			Subject:   strconv.FormatInt(u.ID, 10),
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(exp),
		},
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(t.secret)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("auth: sign token: %w", err)
	}
	return s, exp, nil
}

// Parse checks token's signature, algorithm, issuer and expiry and returns its claims. Every
// failure is an EUNAUTHORIZED *oes.Error; an expired token says so.
func (t *Tokens) Parse(token string) (Claims, error) {
	var c claims
	_, err := t.parser.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return t.secret, nil })
	if err != nil {
		msg := "the access token is not valid"
		if errors.Is(err, jwt.ErrTokenExpired) {
			msg = "the access token has expired; sign in again"
		}
		return Claims{}, &oes.Error{Code: oes.EUNAUTHORIZED, Message: msg, Err: err}
	}
	id, err := strconv.ParseInt(c.Subject, 10, 64)
	if err != nil || id < 1 || c.Version < 0 || (c.Role != oes.RoleStudent && c.Role != oes.RoleAdmin) {
		return Claims{}, &oes.Error{Code: oes.EUNAUTHORIZED, Message: "the access token is not valid",
			Err: fmt.Errorf("auth: token names subject %q with role %q", c.Subject, c.Role)}
	}
	return Claims{UserID: id, Role: c.Role, Version: c.Version, ExpiresAt: c.ExpiresAt.Time}, nil
}
