// Package redisurl parses the Redis URLs that name more than one server: a Sentinel-monitored
// master and a Redis Cluster. The cache, the queue and the configuration check share it so
// that REDIS_URL, QUEUE_REDIS_URL and CACHE_REDIS_URL accept one syntax:
//
//	redis-sentinel://[[user]:password@]host1:26379[,host2:26379...][/db]?master=<name>[&sentinel_password=<p>]
//	redis-cluster://[[user]:password@]host1:6379[,host2:6379...]
//
// The Sentinel form is asynq's (asynq.ParseRedisURI) with two differences: the password in the
// user info authenticates to the Redis master, not to the sentinels (sentinels are usually
// left without a password, or with their own, given as sentinel_password), and the path may
// select a database.
//
// Single-server URLs (redis://, rediss://, unix://) are left to the clients' own parsers; Parse
// reports them as Standalone and reads nothing else.
//
// Errors name the setting and never repeat the URL, which may hold a password.
package redisurl

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Schemes of the multi-server URLs.
const (
	SchemeSentinel = "redis-sentinel"
	SchemeCluster  = "redis-cluster"
)

// Default ports of an address that names none.
const (
	sentinelPort = "26379"
	clusterPort  = "6379"
)

// Mode is the topology a URL names.
type Mode int

const (
	// Standalone is a single Redis server: redis://, rediss:// or unix://.
	Standalone Mode = iota
	// Sentinel is the master of a set monitored by Redis Sentinel.
	Sentinel
	// Cluster is a Redis Cluster.
	Cluster
)

func (m Mode) String() string {
	switch m {
	case Sentinel:
		return "sentinel"
	case Cluster:
		return "cluster"
	default:
		return "standalone"
	}
}

// URL is a parsed Sentinel or Cluster URL. For a Standalone URL only Mode is set.
type URL struct {
	Mode Mode
	// Addrs are the sentinels (Sentinel) or the seed nodes (Cluster), as host:port.
	Addrs []string
	// Username and Password authenticate to the Redis servers that hold the data: the master
	// and its replicas, or the cluster's nodes.
	Username string
	Password string
	// SentinelPassword authenticates to the sentinels; empty means they need none.
	SentinelPassword string
	// MasterName is the name the sentinels monitor the master under (Sentinel only).
	MasterName string
	// DB is the database the Sentinel form selects; a Cluster has database 0 only.
	DB int

	// setting names the URL in errors; raw is the URL itself, which a one-server URL's own
	// parser reads (see NewGoRedis).
	setting, raw string
}

// Parse parses raw, the value of the setting named setting (used in errors only).
func Parse(setting, raw string) (URL, error) {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return URL{}, fmt.Errorf("%s: not a valid URL", setting)
	}
	var (
		u   URL
		err error
	)
	switch scheme {
	case SchemeSentinel:
		u.Mode = Sentinel
	case SchemeCluster:
		u.Mode = Cluster
	default:
		return URL{Mode: Standalone, setting: setting, raw: raw}, nil
	}

	// The URL is taken apart by hand: url.Parse takes "h1:1,h2:2" as one host but refuses a
	// list of bracketed IPv6 addresses, and it would cut a password holding an unescaped '/'
	// or '?' into the host and path, to be quoted back in an error. The user info ends at the
	// last '@', which no other part of these URLs contains.
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		if u.Username, u.Password, err = userinfo(rest[:at]); err != nil {
			return URL{}, fmt.Errorf("%s: %w", setting, err)
		}
		rest = rest[at+1:]
	}
	hosts, tail := rest, ""
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		hosts, tail = rest[:i], rest[i:]
	}
	pu, err := url.Parse(scheme + "://placeholder" + tail)
	if err != nil {
		return URL{}, fmt.Errorf("%s: not a valid URL", setting)
	}
	if pu.Fragment != "" {
		return URL{}, fmt.Errorf("%s: a %s URL has no #fragment", setting, scheme)
	}

	port := sentinelPort
	if u.Mode == Cluster {
		port = clusterPort
	}
	for h := range strings.SplitSeq(hosts, ",") {
		addr, err := hostPort(h, port)
		if err != nil {
			return URL{}, fmt.Errorf("%s: %w", setting, err)
		}
		if !slices.Contains(u.Addrs, addr) {
			u.Addrs = append(u.Addrs, addr)
		}
	}

	if p := strings.Trim(pu.Path, "/"); p != "" {
		db, err := strconv.Atoi(p)
		if err != nil || db < 0 {
			return URL{}, fmt.Errorf("%s: the path must be a database number, got %q", setting, pu.Path)
		}
		if u.Mode == Cluster && db != 0 {
			return URL{}, fmt.Errorf("%s: a Redis Cluster has database 0 only, got /%d", setting, db)
		}
		u.DB = db
	}

	q := pu.Query()
	allowed := []string{}
	if u.Mode == Sentinel {
		allowed = []string{"master", "sentinel_password"}
		u.MasterName = q.Get("master")
		u.SentinelPassword = q.Get("sentinel_password")
		if u.MasterName == "" {
			return URL{}, fmt.Errorf("%s: a %s URL needs ?master=<name>, the name the sentinels monitor the master under", setting, scheme)
		}
	}
	for k := range q {
		if !slices.Contains(allowed, k) {
			if len(allowed) == 0 {
				return URL{}, fmt.Errorf("%s: a %s URL takes no query parameters, got %q", setting, scheme, k)
			}
			return URL{}, fmt.Errorf("%s: unknown parameter %q of a %s URL (want %s)", setting, k, scheme, strings.Join(allowed, ", "))
		}
	}
	return u, nil
}

// userinfo splits and unescapes "user:password".
func userinfo(s string) (user, password string, err error) {
	user, password, _ = strings.Cut(s, ":")
	if user, err = url.PathUnescape(user); err != nil {
		return "", "", errors.New("the user name is not validly escaped")
	}
	if password, err = url.PathUnescape(password); err != nil {
		return "", "", errors.New("the password is not validly escaped (percent-encode its special characters)")
	}
	return user, password, nil
}

// hostPort checks one address of the list and adds the default port when it names none.
func hostPort(h, defaultPort string) (string, error) {
	if h == "" {
		return "", errors.New("empty address in the host list")
	}
	host, port, err := net.SplitHostPort(h)
	if err != nil {
		// No port: a plain host name or IPv4 address, or a bracketed IPv6 address.
		host, port = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]"), defaultPort
		if strings.ContainsAny(host, "[]/@ ") || (strings.Contains(host, ":") && !strings.HasPrefix(h, "[")) {
			return "", fmt.Errorf("invalid address %q in the host list", h)
		}
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("invalid port in address %q", h)
	}
	if host == "" {
		return "", fmt.Errorf("address %q has no host", h)
	}
	return net.JoinHostPort(host, port), nil
}
