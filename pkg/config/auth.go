package config

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// MinJWTSecretBytes is the shortest JWT_SECRET accepted: an HS256 key shorter than the hash
// gives less than its 256 bits of strength.
const MinJWTSecretBytes = 32

// Auth configures user accounts: access tokens and the tokens sent by email.
type Auth struct {
	JWTSecret      string        `envconfig:"JWT_SECRET" desc:"key signing access tokens (HS256), at least 32 bytes, e.g. from 'openssl rand -base64 48' (secret; no default: serve refuses to start without it)"`
	JWTTTL         time.Duration `envconfig:"JWT_TTL" default:"15m" desc:"lifetime of an access token; a change of the account's role or password revokes it sooner"`
	AppBaseURL     string        `envconfig:"APP_BASE_URL" default:"http://localhost:8080" desc:"public URL of the api, the base of the links sent by email unless LINK_BASE_URL is set"`
	LinkBaseURL    string        `envconfig:"LINK_BASE_URL" desc:"base of the links sent by email, for a front end of your own serving /verify and /reset-password with ?token=; empty means APP_BASE_URL, the api's own pages"`
	VerifyTokenTTL time.Duration `envconfig:"VERIFY_TOKEN_TTL" default:"24h" desc:"how long an email-verification link works"`
	ResetTokenTTL  time.Duration `envconfig:"RESET_TOKEN_TTL" default:"1h" desc:"how long a password-reset token works"`
}

// Validate checks the values given. An empty JWT_SECRET passes, since only serving needs one;
// see RequireSecret.
func (a Auth) Validate() error {
	if a.JWTSecret != "" && len(a.JWTSecret) < MinJWTSecretBytes {
		// The secret itself is never repeated.
		return fmt.Errorf("JWT_SECRET: must be at least %d bytes, got %d", MinJWTSecretBytes, len(a.JWTSecret))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"JWT_TTL", a.JWTTTL}, {"VERIFY_TOKEN_TTL", a.VerifyTokenTTL}, {"RESET_TOKEN_TTL", a.ResetTokenTTL}} {
		// JWT expiry has a resolution of a second.
		if d.v < time.Second {
			return fmt.Errorf("%s: must be at least 1s, got %s", d.name, d.v)
		}
	}
	if err := checkBaseURL("APP_BASE_URL", a.AppBaseURL); err != nil {
		return err
	}
	if a.LinkBaseURL != "" {
		return checkBaseURL("LINK_BASE_URL", a.LinkBaseURL)
	}
	return nil
}

// checkBaseURL checks a URL that paths are appended to.
func checkBaseURL(name, value string) error {
	u, err := url.Parse(value)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("%s: want an absolute http(s) URL without query, such as https://exams.example.org, got %q", name, value)
	}
	return nil
}

// RequireSecret fails, naming JWT_SECRET, when no secret is configured.
func (a Auth) RequireSecret() error {
	if a.JWTSecret == "" {
		return errors.New("JWT_SECRET: must be set to sign access tokens (at least 32 bytes, e.g. from 'openssl rand -base64 48')")
	}
	return nil
}

// BaseURL is APP_BASE_URL without a trailing slash, ready to have a path appended.
func (a Auth) BaseURL() string { return strings.TrimRight(a.AppBaseURL, "/") }

// LinkBase is the base of the links sent by email, without a trailing slash: LINK_BASE_URL,
// else APP_BASE_URL. The pages are at the same paths under either (/verify and
// /reset-password, the token in the query parameter "token"), so a front end of its own
// serves those paths.
func (a Auth) LinkBase() string {
	if a.LinkBaseURL != "" {
		return strings.TrimRight(a.LinkBaseURL, "/")
	}
	return a.BaseURL()
}
