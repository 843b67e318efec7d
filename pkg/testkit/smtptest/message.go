package smtptest

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strings"
	"time"
)

// Message is one message the server accepted: its envelope, its raw data, and the parts a
// test usually checks, decoded.
type Message struct {
	From string   // MAIL FROM
	To   []string // RCPT TO, in order
	Data []byte   // the data as received, headers and body
	TLS  bool     // whether the session was encrypted
	// Received is when the server accepted the message's data.
	Received time.Time

	Header  mail.Header // the top-level headers, as sent
	Subject string      // decoded from RFC 2047 encoded words
	// Text and HTML are the first text/plain and text/html parts, transfer encoding removed
	// and line breaks turned into "\n".
	Text, HTML string
	// ParseError is set when the data is not a well-formed MIME message; the fields above it
	// still hold what arrived.
	ParseError error
}

func parse(from string, to []string, data []byte) Message {
	m := Message{From: from, To: to, Data: data}
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		m.ParseError = err
		return m
	}
	m.Header = msg.Header
	if m.Subject, err = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject")); err != nil {
		m.ParseError = fmt.Errorf("subject: %w", err)
		return m
	}
	if err := m.readPart(textproto.MIMEHeader(msg.Header), msg.Body); err != nil {
		m.ParseError = err
	}
	return m
}

// readPart fills Text and HTML from one MIME entity, descending into multipart ones.
func (m *Message) readPart(h textproto.MIMEHeader, body io.Reader) error {
	ct := h.Get("Content-Type")
	if ct == "" {
		ct = "text/plain"
	}
	mediaType, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return fmt.Errorf("content type %q: %w", ct, err)
	}
	if strings.HasPrefix(mediaType, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			// NextRawPart, because NextPart would remove quoted-printable itself but not
			// base64, and readPart decodes both alike.
			p, err := mr.NextRawPart()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("%s: %w", mediaType, err)
			}
			if err := m.readPart(p.Header, p); err != nil {
				return err
			}
		}
	}

	r := body
	switch enc := strings.ToLower(strings.TrimSpace(h.Get("Content-Transfer-Encoding"))); enc {
	case "quoted-printable":
		r = quotedprintable.NewReader(body)
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, body)
	case "", "7bit", "8bit", "binary":
	default:
		return fmt.Errorf("unknown transfer encoding %q", enc)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("%s body: %w", mediaType, err)
	}
	text := strings.ReplaceAll(string(b), "\r\n", "\n")
	switch {
	case mediaType == "text/plain" && m.Text == "":
		m.Text = text
	case mediaType == "text/html" && m.HTML == "":
		m.HTML = text
	}
	return nil
}
