package smtptest_test

import (
	"crypto/tls"
	"errors"
	"io"
	"net/smtp"
	"net/textproto"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/testkit/smtptest"
)

const multipartMessage = "From: Ann <ann@example.com>\r\n" +
	"To: bob@example.com\r\n" +
	"Subject: =?UTF-8?q?Gr=C3=BC=C3=9Fe?=\r\n" +
	"Mime-Version: 1.0\r\n" +
	"Content-Type: multipart/alternative; boundary=b1\r\n" +
	"\r\n" +
	"--b1\r\n" +
	"Content-Type: text/plain; charset=UTF-8\r\n" +
	"Content-Transfer-Encoding: quoted-printable\r\n" +
	"\r\n" +
	"Hello =C3=BC\r\nsecond line\r\n" +
	"--b1\r\n" +
	"Content-Type: text/html; charset=UTF-8\r\n" +
	"Content-Transfer-Encoding: base64\r\n" +
	"\r\n" +
	"PHA+SGVsbG88L3A+\r\n" +
	"--b1--\r\n"

// send delivers one message to srv with net/smtp on a fresh connection.
func send(srv *smtptest.Server, to string, msg string) error {
	return smtp.SendMail(srv.Addr(), nil, "ann@example.com", []string{to}, []byte(msg))
}

func replyCode(t *testing.T, err error) int {
	t.Helper()
	var te *textproto.Error
	require.ErrorAs(t, err, &te)
	return te.Code
}

func TestReceivesAndParsesAMessage(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t)

	require.NoError(t, send(srv, "bob@example.com", multipartMessage))

	msgs := srv.WaitForMessages(t, 1, 5*time.Second)
	require.Len(t, msgs, 1)
	m := msgs[0]
	require.NoError(t, m.ParseError)
	require.Equal(t, "ann@example.com", m.From)
	require.Equal(t, []string{"bob@example.com"}, m.To)
	require.Equal(t, multipartMessage, string(m.Data))
	require.Equal(t, "Grüße", m.Subject)
	require.Equal(t, "Hello ü\nsecond line", m.Text)
	require.Equal(t, "<p>Hello</p>", m.HTML)
	require.Equal(t, "Ann <ann@example.com>", m.Header.Get("From"))
	require.False(t, m.TLS)
	require.Equal(t, 1, srv.Connections())
	require.Equal(t, 1, srv.Transactions())
	require.Equal(t, 1, srv.Delivered())
}

func TestFailNextAnswersTheCodeOnce(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t)
	srv.FailNext(1, 451, "4.3.0", "try again later")

	err := send(srv, "bob@example.com", multipartMessage)
	require.Equal(t, 451, replyCode(t, err))
	require.Contains(t, err.Error(), "4.3.0 try again later")

	require.NoError(t, send(srv, "bob@example.com", multipartMessage))
	require.Equal(t, 2, srv.Transactions())
	require.Len(t, srv.Messages(), 1)
}

func TestFailRecipientRefusesThatAddressUntilAcceptAll(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t)
	srv.FailRecipient("Gone@Example.com", 550, "5.1.1 no such user")

	err := send(srv, "gone@example.com", multipartMessage)
	require.Equal(t, 550, replyCode(t, err))
	require.Contains(t, err.Error(), "5.1.1 no such user")
	require.NoError(t, send(srv, "bob@example.com", multipartMessage), "other recipients are accepted")
	require.Error(t, send(srv, "gone@example.com", multipartMessage), "the refusal lasts")

	srv.AcceptAll()
	require.NoError(t, send(srv, "gone@example.com", multipartMessage))
}

