// Package smtpsend delivers mail.Messages to an SMTP relay over a small pool of long-lived
// connections. Only the email worker imports it, so only the worker links gomail.
//
// Messages are composed with gomail. The SMTP session itself is driven with net/smtp on a
// connection this package dials, rather than through gomail's Dialer, because the Dialer
// (gomail.v2 2016-04-11) cannot do what a worker needs: it hard-codes a 10s dial timeout
// and offers no way to set deadlines or cancel, so a stalled server would hold a goroutine
// and a pool slot for as long as it liked; it always upgrades with STARTTLS when offered,
// so TLS "none" could not be honoured; and it reports nothing between writing the data and
// reading the server's verdict.
package smtpsend

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"slices"
	"strings"
	"sync"
	"time"

	oesmail "github.com/oeshq/oes/pkg/infra/mail"
)

// TLS modes.
const (
	TLSNone     = "none"     // plain text; STARTTLS is not used even when offered
	TLSStartTLS = "starttls" // plain connect, then STARTTLS, which the server must offer
	TLSImplicit = "tls"      // TLS from the first byte, as on port 465
)

// Config configures a Sender. The worker's environment (pkg/config/workerenv) produces it;
// Host, Port and TLS have no default.
type Config struct {
	Host string
	Port int
	// Username and Password, when Username is set, authenticate with AUTH PLAIN, which the
	// server must offer. net/smtp sends them only over TLS or to a loopback host.
	Username, Password string
	// From is the sender for messages that name none (SMTP_FROM), e.g. "OES <no-reply@oes.example>".
	From string
	// TLS is "none", "starttls" or "tls".
	TLS string
	// TLSConfig, if set, is used for STARTTLS and implicit TLS (say, to trust a private CA);
	// its ServerName defaults to Host. Nil means the system roots.
	TLSConfig *tls.Config
	// PoolSize is the most connections open at once, which should equal the worker's
	// concurrency: one per send in progress. Zero means one.
	PoolSize int
	// IdleTimeout: a pooled connection unused for longer is closed and dialled again before
	// use, since servers drop idle clients. Default 30s.
	IdleTimeout time.Duration
	// DialTimeout bounds connecting and the session's set-up: greeting, EHLO, STARTTLS and
	// AUTH. Default 10s.
	DialTimeout time.Duration
	// SendTimeout bounds one message's transaction, from MAIL FROM to the server's reply to
	// the data. Default 60s. A timeout after the data went out may leave the message
	// delivered, so a retry can duplicate it.
	SendTimeout time.Duration
	// LocalName is the name sent with EHLO. Default "localhost".
	LocalName string
}

// Defaults used for zero Config fields.
const (
	DefaultIdleTimeout = 30 * time.Second
	DefaultDialTimeout = 10 * time.Second
	DefaultSendTimeout = 60 * time.Second
)

// ErrClosed is the cause of the delivery error Send returns once Close has been called.
var ErrClosed = errors.New("smtpsend: sender closed")

// Sender is a mail.Sender over pooled SMTP connections. It is safe for concurrent use.
type Sender struct {
	cfg      Config
	tls      *tls.Config
	fromAddr *mail.Address
	// slots holds one token per send in progress, at most PoolSize. A send dials only when
	// no idle session is left, that is when every open session belongs to another send
	// holding a token, so no more than PoolSize connections are ever open.
	slots     chan struct{}
	done      chan struct{} // closed by Close
	closeOnce sync.Once

	mu sync.Mutex
	// idle holds open sessions not in use, the most recently used last. Sends take from
	// the end, so that under light load one warm connection serves and the others age out.
	idle []*session
}

var _ oesmail.Sender = (*Sender)(nil)

