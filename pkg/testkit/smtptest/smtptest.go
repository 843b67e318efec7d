// Package smtptest gives tests a real SMTP server, in process, on a free loopback port. It
// records what it receives and can be told to refuse, stall, drop or hold transactions, so
// that a sender's handling of each failure can be tested over a real connection.
package smtptest

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// Server is an SMTP server started for one test. Its methods are safe for concurrent use, so
// faults can be injected while a sender is talking to it.
type Server struct {
	t        testing.TB
	cfg      options
	ln       net.Listener
	smtp     *smtp.Server
	rootCAs  *x509.CertPool
	done     chan struct{} // closed when the server shuts down; ends stalls and holds
	accepted atomic.Int64  // TCP connections accepted
	open     atomic.Int64  // TCP connections not yet closed
	down     atomic.Bool   // see Down
	conns    sync.Map      // the open connections, as *trackedConn keys

	mu           sync.Mutex
	transactions int
	delivered    int
	messages     []Message
	changed      chan struct{} // closed and replaced whenever a message is recorded
	failNext     int
	failWith     *smtp.SMTPError
	dropNext     int
	stall        time.Duration
	rcptFailures map[string]*smtp.SMTPError // by lower-cased address
	hold         *hold
}

// Option changes how Start configures the server.
type Option func(*options)

type options struct {
	username, password string
	startTLS           bool
	implicitTLS        bool
	idleTimeout        time.Duration
	discard            bool
}

// WithAuth makes the server offer AUTH PLAIN and refuse MAIL FROM until a client has
// authenticated with this username and password. AUTH is offered without TLS: the server
// listens on loopback only.
func WithAuth(username, password string) Option {
	return func(o *options) { o.username, o.password = username, password }
}

// WithStartTLS makes the server offer STARTTLS with a self-signed certificate for 127.0.0.1
// and localhost; clients trust it through RootCAs.
func WithStartTLS() Option { return func(o *options) { o.startTLS = true } }

// WithTLS makes the server speak TLS from the first byte (implicit TLS, as on port 465),
// with the same self-signed certificate as WithStartTLS.
func WithTLS() Option { return func(o *options) { o.implicitTLS = true } }

// WithIdleTimeout makes the server close a connection that sends nothing for d, after a
// "421 4.4.2" reply, as real servers drop idle clients.
func WithIdleTimeout(d time.Duration) Option { return func(o *options) { o.idleTimeout = d } }

// Start starts a server on a free 127.0.0.1 port. It is closed when the test ends.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := &Server{t: t, done: make(chan struct{}), changed: make(chan struct{}), rcptFailures: map[string]*smtp.SMTPError{}}
	for _, o := range opts {
		o(&s.cfg)
	}

	srv := smtp.NewServer(backend{s})
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	srv.ReadTimeout = s.cfg.idleTimeout
	srv.WriteTimeout = 10 * time.Second
	// The server's own log would only repeat, on stderr, the failures a test provokes.
	srv.ErrorLog = log.New(io.Discard, "", 0)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("smtptest: listen: %v", err)
	}
	ln = &countingListener{Listener: ln, server: s}
	if s.cfg.startTLS || s.cfg.implicitTLS {
		cert, pool, err := selfSigned()
		if err != nil {
			ln.Close()
			t.Fatalf("smtptest: certificate: %v", err)
		}
		s.rootCAs = pool
		tlsConfig := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		if s.cfg.startTLS {
			srv.TLSConfig = tlsConfig
		}
		if s.cfg.implicitTLS {
			ln = tls.NewListener(ln, tlsConfig)
		}
	}
	s.ln, s.smtp = ln, srv

	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(ln)
	}()
	t.Cleanup(func() {
		close(s.done)
		_ = srv.Close()
		// srv.Close closes only the listeners Serve has registered, which it may not have
		// done yet in a test that never connected.
		_ = ln.Close()
		<-served
	})
	return s
}

