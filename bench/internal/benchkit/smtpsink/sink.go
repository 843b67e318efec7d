// Package smtpsink is an SMTP server for benchmarks and fault runs: it accepts every message,
// notes when it accepted it and for whom, and can be taken down and brought back like a mail
// server in an outage. It speaks just what a client without TLS or AUTH needs, with
// PIPELINING as common servers offer it, on the standard library alone, so that it costs as little as possible next to the sender under
// test, and every sender talks to it the same way.
package smtpsink

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Accepted is one message the sink accepted.
type Accepted struct {
	At   time.Time // when its end of data was read
	To   []string  // the envelope's recipients, as RCPT TO gave them
	Data []byte    // the message, when the sink captures
}

// Sink is the server. Its methods are safe for concurrent use.
type Sink struct {
	ln      net.Listener
	capture bool
	down    atomic.Bool
	delay   atomic.Int64 // time.Duration before each MAIL FROM is answered
	refused atomic.Int64 // connections reset while down

	mu       sync.Mutex
	accepted []Accepted
	conns    map[net.Conn]struct{}
	want     int
	reached  chan struct{} // closed once len(accepted) >= want
	served   sync.WaitGroup
}

// Start starts a sink on a free loopback port; with capture it keeps each message's data.
func Start(capture bool) (*Sink, error) {
	return StartAt("127.0.0.1:0", capture)
}

// StartAt starts a sink listening on addr.
func StartAt(addr string, capture bool) (*Sink, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("smtp sink: %w", err)
	}
	s := &Sink{ln: ln, capture: capture, conns: map[net.Conn]struct{}{}}
	s.served.Add(1)
	go s.accept()
	return s, nil
}

// Addr is the sink's host:port.
func (s *Sink) Addr() string { return s.ln.Addr().String() }

// Port is the sink's port.
func (s *Sink) Port() int { return s.ln.Addr().(*net.TCPAddr).Port }

// Close stops accepting, drops the connections still open and waits for their goroutines.
func (s *Sink) Close() {
	_ = s.ln.Close()
	s.dropAll()
	s.served.Wait()
}

// Down takes the sink down as an outage would: the connections open are dropped, and every
// new one is reset before the greeting, until Up. A message whose data had not been accepted
// is not counted.
func (s *Sink) Down() {
	s.down.Store(true)
	s.dropAll()
}

// Up ends the outage Down began.
func (s *Sink) Up() { s.down.Store(false) }

// Refused returns how many connections the sink has reset before the greeting while it was
// down: the connection attempts of the senders during outages.
func (s *Sink) Refused() int { return int(s.refused.Load()) }

// SetDelay makes the sink answer each MAIL FROM after d, as a slow server does, so that a
// backlog takes a while to drain; 0 answers at once. The wait comes before the message's data,
// so a sender that dies during it has not had the message accepted.
func (s *Sink) SetDelay(d time.Duration) { s.delay.Store(int64(d)) }

func (s *Sink) dropAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
		_ = c.Close()
	}
}

func (s *Sink) accept() {
	defer s.served.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		if s.down.Load() {
			s.refused.Add(1)
			if tc, ok := c.(*net.TCPConn); ok {
				_ = tc.SetLinger(0)
			}
			_ = c.Close()
			continue
		}
		s.mu.Lock()
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		s.served.Add(1)
		go func() {
			defer s.served.Done()
			s.serve(c)
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
			_ = c.Close()
		}()
	}
}

