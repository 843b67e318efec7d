package auth

import (
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/oes"
)

var secret = []byte(strings.Repeat("s", MinSecretBytes))

func newTokens(t *testing.T) *Tokens {
	t.Helper()
	tk, err := New(secret, 15*time.Minute)
	require.NoError(t, err)
	return tk
}

func requireUnauthorized(t *testing.T, err error, msg string) {
	t.Helper()
	require.Equal(t, oes.EUNAUTHORIZED, oes.ErrorCode(err), "err: %v", err)
	require.Contains(t, oes.ErrorMessage(err), msg)
}

func TestIssueAndParse(t *testing.T) {
	t.Parallel()
	tk := newTokens(t)
	tok, exp, err := tk.Issue(oes.User{ID: 42, Role: oes.RoleAdmin})
	require.NoError(t, err)
	require.WithinDuration(t, time.Now().Add(15*time.Minute), exp, 2*time.Second)

	c, err := tk.Parse(tok)
	require.NoError(t, err)
	require.Equal(t, int64(42), c.UserID)
	require.Equal(t, oes.RoleAdmin, c.Role)
	require.True(t, exp.Equal(c.ExpiresAt), "%s != %s", exp, c.ExpiresAt)
}

func TestTokenCarriesTheUsersTokenVersion(t *testing.T) {
	t.Parallel()
	tk := newTokens(t)
	tok, _, err := tk.Issue(oes.User{ID: 42, Role: oes.RoleStudent, TokenVersion: 3})
	require.NoError(t, err)
	c, err := tk.Parse(tok)
	require.NoError(t, err)
	require.Equal(t, int64(3), c.Version)

	// A token issued before versions existed reads as version 0, the column's default.
	old := claims{Role: oes.RoleStudent, RegisteredClaims: jwt.RegisteredClaims{
		Issuer: issuer, Subject: "42", ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Minute)),
	}}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, old).SignedString(secret)
	require.NoError(t, err)
	c, err = tk.Parse(s)
	require.NoError(t, err)
	require.Zero(t, c.Version)
}

func TestNewRefusesAShortSecret(t *testing.T) {
	t.Parallel()
	_, err := New(secret[:MinSecretBytes-1], time.Minute)
	require.ErrorContains(t, err, "at least 32 bytes")
	_, err = New(secret, 0)
	require.Error(t, err)
}

func TestParseRefuses(t *testing.T) {
	t.Parallel()
	tk := newTokens(t)
	valid := claims{Role: oes.RoleAdmin, RegisteredClaims: jwt.RegisteredClaims{
		Issuer: issuer, Subject: "7", ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Minute)),
	}}
	sign := func(m jwt.SigningMethod, key any, c jwt.Claims) string {
		s, err := jwt.NewWithClaims(m, c).SignedString(key)
		require.NoError(t, err)
		return s
	}
	with := func(edit func(*claims)) claims {
		c := valid
		edit(&c)
		return c
	}

	tests := map[string]struct {
		token, msg string
	}{
		"expired": {sign(jwt.SigningMethodHS256, secret, with(func(c *claims) {
			c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(-time.Second))
		})), "expired"},
		"noExpiry":    {sign(jwt.SigningMethodHS256, secret, with(func(c *claims) { c.ExpiresAt = nil })), "not valid"},
		"otherSecret": {sign(jwt.SigningMethodHS256, []byte(strings.Repeat("x", 32)), valid), "not valid"},
		"algNone":     {sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, valid), "not valid"},
		"otherHMAC":   {sign(jwt.SigningMethodHS512, secret, valid), "not valid"},
		"otherIssuer": {sign(jwt.SigningMethodHS256, secret, with(func(c *claims) { c.Issuer = "elsewhere" })), "not valid"},
		"badSubject":  {sign(jwt.SigningMethodHS256, secret, with(func(c *claims) { c.Subject = "admin" })), "not valid"},
		"badRole":     {sign(jwt.SigningMethodHS256, secret, with(func(c *claims) { c.Role = "root" })), "not valid"},
		"garbage":     {"not.a.jwt", "not valid"},
		"empty":       {"", "not valid"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := tk.Parse(tt.token)
			requireUnauthorized(t, err, tt.msg)
		})
	}
}

func TestParseUsesTheClock(t *testing.T) {
	t.Parallel()
	tk := newTokens(t)
	tok, exp, err := tk.Issue(oes.User{ID: 1, Role: oes.RoleStudent})
	require.NoError(t, err)
	tk.now = func() time.Time { return exp.Add(time.Second) }
	_, err = tk.Parse(tok)
	requireUnauthorized(t, err, "expired")
}
