package smtpsend_test

import (
	"context"
	"errors"
	"net/mail"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	oesmail "github.com/oeshq/oes/pkg/infra/mail"
	"github.com/oeshq/oes/pkg/infra/mail/smtpsend"
	"github.com/oeshq/oes/pkg/testkit/smtptest"
)

type fixture struct {
	srv    *smtptest.Server
	sender *smtpsend.Sender
}

// setup starts an SMTP server with opts and a Sender for it, plain text unless edit says
// otherwise; both are closed when the test ends.
func setup(t *testing.T, edit func(*smtpsend.Config), opts ...smtptest.Option) fixture {
	t.Helper()
	srv := smtptest.Start(t, opts...)
	cfg := smtpsend.Config{
		Host:        srv.Host(),
		Port:        srv.Port(),
		From:        "OES <no-reply@oes.test>",
		TLS:         smtpsend.TLSNone,
		DialTimeout: 5 * time.Second,
		SendTimeout: 5 * time.Second,
	}
	if edit != nil {
		edit(&cfg)
	}
	sender, err := smtpsend.New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, sender.Close()) })
	return fixture{srv: srv, sender: sender}
}

func message() oesmail.Message {
	return oesmail.Message{
		To:      []string{"Bob <bob@example.com>"},
		Subject: "Your exam starts at 10:00",
		Text:    "Good luck.\nSee you there.",
		HTML:    "<p>Good luck.</p>",
	}
}

func deliveryError(t *testing.T, err error) *oesmail.DeliveryError {
	t.Helper()
	var d *oesmail.DeliveryError
	require.ErrorAs(t, err, &d)
	return d
}

// send delivers m with s and requires that the server accepted it.
func send(t *testing.T, s *smtpsend.Sender, m oesmail.Message) {
	t.Helper()
	_, err := s.Send(context.Background(), m)
	require.NoError(t, err)
}

// accepted is how smtptest's server (go-smtp) answers data it accepts.
const accepted = "250 2.0.0 OK: queued"

func TestSendDeliversBothPartsWithHeaders(t *testing.T) {
	t.Parallel()
	f := setup(t, nil)
	m := message()
	m.To = append(m.To, "Zoë Ünal <zoe@example.com>", "bob@example.com")
	m.ReplyTo = "Exams Office <exams@oes.test>"
	m.Subject = "Prüfung: Ihr Termin"

	send(t, f.sender, m)

	got := f.srv.WaitForMessages(t, 1, 5*time.Second)[0]
	require.NoError(t, got.ParseError)
	require.Equal(t, "no-reply@oes.test", got.From)
	require.Equal(t, []string{"bob@example.com", "zoe@example.com"}, got.To, "each recipient once")
	require.Equal(t, "Prüfung: Ihr Termin", got.Subject)
	require.Equal(t, "Good luck.\nSee you there.", got.Text)
	require.Equal(t, "<p>Good luck.</p>", got.HTML)
	require.True(t, strings.HasPrefix(got.Header.Get("Content-Type"), "multipart/alternative;"), got.Header.Get("Content-Type"))

	from, err := got.Header.AddressList("From")
	require.NoError(t, err)
	require.Equal(t, []*mail.Address{{Name: "OES", Address: "no-reply@oes.test"}}, from)
	to, err := got.Header.AddressList("To")
	require.NoError(t, err)
	require.Equal(t, []*mail.Address{
		{Name: "Bob", Address: "bob@example.com"},
		{Name: "Zoë Ünal", Address: "zoe@example.com"},
		{Address: "bob@example.com"},
	}, to)
	replyTo, err := got.Header.AddressList("Reply-To")
	require.NoError(t, err)
	require.Equal(t, []*mail.Address{{Name: "Exams Office", Address: "exams@oes.test"}}, replyTo)
	require.Regexp(t, regexp.MustCompile(`^<[0-9a-f]{32}@oes\.test>$`), got.Header.Get("Message-ID"))
	date, err := got.Header.Date()
	require.NoError(t, err)
	require.WithinDuration(t, time.Now(), date, time.Minute)
}

func TestSendUsesTheMessagesFromAndASinglePart(t *testing.T) {
	t.Parallel()
	f := setup(t, nil)
	m := message()
	m.From = "Teacher <teacher@school.test>"
	m.HTML = ""

	send(t, f.sender, m)

	got := f.srv.WaitForMessages(t, 1, 5*time.Second)[0]
	require.Equal(t, "teacher@school.test", got.From)
	// A body not ending in a line break gets one from SMTP's end-of-data line.
	require.Equal(t, "Good luck.\nSee you there.\n", got.Text)
	require.Empty(t, got.HTML)
	require.True(t, strings.HasPrefix(got.Header.Get("Content-Type"), "text/plain"))
	require.Contains(t, got.Header.Get("Message-ID"), "@school.test>")
}

func TestSendRefusesAnInvalidMessagePermanently(t *testing.T) {
	t.Parallel()
	f := setup(t, nil)
	m := message()
	m.Subject = "Hi\r\nBcc: victim@example.com"

	reply, err := f.sender.Send(context.Background(), m)

	require.Empty(t, reply)
	d := deliveryError(t, err)
	require.Equal(t, oesmail.ClassPermanent, d.Class)
	require.Zero(t, d.Code)
	require.False(t, d.RecipientRefused(), "the message is at fault, not the address")
	require.Contains(t, d.Reply, "subject")
	require.Zero(t, f.srv.Connections(), "nothing is sent for a message that cannot be")
}

func TestSequentialSendsReuseOneConnection(t *testing.T) {
	t.Parallel()
	f := setup(t, nil)

	for range 5 {
		send(t, f.sender, message())
	}

	require.Len(t, f.srv.Messages(), 5)
	require.Equal(t, 1, f.srv.Connections())
	require.Equal(t, 1, f.srv.OpenConnections(), "the connection stays open for the next message")
}

