package smtpsend

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"net/mail"
	"slices"
	"strings"
	"time"

	"gopkg.in/gomail.v2"

	oesmail "github.com/oeshq/oes/pkg/infra/mail"
	"github.com/oeshq/oes/pkg/oes"
)

// envelope is a transaction's MAIL FROM and RCPT TO addresses.
type envelope struct {
	from string
	to   []string
}

// compose builds the envelope and the MIME message for m: From, To, Reply-To, Subject,
// Date and Message-ID headers, and a text/plain part with a text/html alternative (or
// whichever of the two m has). A message that fails validation is a permanent error: it
// could never be sent.
func (s *Sender) compose(m oesmail.Message) (envelope, io.WriterTo, error) {
	if err := m.Validate(); err != nil {
		return envelope{}, nil, invalid(err)
	}
	from := s.fromAddr
	if m.From != "" {
		a, err := mail.ParseAddress(m.From)
		if err != nil {
			return envelope{}, nil, invalid(err)
		}
		from = a
	}

	gm := gomail.NewMessage()
	// Addresses are formatted by gomail rather than passed as given, so that a display
	// name outside ASCII is encoded and the address itself is never mangled by encoding.
	gm.SetHeader("From", gm.FormatAddress(from.Address, from.Name))
	env := envelope{from: from.Address}
	to := make([]string, 0, len(m.To))
	for _, raw := range m.To {
		a, err := mail.ParseAddress(raw)
		if err != nil {
			return envelope{}, nil, invalid(err)
		}
		to = append(to, gm.FormatAddress(a.Address, a.Name))
		if !slices.Contains(env.to, a.Address) {
			env.to = append(env.to, a.Address)
		}
	}
	gm.SetHeader("To", to...)
	if m.ReplyTo != "" {
		a, err := mail.ParseAddress(m.ReplyTo)
		if err != nil {
			return envelope{}, nil, invalid(err)
		}
		gm.SetAddressHeader("Reply-To", a.Address, a.Name)
	}
	gm.SetHeader("Subject", m.Subject)
	gm.SetHeader("Message-ID", messageID(from.Address))
	gm.SetDateHeader("Date", time.Now())

	switch {
	case m.Text != "" && m.HTML != "":
		gm.SetBody("text/plain", m.Text)
		gm.AddAlternative("text/html", m.HTML)
	case m.Text != "":
		gm.SetBody("text/plain", m.Text)
	default:
		gm.SetBody("text/html", m.HTML)
	}
	return env, gm, nil
}

// messageID returns a unique Message-ID in the sender's domain.
func messageID(from string) string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	domain := "localhost"
	if i := strings.LastIndexByte(from, '@'); i >= 0 && i < len(from)-1 {
		domain = from[i+1:]
	}
	return "<" + hex.EncodeToString(b[:]) + "@" + domain + ">"
}

func invalid(err error) error {
	reply := err.Error()
	var oe *oes.Error
	if errors.As(err, &oe) && len(oe.Fields) > 0 {
		parts := make([]string, len(oe.Fields))
		for i, f := range oe.Fields {
			parts[i] = f.Field + " " + f.Message
		}
		reply = strings.Join(parts, "; ")
	}
	return &oesmail.DeliveryError{Class: oesmail.ClassPermanent, Reply: "invalid message: " + reply, Err: err}
}