// New checks cfg, fills in its defaults and returns a Sender. It connects to nothing: the
// first Send dials.
func New(cfg Config) (*Sender, error) {
	if cfg.PoolSize == 0 {
		cfg.PoolSize = 1
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.DialTimeout == 0 {
		cfg.DialTimeout = DefaultDialTimeout
	}
	if cfg.SendTimeout == 0 {
		cfg.SendTimeout = DefaultSendTimeout
	}
	if cfg.LocalName == "" {
		cfg.LocalName = "localhost"
	}

	var problems []string
	switch {
	case cfg.Host == "":
		problems = append(problems, "host is required")
	case strings.ContainsAny(cfg.Host, " \r\n"):
		problems = append(problems, "host must not contain spaces or line breaks")
	}
	if cfg.Port < 1 || cfg.Port > 65535 {
		problems = append(problems, "port must be between 1 and 65535")
	}
	if cfg.TLS != TLSNone && cfg.TLS != TLSStartTLS && cfg.TLS != TLSImplicit {
		problems = append(problems, fmt.Sprintf("tls must be none, starttls or tls, not %q", cfg.TLS))
	}
	if cfg.Username == "" && cfg.Password != "" {
		problems = append(problems, "a password needs a username")
	}
	if strings.ContainsAny(cfg.Username, "\r\n") {
		problems = append(problems, "username must not contain line breaks")
	}
	fromAddr, err := mail.ParseAddress(cfg.From)
	if err != nil || strings.ContainsAny(cfg.From, "\r\n") {
		problems = append(problems, "from must be an email address")
	}
	if cfg.PoolSize < 0 {
		problems = append(problems, "pool size must not be negative")
	}
	if cfg.IdleTimeout < 0 || cfg.DialTimeout < 0 || cfg.SendTimeout < 0 {
		problems = append(problems, "timeouts must not be negative")
	}
	if strings.ContainsAny(cfg.LocalName, " \r\n") {
		problems = append(problems, "local name must not contain spaces or line breaks")
	}
	if problems != nil {
		return nil, errors.New("smtpsend: " + strings.Join(problems, "; "))
	}

	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.TLSConfig != nil {
		tlsConfig = cfg.TLSConfig.Clone()
	}
	if tlsConfig.ServerName == "" {
		tlsConfig.ServerName = cfg.Host
	}

	s := &Sender{
		cfg:      cfg,
		tls:      tlsConfig,
		fromAddr: fromAddr,
		slots:    make(chan struct{}, cfg.PoolSize),
		done:     make(chan struct{}),
	}
	return s, nil
}

// Send delivers m: from m.From, or the configured From when m names none. It waits while
// PoolSize sends are in progress, then reuses the most recently used idle connection, or
// dials when none is left (connections idle past IdleTimeout are closed, not used). The
// connection goes back to the pool only after a clean delivery; after any error it is
// closed and a later send dials anew.
//
// It returns the server's reply to the message data, such as "250 2.0.0 Ok: queued as 4F2A1".
// Every error is a *mail.DeliveryError. In the transaction, a 5xx reply is ClassPermanent
// and a 4xx reply ClassTemporary, each with the server's code and text. A reply refusing
// the session itself (greeting, EHLO, STARTTLS, AUTH) is ClassTemporary whatever its code,
// as it says nothing about the message. Failures to connect, TLS failures, timeouts, drops
// and cancellation of ctx are ClassNetwork. Each names the step of the session it failed at.
// A message that fails validation is ClassPermanent with Code 0.
func (s *Sender) Send(ctx context.Context, m oesmail.Message) (string, error) {
	env, msg, err := s.compose(m)
	if err != nil {
		return "", err
	}
	sess, err := s.acquire(ctx)
	if err != nil {
		return "", err
	}
	sess, reply, err := s.deliver(ctx, sess, env, msg)
	s.release(sess)
	return reply, err
}

// Probe opens a session as Send would (connect, greeting, EHLO, STARTTLS and AUTH as
// configured) and closes it with QUIT: it tells whether sending can work, without sending.
// The error is a *mail.DeliveryError as Send's.
func (s *Sender) Probe(ctx context.Context) error {
	select {
	case <-s.done:
		return closedError()
	default:
	}
	sess, err := s.dial(ctx)
	if err != nil {
		return classify(ctx, err)
	}
	sess.quit(s.cfg.DialTimeout)
	return nil
}

// acquire takes a pool slot, waiting while PoolSize sends are in progress, and the most
// recently used idle session, if any; sessions idle past IdleTimeout are closed on the way,
// since the server has most likely dropped them already (a QUIT would only wait for a
// reply that may never come).
func (s *Sender) acquire(ctx context.Context) (*session, error) {
	select {
	case <-s.done:
		return nil, closedError()
	default:
	}
	select {
	case s.slots <- struct{}{}:
	case <-s.done:
		return nil, closedError()
	case <-ctx.Done():
		return nil, cancelled(ctx, nil)
	}

	s.mu.Lock()
	stale := 0
	for stale < len(s.idle) && time.Since(s.idle[stale].lastUsed) > s.cfg.IdleTimeout {
		stale++
	}
	expired := slices.Clone(s.idle[:stale])
	s.idle = slices.Delete(s.idle, 0, stale)
	var sess *session
	if n := len(s.idle); n > 0 {
		sess, s.idle = s.idle[n-1], s.idle[:n-1]
	}
	s.mu.Unlock()

	for _, e := range expired {
		e.close()
	}
	return sess, nil
}

// release gives the slot back, and sess, when not nil, to the idle sessions.
func (s *Sender) release(sess *session) {
	if sess != nil {
		s.mu.Lock()
		s.idle = append(s.idle, sess)
		s.mu.Unlock()
	}
	<-s.slots
}

// deliver sends one message on sess, or on a new session when sess is nil, and returns the
// session to keep for reuse (nil when it was closed) and the server's reply.
func (s *Sender) deliver(ctx context.Context, sess *session, env envelope, msg io.WriterTo) (*session, string, error) {
	for {
		reused := sess != nil
		if !reused {
			var err error
			if sess, err = s.dial(ctx); err != nil {
				return nil, "", classify(ctx, err)
			}
		}
		reply, err := sess.send(ctx, s.cfg.SendTimeout, env, msg)
		if err == nil && !sess.broken {
			sess.lastUsed = time.Now()
			return sess, reply, nil
		}
		sess.close()
		if err == nil {
			return nil, reply, nil
		}
		// A pooled connection the server has closed since its last use fails on the first
		// command, before anything of this message was accepted: dial once more and
		// retry, so that an idle drop the IdleTimeout did not foresee costs no attempt.
		if reused && isStale(err) && ctx.Err() == nil {
			sess = nil
			continue
		}
		return nil, "", classify(ctx, err)
	}
}

// Close closes the pool's connections, each with QUIT. It waits for sends in progress to
// finish (each is bounded by SendTimeout); sends after Close fail with ErrClosed. A server
// may already have dropped an idle connection, so failed QUITs are not reported: Close
// always returns nil.
func (s *Sender) Close() error {
	first := false
	s.closeOnce.Do(func() { close(s.done); first = true })
	if !first {
		return nil
	}
	// Taking every slot waits for the sends in progress to put their sessions back.
	for range s.cfg.PoolSize {
		s.slots <- struct{}{}
	}
	s.mu.Lock()
	idle := s.idle
	s.idle = nil
	s.mu.Unlock()
	for _, sess := range idle {
		sess.quit(s.cfg.DialTimeout)
	}
	return nil
}

func closedError() error {
	return &oesmail.DeliveryError{Class: oesmail.ClassNetwork, Reply: ErrClosed.Error(), Err: ErrClosed}
}