func TestConcurrentSendsUseAtMostPoolSizeConnections(t *testing.T) {
	t.Parallel()
	f := setup(t, func(c *smtpsend.Config) { c.PoolSize = 5 })

	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Go(func() {
			_, err := f.sender.Send(context.Background(), message())
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}

	require.Len(t, f.srv.WaitForMessages(t, 20, 5*time.Second), 20)
	require.LessOrEqual(t, f.srv.Connections(), 5)
	require.Equal(t, 20, f.srv.Transactions())
}

func TestSendReturnsTheServersReplyToTheData(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		reply func(*smtptest.Server) // nil: the server's own answer
		want  string
	}{
		{"serversDefault", nil, accepted},
		// A 250 as a "failure" is how smtptest is told what to answer: go-smtp writes whatever
		// reply the data handler returns. The server then keeps no copy of the message.
		{"queueID", func(s *smtptest.Server) { s.FailNext(1, 250, "2.0.0", "Ok: queued as 4F2A1") }, "250 2.0.0 Ok: queued as 4F2A1"},
		{"multiLineJoined", func(s *smtptest.Server) { s.FailNext(1, 250, "2.6.0", "Ok\nqueued as 4F2A1") }, "250 Ok 2.6.0 queued as 4F2A1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t, nil)
			if tt.reply != nil {
				tt.reply(f.srv)
			}

			reply, err := f.sender.Send(context.Background(), message())

			require.NoError(t, err)
			require.Equal(t, tt.want, reply)
			require.Equal(t, 1, f.srv.Transactions())
		})
	}
}

func TestSendWaitsForTheServersVerdict(t *testing.T) {
	t.Parallel()
	f := setup(t, nil)
	type result struct {
		reply string
		err   error
	}

	held, release := f.srv.Hold()
	sent := make(chan result, 1)
	go func() {
		reply, err := f.sender.Send(context.Background(), message())
		sent <- result{reply, err}
	}()
	select {
	case <-held:
	case <-time.After(5 * time.Second):
		t.Fatal("the message never reached the server")
	}
	select {
	case r := <-sent:
		t.Fatalf("Send returned before the server replied: %q, %v", r.reply, r.err)
	case <-time.After(100 * time.Millisecond):
	}

	release()
	r := <-sent
	require.NoError(t, r.err)
	require.Equal(t, accepted, r.reply)

	f.srv.FailNext(1, 550, "5.7.1", "rejected")
	reply, err := f.sender.Send(context.Background(), message())
	require.Error(t, err)
	require.Empty(t, reply, "a refusal is no receipt")
}

func TestCloseQuitsPooledConnectionsAndRefusesSends(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t)
	sender, err := smtpsend.New(smtpsend.Config{Host: srv.Host(), Port: srv.Port(), From: "no-reply@oes.test", TLS: smtpsend.TLSNone})
	require.NoError(t, err)
	send(t, sender, message())
	require.Equal(t, 1, srv.OpenConnections())

	require.NoError(t, sender.Close())
	require.Eventually(t, func() bool { return srv.OpenConnections() == 0 }, 5*time.Second, 5*time.Millisecond)
	require.NoError(t, sender.Close(), "closing twice is harmless")

	_, err = sender.Send(context.Background(), message())
	require.True(t, errors.Is(err, smtpsend.ErrClosed), "got %v", err)
	require.Equal(t, oesmail.ClassNetwork, deliveryError(t, err).Class)
}

func TestNewValidatesConfig(t *testing.T) {
	t.Parallel()
	valid := smtpsend.Config{Host: "smtp.oes.test", Port: 587, TLS: smtpsend.TLSStartTLS, From: "no-reply@oes.test", Username: "mailer", Password: "hunter2"}
	tests := []struct {
		name string
		edit func(*smtpsend.Config)
		want string
	}{
		{"noHost", func(c *smtpsend.Config) { c.Host = "" }, "host is required"},
		{"badPort", func(c *smtpsend.Config) { c.Port = 70000 }, "port"},
		{"badTLS", func(c *smtpsend.Config) { c.TLS = "ssl" }, `tls must be none, starttls or tls, not "ssl"`},
		{"badFrom", func(c *smtpsend.Config) { c.From = "nobody" }, "from"},
		{"noFrom", func(c *smtpsend.Config) { c.From = "" }, "from"},
		{"passwordWithoutUsername", func(c *smtpsend.Config) { c.Username = "" }, "a password needs a username"},
		{"negativePool", func(c *smtpsend.Config) { c.PoolSize = -1 }, "pool size"},
		{"negativeTimeout", func(c *smtpsend.Config) { c.SendTimeout = -time.Second }, "timeouts"},
		{"badLocalName", func(c *smtpsend.Config) { c.LocalName = "a b" }, "local name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := valid
			tt.edit(&cfg)
			_, err := smtpsend.New(cfg)
			require.ErrorContains(t, err, tt.want)
			require.NotContains(t, err.Error(), "hunter2")
		})
	}

	s, err := smtpsend.New(valid)
	require.NoError(t, err)
	require.NoError(t, s.Close())
}

func BenchmarkSendOverPool(b *testing.B) {
	srv := smtptest.StartSink(b)
	sender, err := smtpsend.New(smtpsend.Config{Host: srv.Host(), Port: srv.Port(), From: "no-reply@oes.test", TLS: smtpsend.TLSNone, PoolSize: 5})
	require.NoError(b, err)
	b.Cleanup(func() { _ = sender.Close() })
	m := message()

	b.SetParallelism(5)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := sender.Send(context.Background(), m); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	require.LessOrEqual(b, srv.Connections(), 5)
}
