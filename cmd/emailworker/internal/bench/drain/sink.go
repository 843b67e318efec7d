package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"time"
)

// sink is an SMTP server on a free loopback port that accepts every message and keeps only
// the time it accepted it, and with capture its data. It speaks just what a client without
// TLS or AUTH needs, on the standard library alone: it should cost as little as possible
// next to the sender under test, and every sender talks to it the same way.
type sink struct {
	ln      net.Listener
	capture bool

	mu      sync.Mutex
	times   []time.Time // when each message's end of data was read, in that order
	data    [][]byte    // each message's data, with capture
	conns   map[net.Conn]struct{}
	want    int
	reached chan struct{} // closed once len(times) >= want
	served  sync.WaitGroup
}

func startSink(capture bool) (*sink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("smtp sink: %w", err)
	}
	s := &sink{ln: ln, capture: capture, conns: map[net.Conn]struct{}{}}
	s.served.Add(1)
	go s.accept()
	return s, nil
}

func (s *sink) addr() string { return s.ln.Addr().String() }

func (s *sink) port() int { return s.ln.Addr().(*net.TCPAddr).Port }

// close stops accepting, drops the connections still open and waits for their goroutines.
func (s *sink) close() {
	_ = s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		_ = c.Close()
	}
	s.mu.Unlock()
	s.served.Wait()
}

func (s *sink) accept() {
	defer s.served.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
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
func (s *sink) serve(c net.Conn) {
	tc := textproto.NewConn(c)
	if tc.PrintfLine("220 localhost ESMTP sink") != nil {
		return
	}
	for {
		line, err := tc.ReadLine()
		if err != nil {
			return
		}
		verb, _, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO":
			err = tc.PrintfLine("250-localhost\r\n250 8BITMIME")
		case "HELO", "MAIL", "RCPT", "RSET", "NOOP":
			err = tc.PrintfLine("250 2.0.0 OK")
		case "DATA":
			if err = tc.PrintfLine("354 end data with <CR><LF>.<CR><LF>"); err != nil {
				return
			}
			if err = s.readData(tc.DotReader()); err != nil {
				return
			}
			err = tc.PrintfLine("250 2.0.0 OK: queued")
		case "QUIT":
			_ = tc.PrintfLine("221 2.0.0 bye")
			return
		default:
			err = tc.PrintfLine("502 5.5.2 command not implemented")
		}
		if err != nil {
			return
		}
	}
}

func (s *sink) readData(r io.Reader) error {
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
	s.times = append(s.times, now)
	if s.capture {
		s.data = append(s.data, data)
	}
	if s.reached != nil && len(s.times) >= s.want {
		close(s.reached)
		s.reached = nil
	}
	return nil
}

// delivered returns how many messages the sink has accepted.
func (s *sink) delivered() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.times)
}

// waitFor waits until the sink has accepted n messages in all, for at most timeout. Only one
// caller may wait at a time.
func (s *sink) waitFor(ctx context.Context, n int, timeout time.Duration, alive func() error) error {
	s.mu.Lock()
	if len(s.times) >= n {
		s.mu.Unlock()
		return nil
	}
	reached := make(chan struct{})
	s.want, s.reached = n, reached
	s.mu.Unlock()

	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	// The sender is checked now and then: one that died stops the wait at once.
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-reached:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			return fmt.Errorf("the sink accepted %d messages in %s, want %d", s.delivered(), timeout, n)
		case <-tick.C:
			if err := alive(); err != nil {
				return fmt.Errorf("%w (the sink has accepted %d messages, want %d)", err, s.delivered(), n)
			}
		}
	}
}

// span returns when the sink accepted messages from (counted from 0) and to-1.
func (s *sink) span(from, to int) (first, last time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.times[from], s.times[to-1]
}

// captured returns the data of the messages accepted so far, in the order their data ended.
func (s *sink) captured() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.data
}
