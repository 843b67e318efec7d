package redisurl

import (
	"fmt"
	"net/url"
	"time"

	"github.com/redis/go-redis/v9"
)

// GoRedisOptions are the go-redis settings a caller chooses; each fills what the URL leaves
// unset (redis.ParseURL reads dial_timeout, max_retries and the like from a redis:// URL).
type GoRedisOptions struct {
	ClientName   string
	DialTimeout  time.Duration
	ReadTimeout  time.Duration
	WriteTimeout time.Duration
	// MaxRetries is -1 for none; 0 keeps go-redis's default.
	MaxRetries int
}

// NewGoRedis returns a go-redis client of the server(s) u names, without dialing: for one
// server a *redis.Client of redis.ParseURL's options; for Sentinel a failover client, also a
// *redis.Client, which asks the sentinels for the master on each dial and drops its
// connections when they announce a new one, so its users follow a failover without being
// rebuilt; for a Cluster a *redis.ClusterClient. Every call is bounded by its context's
// deadline as well as by the timeouts (go-redis's ContextTimeoutEnabled), so a readiness probe
// that gives Redis a second gets its answer within a second. Errors name the setting, never
// the URL.
func (u URL) NewGoRedis(o GoRedisOptions) (redis.UniversalClient, error) {
	switch u.Mode {
	case Sentinel:
		return redis.NewFailoverClient(&redis.FailoverOptions{
			MasterName: u.MasterName, SentinelAddrs: u.Addrs, SentinelPassword: u.SentinelPassword,
			Username: u.Username, Password: u.Password, DB: u.DB, ClientName: o.ClientName,
			DialTimeout: o.DialTimeout, ReadTimeout: o.ReadTimeout, WriteTimeout: o.WriteTimeout,
			MaxRetries: o.MaxRetries, ContextTimeoutEnabled: true,
		}), nil
	case Cluster:
		return redis.NewClusterClient(&redis.ClusterOptions{
			Addrs: u.Addrs, Username: u.Username, Password: u.Password, ClientName: o.ClientName,
			DialTimeout: o.DialTimeout, ReadTimeout: o.ReadTimeout, WriteTimeout: o.WriteTimeout,
			MaxRetries: o.MaxRetries, ContextTimeoutEnabled: true,
		}), nil
	}
	// url.Parse's errors quote the whole URL, password included: say only that it is invalid.
	if _, err := url.Parse(u.raw); err != nil {
		return nil, fmt.Errorf("%s: not a valid URL", u.setting)
	}
	opt, err := redis.ParseURL(u.raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", u.setting, err)
	}
	if opt.ClientName == "" {
		opt.ClientName = o.ClientName
	}
	if opt.DialTimeout == 0 {
		opt.DialTimeout = o.DialTimeout
	}
	if opt.ReadTimeout == 0 {
		opt.ReadTimeout = o.ReadTimeout
	}
	if opt.WriteTimeout == 0 {
		opt.WriteTimeout = o.WriteTimeout
	}
	if opt.MaxRetries == 0 {
		opt.MaxRetries = o.MaxRetries
	}
	opt.ContextTimeoutEnabled = true
	return redis.NewClient(opt), nil
}
