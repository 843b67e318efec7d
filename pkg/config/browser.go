package config

import (
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Browser configures what the api tells browsers beside its answers: whether to insist on
// HTTPS (HSTS) and which other origins, such as a front end served from its own host, may call
// it from a page (CORS). Both are off by default.
type Browser struct {
	HSTSMaxAge         time.Duration `envconfig:"HSTS_MAX_AGE" default:"0s" desc:"how long browsers must use HTTPS only for the api's host (Strict-Transport-Security, whole seconds); 0s sends no such header: set it only where HTTPS serves the api (an ingress terminating TLS), e.g. 8760h"`
	CORSAllowedOrigins []string      `envconfig:"CORS_ALLOWED_ORIGINS" desc:"comma-separated origins (scheme://host[:port]) of the browser front ends that may call the api from their pages, or * for any; empty sends no CORS headers. Credentials (cookies) are never allowed across origins: a front end sends its access token in Authorization"`
}

// MaxHSTSAge is the longest HSTS_MAX_AGE accepted: two years, the longest browsers' preload
// lists ask for.
const MaxHSTSAge = 2 * 365 * 24 * time.Hour

func (b Browser) Validate() error {
	if b.HSTSMaxAge < 0 || b.HSTSMaxAge > MaxHSTSAge || b.HSTSMaxAge%time.Second != 0 {
		return fmt.Errorf("HSTS_MAX_AGE: must be whole seconds from 0s (off) to %s, got %s", MaxHSTSAge, b.HSTSMaxAge)
	}
	for _, o := range b.CORSAllowedOrigins {
		if o == "*" {
			if len(b.CORSAllowedOrigins) > 1 {
				return fmt.Errorf("CORS_ALLOWED_ORIGINS: * allows every origin and must stand alone")
			}
			continue
		}
		if err := checkOrigin(o); err != nil {
			return fmt.Errorf("CORS_ALLOWED_ORIGINS: %w", err)
		}
	}
	return nil
}

// checkOrigin accepts an origin as browsers send it in the Origin header: a scheme and a host
// with an optional port, nothing else, in lower case.
func checkOrigin(o string) error {
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
		u.Scheme+"://"+u.Host != o || o != strings.ToLower(o) {
		return fmt.Errorf("want an origin such as https://app.example.org or http://localhost:3000 (lower case, no path, no trailing slash), got %q", o)
	}
	return nil
}