func TestDropNextClosesTheConnectionDuringData(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t)
	srv.DropNext(1)

	err := send(srv, "bob@example.com", multipartMessage)
	require.Error(t, err)
	var te *textproto.Error
	require.False(t, errors.As(err, &te), "a drop gives no SMTP reply, got %v", err)
	require.Empty(t, srv.Messages())
	require.Eventually(t, func() bool { return srv.OpenConnections() == 0 }, 5*time.Second, 5*time.Millisecond)

	require.NoError(t, send(srv, "bob@example.com", multipartMessage))
	require.Len(t, srv.Messages(), 1)
}

func TestStallDelaysTheReply(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t)
	srv.Stall(200 * time.Millisecond)

	start := time.Now()
	require.NoError(t, send(srv, "bob@example.com", multipartMessage))
	require.GreaterOrEqual(t, time.Since(start), 200*time.Millisecond)

	start = time.Now()
	require.NoError(t, send(srv, "bob@example.com", multipartMessage))
	require.Less(t, time.Since(start), 200*time.Millisecond, "only the next transaction stalls")
}

func TestHoldKeepsATransactionOpenUntilReleased(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t)
	held, release := srv.Hold()

	sent := make(chan error, 1)
	go func() { sent <- send(srv, "bob@example.com", multipartMessage) }()
	select {
	case <-held:
	case <-time.After(5 * time.Second):
		t.Fatal("no transaction reached the hold")
	}
	require.Empty(t, srv.Messages(), "a held message is not accepted yet")
	select {
	case err := <-sent:
		t.Fatalf("send returned while held: %v", err)
	default:
	}

	release()
	require.NoError(t, <-sent)
	require.Len(t, srv.Messages(), 1)
	release()
}

func TestAuthIsRequiredAndChecked(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.WithAuth("mailer", "s3cret"))
	msg := []byte(multipartMessage)

	err := smtp.SendMail(srv.Addr(), nil, "ann@example.com", []string{"bob@example.com"}, msg)
	require.Equal(t, 502, replyCode(t, err), "MAIL FROM before AUTH")

	wrong := smtp.PlainAuth("", "mailer", "wrong", srv.Host())
	err = smtp.SendMail(srv.Addr(), wrong, "ann@example.com", []string{"bob@example.com"}, msg)
	require.Equal(t, 535, replyCode(t, err))

	right := smtp.PlainAuth("", "mailer", "s3cret", srv.Host())
	require.NoError(t, smtp.SendMail(srv.Addr(), right, "ann@example.com", []string{"bob@example.com"}, msg))
	require.Len(t, srv.Messages(), 1)
}

func TestStartTLSWithTheServersCertificate(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.WithStartTLS())

	c, err := smtp.Dial(srv.Addr())
	require.NoError(t, err)
	defer c.Close()
	ok, _ := c.Extension("STARTTLS")
	require.True(t, ok)
	require.NoError(t, c.StartTLS(&tls.Config{RootCAs: srv.RootCAs(), ServerName: srv.Host()}))
	require.NoError(t, c.Mail("ann@example.com"))
	require.NoError(t, c.Rcpt("bob@example.com"))
	w, err := c.Data()
	require.NoError(t, err)
	_, err = io.WriteString(w, multipartMessage)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	require.NoError(t, c.Quit())

	msgs := srv.Messages()
	require.Len(t, msgs, 1)
	require.True(t, msgs[0].TLS)
}

func TestIdleTimeoutDropsASilentClient(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.WithIdleTimeout(100*time.Millisecond))

	c, err := smtp.Dial(srv.Addr())
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Hello("localhost"))
	require.Eventually(t, func() bool { return srv.OpenConnections() == 0 }, 5*time.Second, 10*time.Millisecond)
	require.Error(t, c.Mail("ann@example.com"))
}

func TestSinkCountsWithoutKeeping(t *testing.T) {
	t.Parallel()
	srv := smtptest.StartSink(t)

	for range 3 {
		require.NoError(t, send(srv, "bob@example.com", multipartMessage))
	}
	require.Equal(t, 3, srv.Delivered())
	require.Equal(t, 3, srv.Transactions())
	require.Empty(t, srv.Messages())
}
