package smtptest

import (
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
)

// FailNext makes the next n transactions end with this reply to their data, such as
// FailNext(1, 451, "4.3.0", "try again later") or FailNext(1, 550, "5.1.1", "no such user").
// An empty enhanced code is sent as X.0.0.
func (s *Server) FailNext(n int, code int, enhanced, message string) {
	s.t.Helper()
	ec, ok := parseEnhanced(enhanced)
	if !ok {
		s.t.Fatalf("smtptest: FailNext: enhanced code %q is not of the form 5.1.1", enhanced)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext = n
	s.failWith = &smtp.SMTPError{Code: code, EnhancedCode: ec, Message: message}
}

// FailRecipient makes the server answer RCPT TO for addr with code and message until
// AcceptAll. The message may start with an enhanced code ("5.1.1 no such user"); without one,
// X.0.0 is sent.
func (s *Server) FailRecipient(addr string, code int, message string) {
	ec := smtp.EnhancedCodeNotSet
	if first, rest, ok := strings.Cut(message, " "); ok {
		if parsed, ok := parseEnhanced(first); ok && parsed[0] == code/100 {
			ec, message = parsed, rest
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rcptFailures[strings.ToLower(addr)] = &smtp.SMTPError{Code: code, EnhancedCode: ec, Message: message}
}

// Stall makes the next transaction wait d after its data has arrived before the server
// replies, as an overloaded server does.
func (s *Server) Stall(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stall = d
}

// DropNext makes the server close the connection of each of the next n transactions as soon
// as DATA has been accepted, with a TCP reset and no reply.
func (s *Server) DropNext(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dropNext = n
}

// Hold makes every transaction wait, after its data has arrived and before the server
// replies, until release is called (or the server closes). held is closed when the first
// transaction starts waiting, so a test can look at a sender in the middle of a delivery.
// release may be called more than once.
func (s *Server) Hold() (held <-chan struct{}, release func()) {
	h := &hold{held: make(chan struct{}), release: make(chan struct{})}
	s.mu.Lock()
	s.hold = h
	s.mu.Unlock()
	return h.held, func() {
		s.mu.Lock()
		if s.hold == h {
			s.hold = nil
		}
		s.mu.Unlock()
		h.open()
	}
}

// AcceptAll removes every injected fault and releases any hold: the server accepts everything
// again.
func (s *Server) AcceptAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext, s.failWith, s.dropNext, s.stall = 0, nil, 0, 0
	clear(s.rcptFailures)
	if s.hold != nil {
		s.hold.open()
		s.hold = nil
	}
}

// fault is what one transaction has been told to suffer, taken from the server's settings
// when its data starts.
type fault struct {
	drop  bool
	stall time.Duration
	hold  *hold
	fail  *smtp.SMTPError
}

func (s *Server) beginTransaction() fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.transactions++
	f := fault{hold: s.hold}
	if s.dropNext > 0 {
		s.dropNext--
		f.drop = true
		return f
	}
	f.stall, s.stall = s.stall, 0
	if s.failNext > 0 {
		s.failNext--
		f.fail = s.failWith
	}
	return f
}

func (s *Server) recipientFailure(addr string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.rcptFailures[strings.ToLower(addr)]; ok {
		return e
	}
	return nil
}

type hold struct {
	heldOnce, releaseOnce sync.Once
	held, release         chan struct{}
}

func (h *hold) open() { h.releaseOnce.Do(func() { close(h.release) }) }

// parseEnhanced parses an enhanced status code such as "4.3.0"; "" means none was given.
func parseEnhanced(s string) (smtp.EnhancedCode, bool) {
	if s == "" {
		return smtp.EnhancedCodeNotSet, true
	}
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return smtp.EnhancedCode{}, false
	}
	var ec smtp.EnhancedCode
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || n > 999 {
			return smtp.EnhancedCode{}, false
		}
		ec[i] = n
	}
	return ec, ec[0] >= 2 && ec[0] <= 5
}
