package smtpsend

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/smtp"
	"net/textproto"
	"strconv"
	"strings"
	"time"
)

// session is one open, authenticated SMTP connection, used by one send at a time.
type session struct {
	raw      net.Conn // the TCP connection: its deadlines bound TLS and SMTP alike
	c        *smtp.Client
	lastUsed time.Time
	// pipelining says the server offers PIPELINING (RFC 2920): the envelope goes out in one
	// write.
	pipelining bool
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
	pipelining, _ := c.Extension("PIPELINING")
	return &session{raw: raw, c: c, pipelining: pipelining}, nil
}

func (s *Sender) setUp(raw net.Conn) (*smtp.Client, error) {
	conn := raw
	if s.cfg.TLS == TLSImplicit {
		tc := tls.Client(raw, s.tls)
		if err := tc.Handshake(); err != nil { //nolint:noctx // dial ends the handshake on ctx through the connection's deadline, as every other step.
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
	if ss.pipelining {
		if err := ss.pipelinedEnvelope(env); err != nil {
			return "", err
		}
	} else if err := ss.envelope(env); err != nil {
		return "", err
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

// envelope sends MAIL FROM, each RCPT TO and DATA, each after the reply to the one before.
func (ss *session) envelope(env envelope) error {
	c := ss.c
	if err := c.Mail(env.from); err != nil {
		return &stepError{stepMail, err}
	}
	for _, to := range env.to {
		if err := c.Rcpt(to); err != nil {
			return &stepError{stepRcpt, err}
		}
	}
	// DATA is driven on the textproto connection rather than with net/smtp's Data, whose
	// writer reads the final reply and drops its text: the reply is the receipt kept with the
	// email (it usually names the server's queue id).
	id, err := c.Text.Cmd("DATA")
	if err != nil {
		return &stepError{stepData, err}
	}
	c.Text.StartResponse(id)
	_, _, err = c.Text.ReadResponse(354)
	c.Text.EndResponse(id)
	if err != nil {
		return &stepError{stepData, err}
	}
	return nil
}

// pipelinedEnvelope sends MAIL FROM, every RCPT TO and DATA in one write, then reads their
// replies in order (RFC 2920): one round trip to the server instead of two or more. The error
// is the first refusal, with its step, as envelope's. The caller closes the session after any
// error, so a DATA the server accepted in spite of an earlier refusal never gets a message.
func (ss *session) pipelinedEnvelope(env envelope) error {
	c := ss.c
	for _, addr := range append([]string{env.from}, env.to...) {
		if strings.ContainsAny(addr, "\r\n") {
			return &stepError{stepMail, errors.New("an address must not contain CR or LF")}
		}
	}
	// The parameters net/smtp's Mail adds.
	params := ""
	if ok, _ := c.Extension("8BITMIME"); ok {
		params += " BODY=8BITMIME"
	}
	if ok, _ := c.Extension("SMTPUTF8"); ok {
		params += " SMTPUTF8"
	}
	w := c.Text.W
	fmt.Fprintf(w, "MAIL FROM:<%s>%s\r\n", env.from, params)
	for _, to := range env.to {
		fmt.Fprintf(w, "RCPT TO:<%s>\r\n", to)
	}
	_, _ = w.WriteString("DATA\r\n")
	if err := w.Flush(); err != nil {
		return &stepError{stepMail, err}
	}
	var first error
	// read reads the reply to step; false when no more replies can be read (the connection
	// failed rather than the server refusing).
	read := func(step string, want int) bool {
		_, _, err := c.Text.ReadResponse(want)
		if err == nil {
			return true
		}
		if first == nil {
			first = &stepError{step, err}
		}
		var refusal *textproto.Error
		return errors.As(err, &refusal)
	}
	if !read(stepMail, 250) {
		return first
	}
	for range env.to {
		if !read(stepRcpt, 25) {
			return first
		}
	}
	read(stepData, 354)
	return first
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
