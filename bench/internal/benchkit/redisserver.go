package benchkit

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/oeshq/oes/pkg/testkit/redistest"
)

// redisReadyWithin bounds a redis-server's start-up, until it answers PING.
const redisReadyWithin = 10 * time.Second

// RedisServer is a private redis-server a program starts for itself on a free loopback port,
// without persistence (--save "" --appendonly no): stopped and started again, it comes back
// empty on the same port, as a Redis restarted without its data does. Each start is a process
// of the Group, which stops it with the rest.
type RedisServer struct {
	group *Group
	name  string
	bin   string
	dir   string
	port  int
	runs  int
	proc  *Process // nil while stopped
}

// StartRedis starts a redis-server called name (its log file is named after it) from the
// redis-server on PATH and waits until it answers.
func StartRedis(ctx context.Context, g *Group, name string) (*RedisServer, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, fmt.Errorf("redis-server not found on PATH (install the redis-server package): %w", err)
	}
	dir := filepath.Join(g.Dir, fileName(name)+"-data")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	r := &RedisServer{group: g, name: name, bin: bin, dir: dir}
	// Another process may take the free port between the probe and redis-server's bind; a new
	// port is then tried.
	for attempt := 1; ; attempt++ {
		addr, err := FreeAddr()
		if err != nil {
			return nil, err
		}
		_, port, _ := net.SplitHostPort(addr)
		if r.port, err = strconv.Atoi(port); err != nil {
			return nil, err
		}
		if err = r.Start(ctx); err == nil || attempt == 3 || ctx.Err() != nil {
			return r, err
		}
	}
}

// Addr returns the server's host:port.
func (r *RedisServer) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(r.port)) }

// URL returns the server's URL, database 0.
func (r *RedisServer) URL() string { return "redis://" + r.Addr() + "/0" }

// Running reports whether the server has been started and not stopped since.
func (r *RedisServer) Running() bool { return r.proc != nil }

// Start starts a stopped server again on its port, empty, and waits until it answers PING.
func (r *RedisServer) Start(ctx context.Context) error {
	if r.proc != nil {
		return errors.New("redis-server already running")
	}
	r.runs++
	cmd := exec.Command(r.bin,
		"--port", strconv.Itoa(r.port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
		"--dir", r.dir,
	)
	p, err := r.group.Start(fmt.Sprintf("%s %d", r.name, r.runs), cmd)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(redisReadyWithin)
	for redistest.Ping(r.Addr()) != nil {
		if err := p.Check(); err != nil {
			return err
		}
		if time.Now().After(deadline) {
			_ = p.Stop()
			return fmt.Errorf("%s did not answer PING within %s%s", p.Name(), redisReadyWithin, Indented(p.Tail(20)))
		}
		select {
		case <-ctx.Done():
			_ = p.Stop()
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	r.proc = p
	return nil
}

// Stop shuts the server down (SIGTERM) and waits until it has exited; its data is lost.
// Stopping a stopped server does nothing.
func (r *RedisServer) Stop() error {
	if r.proc == nil {
		return nil
	}
	err := r.proc.Stop()
	r.proc = nil
	return err
}
