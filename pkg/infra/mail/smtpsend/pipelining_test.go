package smtpsend_test

import (
	"context"
	"net"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	oesmail "github.com/oeshq/oes/pkg/infra/mail"
	"github.com/oeshq/oes/pkg/infra/mail/smtpsend"
)

// scripted is an SMTP server that plays one session by a script, so that a test can see in
// which order, and in how many round trips, a client sends its commands.
type scripted struct {
	ln   net.Listener
	done chan scriptResult
}

type scriptResult struct {
	commands []string // the lines the client sent, the message data left out
	// alone says, for each command read before a reply was written, whether it was the only
	// thing the client had sent: a client that waits for each reply always sends alone.
	alone []bool
	data  bool // a message was sent (its data ended with ".")
	err   error
}

// startScripted serves one session: it greets, answers EHLO with ehlo's extensions, then reads
// the envelope (MAIL, one RCPT, DATA) — all three before answering any when pipelining is
// offered, each in turn otherwise — and answers them with replies; on 354 it reads the data.
func startScripted(t *testing.T, pipelining bool, replies [3]string) *scripted {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := &scripted{ln: ln, done: make(chan scriptResult, 1)}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		var res scriptResult
		defer func() { s.done <- res }()
		c, err := ln.Accept()
		if err != nil {
			res.err = err
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		tc := textproto.NewConn(c)
		read := func() string {
			line, err := tc.ReadLine()
			if err != nil && res.err == nil {
				res.err = err
			}
			res.commands = append(res.commands, line)
			return line
		}
		_ = tc.PrintfLine("220 scripted ESMTP")
		read() // EHLO
		ext := "250-scripted\r\n250 8BITMIME"
		if pipelining {
			ext = "250-scripted\r\n250-PIPELINING\r\n250 8BITMIME"
		}
		_ = tc.PrintfLine("%s", ext)
		for i := range 3 {
			read()
			res.alone = append(res.alone, tc.R.Buffered() == 0)
			if pipelining {
				read()
				read()
				for _, r := range replies {
					_ = tc.PrintfLine("%s", r)
				}
				break
			}
			_ = tc.PrintfLine("%s", replies[i])
			if !strings.HasPrefix(replies[i], "2") {
				break
			}
		}
		if !strings.HasPrefix(replies[2], "354") || res.err != nil {
			// The client gives up on the session: it closes it, or says QUIT.
			if line, err := tc.ReadLine(); err == nil {
				res.commands = append(res.commands, line)
			}
			return
		}
		if _, err := tc.ReadDotLines(); err != nil {
			res.err = err
			return
		}
		res.data = true
		_ = tc.PrintfLine("250 2.0.0 queued as S1")
	}()
	return s
}

func (s *scripted) sender(t *testing.T) *smtpsend.Sender {
	t.Helper()
	addr := s.ln.Addr().(*net.TCPAddr)
	sender, err := smtpsend.New(smtpsend.Config{
		Host: "127.0.0.1", Port: addr.Port, From: "no-reply@oes.test", TLS: smtpsend.TLSNone,
		DialTimeout: 5 * time.Second, SendTimeout: 5 * time.Second,
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = sender.Close() })
	return sender
}

func (s *scripted) result(t *testing.T) scriptResult {
	t.Helper()
	select {
	case r := <-s.done:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("the scripted session did not end")
		return scriptResult{}
	}
}

var envelopeOK = [3]string{"250 2.1.0 ok", "250 2.1.5 ok", "354 go ahead"}

func TestEnvelopeIsOneRoundTripWhenTheServerOffersPipelining(t *testing.T) {
	t.Parallel()
	srv := startScripted(t, true, envelopeOK)
	s := srv.sender(t)

	// The server answers nothing until it has MAIL, RCPT and DATA: a client that waited
	// for each reply would time out.
	reply, err := s.Send(context.Background(), message())

	require.NoError(t, err)
	require.Equal(t, "250 2.0.0 queued as S1", reply)
	_ = s.Close()
	res := srv.result(t)
	require.NoError(t, res.err)
	require.True(t, res.data)
	require.Equal(t, []string{"MAIL FROM:<no-reply@oes.test> BODY=8BITMIME", "RCPT TO:<bob@example.com>", "DATA"}, res.commands[1:4])
}

func TestEnvelopeWaitsForEachReplyWithoutPipelining(t *testing.T) {
	t.Parallel()
	srv := startScripted(t, false, envelopeOK)
	s := srv.sender(t)

	_, err := s.Send(context.Background(), message())

	require.NoError(t, err)
	_ = s.Close()
	res := srv.result(t)
	require.NoError(t, res.err)
	require.True(t, res.data)
	require.Equal(t, []bool{true, true, true}, res.alone, "each command was sent after the reply to the one before")
}

func TestPipelinedRefusalSendsNoMessage(t *testing.T) {
	t.Parallel()
	for name, replies := range map[string][3]string{
		// A lax server answers DATA with 354 although it refused the only recipient: the
		// client must not send the message.
		"dataAcceptedAnyway": {"250 2.1.0 ok", "550 5.1.1 no such user", "354 go ahead"},
		"dataRefused":        {"250 2.1.0 ok", "550 5.1.1 no such user", "554 5.5.1 no valid recipients"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := startScripted(t, true, replies)
			s := srv.sender(t)

			_, err := s.Send(context.Background(), message())

			d := deliveryError(t, err)
			require.Equal(t, oesmail.StepRecipient, d.Step, "the first refusal is the error: %v", err)
			require.Equal(t, 550, d.Code)
			require.True(t, d.RecipientRefused())
			_ = s.Close()
			res := srv.result(t)
			require.False(t, res.data, "no message was sent")
		})
	}
}
