package redistest

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/oeshq/oes/pkg/testkit/program"
)

// Server is a redis-server started for one test, on 127.0.0.1, without persistence. It can be
// stopped and started again on the same port to simulate an outage.
type Server struct {
	t    testing.TB
	bin  string
	dir  string
	port int
	// args are given to redis-server after the defaults: replication, cluster mode.
	args []string
	// sentinel, when set, is the configuration of a Sentinel: the server runs in sentinel
	// mode from a file holding it (Sentinel rewrites its file, so it cannot come from flags).
	sentinel string

	mu     sync.Mutex
	proc   *os.Process // nil while stopped
	exited chan error  // receives the process's exit
}

// StartServer starts a private redis-server on a free port, in its own directory under
// t.TempDir(), and stops it when the test ends. The test fails if redis-server is not on
// PATH.
func StartServer(t testing.TB) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redistest: redis-server not found on PATH; install redis-server (e.g. the redis-server package): %v", err)
	}
	return startServer(t, bin, nil, "")
}

// startServer starts a redis-server (with args, or as a Sentinel configured by sentinel) on
// a free port, in its own directory under t.TempDir(), and stops it when the test ends.
func startServer(t testing.TB, bin string, args []string, sentinel string) *Server {
	t.Helper()
	s := &Server{t: t, bin: bin, dir: t.TempDir(), args: args, sentinel: sentinel}
	t.Cleanup(s.Stop)
	// Another process may take the free port between the probe and redis-server's bind; a
	// new port is then tried.
	var err error
	for attempt := 1; ; attempt++ {
		if s.port, err = freePort(); err != nil {
			t.Fatalf("redistest: find a free port: %v", err)
		}
		if err = s.start(); err == nil {
			return s
		}
		if attempt == 3 {
			t.Fatalf("redistest: start redis-server: %v", err)
		}
	}
}

// URL returns the server's URL, database 0.
func (s *Server) URL() string { return "redis://" + s.Addr() + "/0" }

// Addr returns the server's host:port.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// Stop shuts the server down and waits until it has exited; its data is lost. Stopping a
// stopped server does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return
	}
	_ = s.proc.Signal(syscall.SIGCONT) // a paused server would not see the SIGTERM
	_ = s.proc.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(5 * time.Second):
		_ = s.proc.Kill()
		<-s.exited
	}
	s.proc = nil
}

// Kill ends the server with SIGKILL, as a crash would, and waits until it has exited.
// Killing a stopped server does nothing.
func (s *Server) Kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return
	}
	_ = s.proc.Kill()
	<-s.exited
	s.proc = nil
}

// Pause freezes the server with SIGSTOP, as a network partition would look to its clients:
// connections stay open and nothing is answered, until Resume.
func (s *Server) Pause() { s.signal(syscall.SIGSTOP) }

// Resume lets a paused server run again (SIGCONT), with its data.
func (s *Server) Resume() { s.signal(syscall.SIGCONT) }

func (s *Server) signal(sig syscall.Signal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc != nil {
		_ = s.proc.Signal(sig)
	}
}

// Port returns the server's port.
func (s *Server) Port() int { return s.port }

// Start starts a stopped server again on the same port, empty, and waits until it answers.
func (s *Server) Start() {
	s.t.Helper()
	if err := s.start(); err != nil {
		s.t.Fatalf("redistest: restart redis-server on port %d: %v", s.port, err)
	}
}

func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc != nil {
		return errors.New("already running")
	}
	logFile := filepath.Join(s.dir, "redis.log")
	var argv []string
	if s.sentinel != "" {
		conf := filepath.Join(s.dir, "sentinel.conf")
		// A restarted Sentinel keeps what it rewrote into its file: the master it knows now.
		if _, err := os.Stat(conf); errors.Is(err, os.ErrNotExist) {
			body := fmt.Sprintf("port %d\nbind 127.0.0.1\ndir %s\nlogfile %s\n%s", s.port, s.dir, logFile, s.sentinel)
			if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
				return err
			}
		}
		argv = []string{conf, "--sentinel"}
	} else {
		argv = append([]string{
			"--port", strconv.Itoa(s.port),
			"--bind", "127.0.0.1",
			"--save", "",
			"--appendonly", "no",
			"--dir", s.dir,
			"--logfile", logFile,
		}, s.args...)
	}
	cmd := program.Command(s.t, 5*time.Second, s.bin, argv...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	deadline := time.Now().Add(10 * time.Second)
	for Ping(s.Addr()) != nil {
		select {
		case err := <-exited:
			log, _ := os.ReadFile(logFile)
			return fmt.Errorf("redis-server exited (%v): %s%s", err, out.String(), tail(log, 2000))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-exited
			return errors.New("redis-server did not answer within 10s")
		}
	}
	s.proc, s.exited = cmd.Process, exited
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Ping sends an inline PING to the Redis at addr and expects +PONG: enough to know the server
// accepts commands, with no client library.
func Ping(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(time.Second))
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	buf := make([]byte, 16)
	n, err := conn.Read(buf)
	if err != nil {
		return err
	}
	if !bytes.HasPrefix(buf[:n], []byte("+PONG")) {
		return fmt.Errorf("unexpected reply %q", buf[:n])
	}
	return nil
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