// StartSink starts a server that only counts what it receives: message data is read and
// thrown away, Messages stays empty and Delivered counts the accepted messages. It suits
// benchmarks, where parsing and keeping every message would cost more than the sender.
func StartSink(t testing.TB, opts ...Option) *Server {
	t.Helper()
	return Start(t, append(opts, func(o *options) { o.discard = true })...)
}

// Addr returns the server's host:port.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Host returns the server's IP address, 127.0.0.1.
func (s *Server) Host() string { return s.ln.Addr().(*net.TCPAddr).IP.String() }

// Port returns the server's port.
func (s *Server) Port() int { return s.ln.Addr().(*net.TCPAddr).Port }

// RootCAs returns a pool holding the server's self-signed certificate, for a client's
// tls.Config; nil unless the server was started WithStartTLS or WithTLS.
func (s *Server) RootCAs() *x509.CertPool { return s.rootCAs }

// Connections returns how many TCP connections the server has accepted so far.
func (s *Server) Connections() int { return int(s.accepted.Load()) }

// OpenConnections returns how many accepted connections are still open.
func (s *Server) OpenConnections() int { return int(s.open.Load()) }

// Transactions returns how many transactions reached DATA, whatever their outcome.
func (s *Server) Transactions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.transactions
}

// Delivered returns how many messages the server accepted.
func (s *Server) Delivered() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.delivered
}

// Messages returns the messages accepted so far, in the order their data ended.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// WaitForMessages waits until at least n messages have been accepted and returns them all; the
// test fails if that takes longer than timeout.
func (s *Server) WaitForMessages(t testing.TB, n int, timeout time.Duration) []Message {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		got, changed := len(s.messages), s.changed
		if got >= n {
			msgs := append([]Message(nil), s.messages...)
			s.mu.Unlock()
			return msgs
		}
		s.mu.Unlock()
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("smtptest: %d messages after %s, want %d", got, timeout, n)
			return nil
		}
	}
}

func (s *Server) record(m *Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delivered++
	if m != nil {
		m.Received = time.Now()
		s.messages = append(s.messages, *m)
	}
	close(s.changed)
	s.changed = make(chan struct{})
}

// wait sleeps for d, or until the server closes.
func (s *Server) wait(d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-s.done:
	}
}

// countingListener counts accepted connections and tracks which are still open; while the
// server is down it resets each connection as soon as it is accepted.
type countingListener struct {
	net.Listener
	server *Server
}

func (l *countingListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		s := l.server
		if s.down.Load() {
			if tcp, ok := c.(*net.TCPConn); ok {
				_ = tcp.SetLinger(0)
			}
			_ = c.Close()
			continue
		}
		s.accepted.Add(1)
		s.open.Add(1)
		tc := &trackedConn{Conn: c, server: s}
		s.conns.Store(tc, struct{}{})
		return tc, nil
	}
}

type trackedConn struct {
	net.Conn
	once   sync.Once
	server *Server
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.server.open.Add(-1)
		c.server.conns.Delete(c)
	})
	return c.Conn.Close()
}

// Down takes the server down as an outage would: every open connection is reset, and each new
// one is reset as soon as it is accepted, before the greeting, until Up. Messages a client
// was sending are lost with their connection.
func (s *Server) Down() {
	s.down.Store(true)
	s.conns.Range(func(k, _ any) bool {
		reset(k.(*trackedConn))
		return true
	})
}

// Up ends an outage Down began.
func (s *Server) Up() { s.down.Store(false) }

// reset closes c at once with a TCP RST, so that the client sees the connection break rather
// than end.
func reset(c net.Conn) {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	if tc, ok := c.(*trackedConn); ok {
		if raw, ok := tc.Conn.(*net.TCPConn); ok {
			_ = raw.SetLinger(0)
		}
	}
	_ = c.Close()
}

var errDropped = errors.New("smtptest: connection dropped on purpose")
