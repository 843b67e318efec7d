package main

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// deleteNamespace removes every key under namespace from the Redis at redisURL. The cached
// api's entries would expire with their TTL, but the bench runs against a Redis that others
// share, and a cache generation counter never expires.
//
// It speaks the few commands it needs over one plain connection so that the benchmark needs
// nothing beyond the standard library.
func deleteNamespace(redisURL, namespace string) error {
	conn, err := dialRedis(redisURL)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		return err
	}
	rc := respConn{w: conn, r: bufio.NewReader(conn)}
	if err := rc.prepare(redisURL); err != nil {
		return err
	}
	pattern := globEscape(namespace) + ":*"
	cursor := "0"
	for {
		reply, err := rc.do("SCAN", cursor, "MATCH", pattern, "COUNT", "1000")
		if err != nil {
			return err
		}
		page, ok := reply.([]any)
		if !ok || len(page) != 2 {
			return fmt.Errorf("SCAN: unexpected reply %v", reply)
		}
		cursor, _ = page[0].(string)
		keys, _ := page[1].([]any)
		if len(keys) > 0 {
			args := []string{"UNLINK"}
			for _, k := range keys {
				s, _ := k.(string)
				args = append(args, s)
			}
			if _, err := rc.do(args...); err != nil {
				return err
			}
		}
		if cursor == "0" || cursor == "" {
			return nil
		}
	}
}

// dialRedis connects to a redis://, rediss:// or unix:// URL.
func dialRedis(redisURL string) (net.Conn, error) {
	u, err := url.Parse(redisURL)
	if err != nil {
		// A *url.Error repeats the URL, password included.
		return nil, errors.New("REDIS_URL is not a valid URL")
	}
	d := net.Dialer{Timeout: 3 * time.Second}
	switch u.Scheme {
	case "redis":
		return d.Dial("tcp", hostPort(u))
	case "rediss":
		return tls.DialWithDialer(&d, "tcp", hostPort(u), &tls.Config{ServerName: u.Hostname()})
	case "unix":
		return d.Dial("unix", u.Path)
	}
	return nil, fmt.Errorf("REDIS_URL scheme %q is not redis, rediss or unix", u.Scheme)
}

func hostPort(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = "6379"
	}
	host := u.Hostname()
	if host == "" {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

// respConn sends commands as RESP arrays and reads RESP2 replies.
type respConn struct {
	w io.Writer
	r *bufio.Reader
}

// prepare authenticates and selects the database the URL names.
func (c respConn) prepare(redisURL string) error {
	u, _ := url.Parse(redisURL)
	if pass, ok := u.User.Password(); ok {
		args := []string{"AUTH", pass}
		if user := u.User.Username(); user != "" {
			args = []string{"AUTH", user, pass}
		}
		if _, err := c.do(args...); err != nil {
			return fmt.Errorf("AUTH: %w", err)
		}
	}
	db := u.Query().Get("db")
	if u.Scheme != "unix" {
		if p := strings.Trim(u.Path, "/"); p != "" {
			db = p
		}
	}
	if db != "" && db != "0" {
		if _, err := c.do("SELECT", db); err != nil {
			return fmt.Errorf("SELECT %s: %w", db, err)
		}
	}
	return nil
}

func (c respConn) do(args ...string) (any, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := io.WriteString(c.w, b.String()); err != nil {
		return nil, err
	}
	return c.read()
}

// read returns a simple or bulk string as string, an integer as int64, an array as []any and
// a null as nil; an error reply is returned as an error.
func (c respConn) read() (any, error) {
	line, err := c.r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	line = strings.TrimSuffix(line, "\r\n")
	if line == "" {
		return nil, errors.New("empty reply line")
	}
	kind, rest := line[0], line[1:]
	switch kind {
	case '+':
		return rest, nil
	case '-':
		return nil, errors.New(rest)
	case ':':
		return strconv.ParseInt(rest, 10, 64)
	case '$', '*':
		n, err := strconv.Atoi(rest)
		if err != nil {
			return nil, fmt.Errorf("malformed reply %q", line)
		}
		if n < 0 {
			return nil, nil
		}
		if kind == '$' {
			buf := make([]byte, n+2)
			if _, err := io.ReadFull(c.r, buf); err != nil {
				return nil, err
			}
			return string(buf[:n]), nil
		}
		items := make([]any, n)
		for i := range items {
			if items[i], err = c.read(); err != nil {
				return nil, err
			}
		}
		return items, nil
	}
	return nil, fmt.Errorf("unexpected reply %q", line)
}

// globEscape quotes the characters SCAN's MATCH treats as wildcards.
func globEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`, `[`, `\[`, `]`, `\]`).Replace(s)
}
