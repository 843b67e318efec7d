package config

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/oeshq/oes/pkg/infra/redisurl"
)

// RateLimit configures the api's abuse limits: small ones on the account endpoints that send
// email or check a password, a generous one on everything else. Each limit is a number of
// requests per minute. The small ones are counted in Redis, exactly, so that every replica
// shares them; the generous ones are decided in each replica's memory and shared through Redis
// every RATE_LIMIT_SYNC_INTERVAL (see ratelimit.Local for how far over a client can get).
type RateLimit struct {
	RateLimitEnabled   bool `envconfig:"RATE_LIMIT_ENABLED" default:"true" desc:"false turns every rate limit off (for benchmarks)"`
	RateLimitAuthIP    int  `envconfig:"RATE_LIMIT_AUTH_IP" default:"10" desc:"requests per minute from one client IP to each of register, verification resend and password reset"`
	RateLimitAuthEmail int  `envconfig:"RATE_LIMIT_AUTH_EMAIL" default:"5" desc:"requests per minute naming one email to each of verification resend and password reset, from any IP: the emails an address can be sent"`
	// RateLimitAuthEmailIP is below RateLimitAuthEmail so that one client cannot use up an
	// address's emails and keep its owner from asking.
	RateLimitAuthEmailIP int `envconfig:"RATE_LIMIT_AUTH_EMAIL_IP" default:"2" desc:"requests per minute naming one email from one client IP to each of verification resend and password reset; at most RATE_LIMIT_AUTH_EMAIL"`
	// The sign-in limits count failures (a wrong password or an unknown address), never a
	// sign-in that succeeds. RateLimitLoginEmail refuses only the client addresses that have
	// not signed in to the account before, so that an attacker who exhausts it does not keep
	// the owner out.
	RateLimitLoginIP      int           `envconfig:"RATE_LIMIT_LOGIN_IP" default:"10" desc:"failed sign-ins per minute from one client IP, whatever the emails"`
	RateLimitLoginEmailIP int           `envconfig:"RATE_LIMIT_LOGIN_EMAIL_IP" default:"5" desc:"failed sign-ins per minute naming one email from one client IP"`
	RateLimitLoginEmail   int           `envconfig:"RATE_LIMIT_LOGIN_EMAIL" default:"20" desc:"failed sign-ins per minute naming one email from any IP; once over it, only IPs that signed in to the account in the last 30 days may try"`
	RateLimitIP           int           `envconfig:"RATE_LIMIT_IP" default:"6000" desc:"requests per minute from one client IP to any other endpoint"`
	RateLimitUser         int           `envconfig:"RATE_LIMIT_USER" default:"600" desc:"requests per minute from one signed-in account to any other endpoint"`
	RateLimitSyncInterval time.Duration `envconfig:"RATE_LIMIT_SYNC_INTERVAL" default:"1s" desc:"how often each replica adds its counts of RATE_LIMIT_IP and RATE_LIMIT_USER to Redis and reads the others' (10ms to 1m); a client can exceed those limits by what the other replicas admit to it in one interval"`
	RateLimitRedisURL     string        `envconfig:"RATE_LIMIT_REDIS_URL" desc:"Redis URL for the rate-limit counters; default the cache's Redis (secret: may hold a password)"`
	TrustedProxies        []string      `envconfig:"TRUSTED_PROXIES" desc:"comma-separated IPs or CIDRs of reverse proxies whose X-Forwarded-For names the client; empty trusts none and uses the connection's address"`
	RateLimitKeyPrefix    string        `envconfig:"RATE_LIMIT_PREFIX" default:"oes:ratelimit" desc:"prefix of the rate-limit counters in Redis, outside the cache namespace"`
}

func (r RateLimit) Validate() error {
	for _, v := range []struct {
		name  string
		value int
	}{
		{"RATE_LIMIT_AUTH_IP", r.RateLimitAuthIP}, {"RATE_LIMIT_AUTH_EMAIL", r.RateLimitAuthEmail},
		{"RATE_LIMIT_AUTH_EMAIL_IP", r.RateLimitAuthEmailIP},
		{"RATE_LIMIT_LOGIN_IP", r.RateLimitLoginIP}, {"RATE_LIMIT_LOGIN_EMAIL_IP", r.RateLimitLoginEmailIP},
		{"RATE_LIMIT_LOGIN_EMAIL", r.RateLimitLoginEmail},
		{"RATE_LIMIT_IP", r.RateLimitIP}, {"RATE_LIMIT_USER", r.RateLimitUser},
	} {
		if v.value < 1 {
			return fmt.Errorf("%s: must be at least 1 request per minute, got %d", v.name, v.value)
		}
	}
	if r.RateLimitSyncInterval < 10*time.Millisecond || r.RateLimitSyncInterval > time.Minute {
		return fmt.Errorf("RATE_LIMIT_SYNC_INTERVAL: must be between 10ms and 1m, got %s", r.RateLimitSyncInterval)
	}
	if r.RateLimitAuthEmailIP > r.RateLimitAuthEmail {
		return fmt.Errorf("RATE_LIMIT_AUTH_EMAIL_IP: must be at most RATE_LIMIT_AUTH_EMAIL (%d), got %d", r.RateLimitAuthEmail, r.RateLimitAuthEmailIP)
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
