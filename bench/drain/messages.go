package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/mail"
	"strconv"
	"time"

	"github.com/oeshq/oes/bench/internal/benchkit/smtpsink"
	oesmail "github.com/oeshq/oes/pkg/infra/mail"
	"github.com/oeshq/oes/pkg/infra/mail/smtpsend"
	"github.com/oeshq/oes/pkg/infra/mail/templates"
)

// smtpFrom is the worker's SMTP_FROM, and the sender of every reference.
const smtpFrom = "OES <no-reply@oes.test>"

// studentAddresses is the prefix of the addresses of the messages every sender delivers.
const studentAddresses = "student"

// benchMessages returns n verification emails as a registration writes them (an HTML and a
// text part, about 2 kB on the wire), each to its own address, <prefix><number>@oes.test, with
// its own link. The same prefix and n always give the same messages; prefixes of one length
// give messages of one size.
func benchMessages(prefix string, n int) ([]oesmail.Message, error) {
	msgs := make([]oesmail.Message, n)
	for i := range msgs {
		token := sha256.Sum256([]byte(prefix + strconv.Itoa(i)))
		m, err := templates.VerificationEmail(fmt.Sprintf("%s%05d@oes.test", prefix, i+1), templates.Verification{
			Name:      fmt.Sprintf("Student %d", i+1),
			VerifyURL: "http://localhost:8080/api/v1/auth/verify?token=" + hex.EncodeToString(token[:])[:43],
			ExpiresIn: 24 * time.Hour,
		})
		if err != nil {
			return nil, err
		}
		msgs[i] = m
	}
	return msgs, nil
}

// wireMessage is one message as an SMTP client sends it: the envelope and the data.
type wireMessage struct {
	from string
	to   []string
	data []byte
}

// composeWire returns msgs as the worker's sender, smtpsend, puts them on the wire (headers,
// MIME structure, encodings), by sending them through it to a capturing sink in this process:
// the ceiling then sends exactly the bytes the worker sends.
func composeWire(ctx context.Context, msgs []oesmail.Message) ([]wireMessage, error) {
	capture, err := smtpsink.Start(true)
	if err != nil {
		return nil, err
	}
	defer capture.Close()
	sender, err := smtpsend.New(smtpsend.Config{
		Host: "127.0.0.1", Port: capture.Port(), TLS: smtpsend.TLSNone, From: smtpFrom, PoolSize: 1,
	})
	if err != nil {
		return nil, err
	}
	defer sender.Close()
	from, err := mail.ParseAddress(smtpFrom)
	if err != nil {
		return nil, err
	}
	wire := make([]wireMessage, len(msgs))
	for i, m := range msgs {
		if _, err := sender.Send(ctx, m); err != nil {
			return nil, fmt.Errorf("compose message %d: %w", i, err)
		}
		to := make([]string, len(m.To))
		for j, raw := range m.To {
			a, err := mail.ParseAddress(raw)
			if err != nil {
				return nil, err
			}
			to[j] = a.Address
		}
		wire[i] = wireMessage{from: from.Address, to: to}
	}
	// One connection, so the sink received them in the order they were sent.
	got := capture.Accepted()
	if len(got) != len(msgs) {
		return nil, fmt.Errorf("compose: captured %d messages, want %d", len(got), len(msgs))
	}
	for i := range wire {
		wire[i].data = got[i].Data
	}
	return wire, nil
}
