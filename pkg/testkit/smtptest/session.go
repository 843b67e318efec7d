package smtptest

import (
	"io"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

type backend struct{ s *Server }

func (b backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &session{s: b.s, conn: c}, nil
}

// session is one client's SMTP session. go-smtp calls its methods from the connection's
// goroutine only, so its fields need no lock.
type session struct {
	s      *Server
	conn   *smtp.Conn
	authed bool
	from   string
	to     []string
}

var _ smtp.AuthSession = (*session)(nil)

func (ss *session) AuthMechanisms() []string {
	if ss.s.cfg.username == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (ss *session) Auth(mech string) (sasl.Server, error) {
	if ss.s.cfg.username == "" || mech != sasl.Plain {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if (identity != "" && identity != username) || username != ss.s.cfg.username || password != ss.s.cfg.password {
			return smtp.ErrAuthFailed
		}
		ss.authed = true
		return nil
	}), nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if ss.s.cfg.username != "" && !ss.authed {
		return smtp.ErrAuthRequired
	}
	ss.from, ss.to = from, nil
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if err := ss.s.recipientFailure(to); err != nil {
		return err
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	f := ss.s.beginTransaction()
	if f.drop {
		reset(ss.conn.Conn())
		return errDropped
	}

	var data []byte
	var err error
	if ss.s.cfg.discard {
		_, err = io.Copy(io.Discard, r)
	} else {
		data, err = io.ReadAll(r)
	}
	if err != nil {
		return err
	}

	if h := f.hold; h != nil {
		h.heldOnce.Do(func() { close(h.held) })
		select {
		case <-h.release:
		case <-ss.s.done:
		}
	}
	if f.stall > 0 {
		ss.s.wait(f.stall)
	}
	if f.fail != nil {
		return f.fail
	}

	if ss.s.cfg.discard {
		ss.s.record(nil)
		return nil
	}
	_, isTLS := ss.conn.TLSConnectionState()
	m := parse(ss.from, ss.to, data)
	m.TLS = isTLS
	ss.s.record(&m)
	return nil
}

func (ss *session) Reset() { ss.from, ss.to = "", nil }

func (ss *session) Logout() error { return nil }
