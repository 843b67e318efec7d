// Package mail defines an email message as the system queues it, and validates it before
// anything is queued. It sends nothing itself: delivery is the email worker's job (package
// mail/smtpsend), so the api does not link an SMTP client.
package mail

import (
	"net/mail"
	"strconv"
	"strings"

	"github.com/oeshq/oes/pkg/oes"
)

// Limits a message must respect to be queued.
const (
	MaxSubjectBytes = 998       // RFC 5322's line limit: a subject longer than this cannot be sent unfolded
	MaxBodyBytes    = 256 << 10 // per part (HTML and text)
	MaxRecipients   = 50
)

// Message is one email. From may be empty: the worker then sends from its SMTP_FROM.
type Message struct {
	To      []string `json:"to"`
	From    string   `json:"from,omitempty"`
	ReplyTo string   `json:"reply_to,omitempty"`
	Subject string   `json:"subject"`
	HTML    string   `json:"html,omitempty"`
	Text    string   `json:"text,omitempty"`
}

// Validate reports every problem that would make the message undeliverable or unsafe to
// send: each address must parse as RFC 5322, no header value may hold CR or LF (header
// injection), the subject is at most 998 bytes, each body part at most 256 KiB, and there
// must be an HTML or a text part. The error is an oes EINVALID naming the fields.
func (m Message) Validate() error {
	var fs []oes.FieldError
	add := func(field, msg string) { fs = append(fs, oes.FieldError{Field: field, Message: msg}) }

	switch {
	case len(m.To) == 0:
		add("to", "needs at least one recipient")
	case len(m.To) > MaxRecipients:
		add("to", "has more than "+strconv.Itoa(MaxRecipients)+" recipients")
	}
	for i, addr := range m.To {
		if msg := checkAddress(addr); msg != "" {
			add("to["+strconv.Itoa(i)+"]", msg)
		}
	}
	if m.From != "" {
		if msg := checkAddress(m.From); msg != "" {
			add("from", msg)
		}
	}
	if m.ReplyTo != "" {
		if msg := checkAddress(m.ReplyTo); msg != "" {
			add("reply_to", msg)
		}
	}
	switch {
	case strings.TrimSpace(m.Subject) == "":
		add("subject", "must not be blank")
	case hasLineBreak(m.Subject):
		add("subject", "must not contain CR or LF")
	case len(m.Subject) > MaxSubjectBytes:
		add("subject", "must be at most 998 bytes")
	}
	if m.HTML == "" && m.Text == "" {
		add("body", "needs an HTML or a text part")
	}
	if len(m.HTML) > MaxBodyBytes {
		add("html", "must be at most 256 KiB")
	}
	if len(m.Text) > MaxBodyBytes {
		add("text", "must be at most 256 KiB")
	}
	if fs != nil {
		return oes.Invalid(fs...)
	}
	return nil
}

func checkAddress(addr string) string {
	if hasLineBreak(addr) {
		return "must not contain CR or LF"
	}
	if _, err := mail.ParseAddress(addr); err != nil {
		return "is not a valid email address"
	}
	return ""
}

func hasLineBreak(s string) bool { return strings.ContainsAny(s, "\r\n") }