// serve runs one SMTP session. Every command is accepted; the envelope is not checked.
func (s *Sink) serve(c net.Conn) {
	tc := textproto.NewConn(c)
	// reply answers a command; replies wait while more commands are already in, so that a
	// client pipelining its envelope gets their replies in one write, as RFC 2920 asks.
	reply := func(format string, args ...any) error {
		if _, err := fmt.Fprintf(tc.W, format+"\r\n", args...); err != nil {
			return err
		}
		if tc.R.Buffered() > 0 {
			return nil
		}
		return tc.W.Flush()
	}
	if reply("220 localhost ESMTP sink") != nil {
		return
	}
	var to []string
	for {
		line, err := tc.ReadLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO":
			err = reply("250-localhost\r\n250-PIPELINING\r\n250 8BITMIME")
		case "MAIL":
			to = nil
			if d := time.Duration(s.delay.Load()); d > 0 {
				time.Sleep(d)
			}
			err = reply("250 2.0.0 OK")
		case "RSET":
			to = nil
			err = reply("250 2.0.0 OK")
		case "RCPT":
			to = append(to, recipient(arg))
			err = reply("250 2.0.0 OK")
		case "HELO", "NOOP":
			err = reply("250 2.0.0 OK")
		case "DATA":
			if err = reply("354 end data with <CR><LF>.<CR><LF>"); err != nil {
				return
			}
			if err = s.readData(tc.DotReader(), to); err != nil {
				return
			}
			to = nil
			err = reply("250 2.0.0 OK: queued")
		case "QUIT":
			_ = reply("221 2.0.0 bye")
			return
		default:
			err = reply("502 5.5.2 command not implemented")
		}
		if err != nil {
			return
		}
	}
}

// recipient reads the address of "TO:<addr>".
func recipient(arg string) string {
	_, addr, _ := strings.Cut(arg, ":")
	addr = strings.TrimSpace(addr)
	addr, _, _ = strings.Cut(addr, " ")
	return strings.Trim(addr, "<>")
}

func (s *Sink) readData(r io.Reader, to []string) error {
	var data []byte
	var err error
	if s.capture {
		data, err = io.ReadAll(r)
	} else {
		_, err = io.Copy(io.Discard, r)
	}
	if err != nil {
		return err
	}
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accepted = append(s.accepted, Accepted{At: now, To: to, Data: data})
	if s.reached != nil && len(s.accepted) >= s.want {
		close(s.reached)
		s.reached = nil
	}
	return nil
}

// Delivered returns how many messages the sink has accepted.
func (s *Sink) Delivered() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.accepted)
}

// Accepted returns the messages accepted so far, in the order their data ended.
func (s *Sink) Accepted() []Accepted {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Accepted(nil), s.accepted...)
}

// AcceptedFrom returns the messages accepted after the first from (a count Delivered gave
// earlier), in the order their data ended: those of one phase of a run.
func (s *Sink) AcceptedFrom(from int) []Accepted {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Accepted(nil), s.accepted[min(from, len(s.accepted)):]...)
}

// ByRecipient counts the messages accepted for each recipient: a count above 1 is a
// duplicate when every message has a recipient of its own.
func (s *Sink) ByRecipient() map[string]int { return s.ByRecipientFrom(0) }

// ByRecipientFrom counts, for each recipient, the messages accepted after the first from: those
// of one phase, when several phases send to the same sink.
func (s *Sink) ByRecipientFrom(from int) map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := map[string]int{}
	for _, a := range s.accepted[min(from, len(s.accepted)):] {
		for _, to := range a.To {
			n[to]++
		}
	}
	return n
}

// WaitFor waits until the sink has accepted n messages in all, for at most timeout, checking
// alive now and then: an error from it (the sender died) ends the wait at once. Only one
// caller may wait at a time.
func (s *Sink) WaitFor(ctx context.Context, n int, timeout time.Duration, alive func() error) error {
	s.mu.Lock()
	if len(s.accepted) >= n {
		s.mu.Unlock()
		return nil
	}
	reached := make(chan struct{})
	s.want, s.reached = n, reached
	s.mu.Unlock()

	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-reached:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			return fmt.Errorf("the sink accepted %d messages in %s, want %d", s.Delivered(), timeout, n)
		case <-tick.C:
			if alive == nil {
				continue
			}
			if err := alive(); err != nil {
				return fmt.Errorf("%w (the sink has accepted %d messages, want %d)", err, s.Delivered(), n)
			}
		}
	}
}

// Span returns when the sink accepted messages from (counted from 0) and to-1.
func (s *Sink) Span(from, to int) (first, last time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accepted[from].At, s.accepted[to-1].At
}
