package config

import (
	"fmt"
	"net/netip"

	"github.com/oeshq/oes/pkg/redisurl"
)

// RateLimit configures the api's abuse limits: small ones on the account endpoints that send
// email or check a password, a generous one on everything else. Each limit is a number of
// requests per minute, counted in Redis so that every replica shares it.
type RateLimit struct {
	RateLimitEnabled   bool     `envconfig:"RATE_LIMIT_ENABLED" default:"true" desc:"false turns every rate limit off (for benchmarks)"`
	RateLimitAuthIP    int      `envconfig:"RATE_LIMIT_AUTH_IP" default:"10" desc:"requests per minute from one client IP to each of login, register, verification resend and password reset"`
	RateLimitAuthEmail int      `envconfig:"RATE_LIMIT_AUTH_EMAIL" default:"5" desc:"requests per minute naming one email to each of login, verification resend and password reset, from any IP"`
	RateLimitIP        int      `envconfig:"RATE_LIMIT_IP" default:"6000" desc:"requests per minute from one client IP to any other endpoint"`
	RateLimitUser      int      `envconfig:"RATE_LIMIT_USER" default:"600" desc:"requests per minute from one signed-in account to any other endpoint"`
	RateLimitRedisURL  string   `envconfig:"RATE_LIMIT_REDIS_URL" desc:"Redis URL for the rate-limit counters; default the cache's Redis (secret: may hold a password)"`
	TrustedProxies     []string `envconfig:"TRUSTED_PROXIES" desc:"comma-separated IPs or CIDRs of reverse proxies whose X-Forwarded-For names the client; empty trusts none and uses the connection's address"`
	RateLimitKeyPrefix string   `envconfig:"RATE_LIMIT_PREFIX" default:"oes:ratelimit" desc:"prefix of the rate-limit counters in Redis, outside the cache namespace"`
}

func (r RateLimit) Validate() error {
	for _, v := range []struct {
		name  string
		value int
	}{
		{"RATE_LIMIT_AUTH_IP", r.RateLimitAuthIP}, {"RATE_LIMIT_AUTH_EMAIL", r.RateLimitAuthEmail},
		{"RATE_LIMIT_IP", r.RateLimitIP}, {"RATE_LIMIT_USER", r.RateLimitUser},
	} {
		if v.value < 1 {
			return fmt.Errorf("%s: must be at least 1 request per minute, got %d", v.name, v.value)
		}
	}
	if r.RateLimitRedisURL != "" {
		if err := checkRedisURL("RATE_LIMIT_REDIS_URL", r.RateLimitRedisURL, "redis", "rediss", "unix", redisurl.SchemeSentinel, redisurl.SchemeCluster); err != nil {
			return err
		}
	}
	for _, p := range r.TrustedProxies {
		if _, err := netip.ParsePrefix(p); err == nil {
			continue
		}
		if _, err := netip.ParseAddr(p); err != nil {
			return fmt.Errorf("TRUSTED_PROXIES: %q is neither an IP nor a CIDR", p)
		}
	}
	if r.RateLimitKeyPrefix == "" {
		return fmt.Errorf("RATE_LIMIT_PREFIX: must not be empty")
	}
	return nil
}
