package smtpsend

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/smtp"
	"strconv"
	"strings"
	"time"
)

// session is one open, authenticated SMTP connection, used by one send at a time.
type session struct {
	raw      net.Conn // the TCP connection: its deadlines bound TLS and SMTP alike
	c        *smtp.Client
	lastUsed time.Time
	// broken is set when a cancelled context may have set a deadline in the past on raw
	// behind the send's back; such a connection is never reused.
	broken bool
}

// The steps of a session, named in errors. The set-up steps refuse the session, not the
// message, which classify needs to know.
const (
	stepConnect   = "connect"
	stepTLS       = "TLS handshake"
	stepGreeting  = "greeting"
	stepHello     = "EHLO"
	stepStartTLS  = "STARTTLS"
	stepAuth      = "AUTH"
	stepMail      = "MAIL FROM"
	stepRcpt      = "RCPT TO"
	stepData      = "DATA"
	stepBody      = "message data"
	stepEndOfData = "end of data"
)

// stepError is a failure at one step of a session.
type stepError struct {
	step string
	err  error
}

func (e *stepError) Error() string { return e.step + ": " + e.err.Error() }
func (e *stepError) Unwrap() error { return e.err }

func (e *stepError) setup() bool {
	switch e.step {
	case stepConnect, stepTLS, stepGreeting, stepHello, stepStartTLS, stepAuth:
		return true
	}
	return false
}

var (
	errNoStartTLS = errors.New("the server does not offer STARTTLS")
	errNoPlain    = errors.New("the server does not offer AUTH PLAIN")
)

// aLongTimeAgo, as a deadline, makes blocked reads and writes on a connection fail at once.
var aLongTimeAgo = time.Unix(1, 0)

// dial connects, says EHLO, secures and authenticates a new session, within DialTimeout and
// ctx.
func (s *Sender) dial(ctx context.Context) (*session, error) {
	d := net.Dialer{Timeout: s.cfg.DialTimeout}
	raw, err := d.DialContext(ctx, "tcp", net.JoinHostPort(s.cfg.Host, strconv.Itoa(s.cfg.Port)))
	if err != nil {
		return nil, &stepError{stepConnect, err}
	}
	if err := raw.SetDeadline(time.Now().Add(s.cfg.DialTimeout)); err != nil {
		raw.Close()
		return nil, &stepError{stepConnect, err}
	}
	stop := context.AfterFunc(ctx, func() { _ = raw.SetDeadline(aLongTimeAgo) })
	c, err := s.setUp(raw)
	if !stop() && err == nil {
		err = &stepError{stepConnect, ctx.Err()}
	}
	if err != nil {
		if c != nil {
			c.Close()
		}
		raw.Close()
		return nil, err
	}
	return &session{raw: raw, c: c}, nil
}

func (s *Sender) setUp(raw net.Conn) (*smtp.Client, error) {
	conn := raw
	if s.cfg.TLS == TLSImplicit {
		tc := tls.Client(raw, s.tls)
		if err := tc.Handshake(); err != nil {
			return nil, &stepError{stepTLS, err}
		}
		conn = tc
	}
	c, err := smtp.NewClient(conn, s.cfg.Host)
	if err != nil {
		return nil, &stepError{stepGreeting, err}
	}
	if err := c.Hello(s.cfg.LocalName); err != nil {
		return c, &stepError{stepHello, err}
	}
	if s.cfg.TLS == TLSStartTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return c, &stepError{stepStartTLS, errNoStartTLS}
		}
		if err := c.StartTLS(s.tls); err != nil {
			return c, &stepError{stepStartTLS, err}
		}
	}
	if s.cfg.Username != "" {
		ok, mechs := c.Extension("AUTH")
		if !ok || !hasMechanism(mechs, "PLAIN") {
			return c, &stepError{stepAuth, errNoPlain}
		}
		if err := c.Auth(smtp.PlainAuth("", s.cfg.Username, s.cfg.Password, s.cfg.Host)); err != nil {
			return c, &stepError{stepAuth, err}
		}
	}
	return c, nil
}

func hasMechanism(mechs, want string) bool {
	for _, m := range strings.Fields(mechs) {
		if strings.EqualFold(m, want) {
			return true
		}
	}
	return false
}

// send runs one mail transaction within timeout and ctx, and returns the server's reply to the
// data, such as "250 2.0.0 Ok: queued as 4F2A1".
func (ss *session) send(ctx context.Context, timeout time.Duration, env envelope, msg io.WriterTo) (string, error) {
	if err := ss.raw.SetDeadline(time.Now().Add(timeout)); err != nil {
		return "", &stepError{stepMail, err}
	}
	stop := context.AfterFunc(ctx, func() { _ = ss.raw.SetDeadline(aLongTimeAgo) })
	reply, err := ss.transaction(env, msg)
	if !stop() {
		ss.broken = true
	}
	return reply, err
}

func (ss *session) transaction(env envelope, msg io.WriterTo) (string, error) {
	c := ss.c
	if err := c.Mail(env.from); err != nil {
		return "", &stepError{stepMail, err}
	}
	for _, to := range env.to {
		if err := c.Rcpt(to); err != nil {
			return "", &stepError{stepRcpt, err}
		}
	}
	// DATA is driven on the textproto connection rather than with net/smtp's Data, whose
	// writer reads the final reply and drops its text: the reply is the receipt kept with the
	// email (it usually names the server's queue id).
	id, err := c.Text.Cmd("DATA")
	if err != nil {
		return "", &stepError{stepData, err}
	}
	c.Text.StartResponse(id)
	_, _, err = c.Text.ReadResponse(354)
	c.Text.EndResponse(id)
	if err != nil {
		return "", &stepError{stepData, err}
	}
	w := c.Text.DotWriter()
	if _, err := msg.WriteTo(w); err != nil {
		return "", &stepError{stepBody, err}
	}
	if err := w.Close(); err != nil {
		return "", &stepError{stepBody, err}
	}
	code, text, err := c.Text.ReadResponse(250)
	if err != nil {
		return "", &stepError{stepEndOfData, err}
	}
	return strconv.Itoa(code) + " " + oneLine(text), nil
}

// quit ends the session politely, waiting at most timeout for the server's reply.
func (ss *session) quit(timeout time.Duration) {
	_ = ss.raw.SetDeadline(time.Now().Add(timeout))
	if err := ss.c.Quit(); err != nil {
		ss.close()
	}
}

// close drops the connection without QUIT.
func (ss *session) close() {
	_ = ss.c.Close()
	_ = ss.raw.Close()
}
