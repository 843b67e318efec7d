package smtpsend_test

import (
	"context"
	"crypto/tls"
	"net"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	oesmail "github.com/oeshq/oes/pkg/infra/mail"
	"github.com/oeshq/oes/pkg/infra/mail/smtpsend"
	"github.com/oeshq/oes/pkg/testkit/smtptest"
)

func TestServerRepliesAreClassified(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		fault       func(*smtptest.Server)
		class       oesmail.Class
		step        oesmail.Step
		code        int
		reply       string
		unavailable bool // ServerUnavailable
		refused     bool // RecipientRefused
	}{
		{"data550", func(s *smtptest.Server) { s.FailNext(1, 550, "5.1.1", "no such user") }, oesmail.ClassPermanent, oesmail.StepData, 550, "5.1.1 no such user", false, true},
		{"data552", func(s *smtptest.Server) { s.FailNext(1, 552, "5.3.4", "message too big") }, oesmail.ClassPermanent, oesmail.StepData, 552, "5.3.4 message too big", false, false},
		{"data553", func(s *smtptest.Server) { s.FailNext(1, 553, "5.1.3", "bad recipient address syntax") }, oesmail.ClassPermanent, oesmail.StepData, 553, "5.1.3 bad recipient address syntax", false, true},
		{"data554", func(s *smtptest.Server) { s.FailNext(1, 554, "5.7.1", "spam") }, oesmail.ClassPermanent, oesmail.StepData, 554, "5.7.1 spam", false, false},
		{"data451", func(s *smtptest.Server) { s.FailNext(1, 451, "4.3.0", "try again later") }, oesmail.ClassTemporary, oesmail.StepData, 451, "4.3.0 try again later", false, false},
		{"data421", func(s *smtptest.Server) { s.FailNext(1, 421, "4.3.2", "shutting down") }, oesmail.ClassTemporary, oesmail.StepData, 421, "4.3.2 shutting down", true, false},
		{"rcpt550", func(s *smtptest.Server) { s.FailRecipient("bob@example.com", 550, "5.1.1 no such user") }, oesmail.ClassPermanent, oesmail.StepRecipient, 550, "5.1.1 no such user", false, true},
		{"rcpt554Policy", func(s *smtptest.Server) { s.FailRecipient("bob@example.com", 554, "5.7.1 relay denied") }, oesmail.ClassPermanent, oesmail.StepRecipient, 554, "5.7.1 relay denied", false, false},
		{"rcpt450", func(s *smtptest.Server) { s.FailRecipient("bob@example.com", 450, "4.2.1 mailbox busy") }, oesmail.ClassTemporary, oesmail.StepRecipient, 450, "4.2.1 mailbox busy", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t, nil)
			tt.fault(f.srv)

			reply, err := f.sender.Send(context.Background(), message())

			require.Empty(t, reply)
			d := deliveryError(t, err)
			require.Equal(t, tt.class, d.Class)
			require.Equal(t, tt.step, d.Step)
			require.Equal(t, tt.code, d.Code)
			require.Equal(t, tt.reply, d.Reply)
			require.Equal(t, tt.class == oesmail.ClassPermanent, oesmail.IsPermanent(err))
			require.Equal(t, tt.unavailable, d.ServerUnavailable(), "ServerUnavailable")
			require.Equal(t, tt.refused, d.RecipientRefused(), "RecipientRefused")

			f.srv.AcceptAll()
			send(t, f.sender, message())
			require.Len(t, f.srv.Messages(), 1)
		})
	}
}

func TestDroppedConnectionIsNetworkAndNextSendRedials(t *testing.T) {
	t.Parallel()
	f := setup(t, nil)
	send(t, f.sender, message())
	f.srv.DropNext(1)

	_, err := f.sender.Send(context.Background(), message())

	d := deliveryError(t, err)
	require.Equal(t, oesmail.ClassNetwork, d.Class)
	require.Equal(t, oesmail.StepData, d.Step, "the drop came after DATA: %v", err)
	require.Zero(t, d.Code)
	require.True(t, d.ServerUnavailable())
	send(t, f.sender, message())
	require.Len(t, f.srv.Messages(), 2)
	require.Equal(t, 2, f.srv.Connections())
}

func TestServerOutageFailsAtTheSessionAndIsUnavailable(t *testing.T) {
	t.Parallel()
	f := setup(t, nil)
	send(t, f.sender, message())
	f.srv.Down()

	reply, err := f.sender.Send(context.Background(), message())

	require.Empty(t, reply)
	d := deliveryError(t, err)
	require.Equal(t, oesmail.ClassNetwork, d.Class)
	// The pooled connection fails at MAIL FROM and counts as stale; the fresh one is reset
	// before the greeting, which is where the send gives up.
	require.Equal(t, oesmail.StepSession, d.Step, "%v", err)
	require.True(t, d.ServerUnavailable())
	require.False(t, d.RecipientRefused())

	f.srv.Up()
	send(t, f.sender, message())
	require.Len(t, f.srv.Messages(), 2)
	require.Equal(t, 2, f.srv.Connections(), "the send after the outage dials anew")
}

func TestStalledServerTimesOutAndConnectionIsNotReused(t *testing.T) {
	t.Parallel()
	f := setup(t, func(c *smtpsend.Config) { c.SendTimeout = 200 * time.Millisecond })
	f.srv.Stall(3 * time.Second)

	start := time.Now()
	_, err := f.sender.Send(context.Background(), message())

	require.Less(t, time.Since(start), 2*time.Second)
	d := deliveryError(t, err)
	require.Equal(t, oesmail.ClassNetwork, d.Class)
	require.Equal(t, oesmail.StepData, d.Step, "the server stalled on its reply to the data")
	require.ErrorIs(t, err, os.ErrDeadlineExceeded)
	send(t, f.sender, message())
	require.Equal(t, 2, f.srv.Connections(), "the timed-out connection is not reused")
}

func TestCancelledContextEndsASend(t *testing.T) {
	t.Parallel()
	f := setup(t, nil)
	f.srv.Stall(3 * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()

	start := time.Now()
	_, err := f.sender.Send(ctx, message())

	require.Less(t, time.Since(start), 2*time.Second)
	d := deliveryError(t, err)
	require.Equal(t, oesmail.ClassNetwork, d.Class)
	require.Equal(t, oesmail.StepData, d.Step, "the send was waiting for the reply to the data")
	require.ErrorIs(t, err, context.DeadlineExceeded)
	send(t, f.sender, message())
	require.Equal(t, 2, f.srv.Connections())
}

func TestIdleConnectionIsRedialled(t *testing.T) {
	t.Parallel()
	f := setup(t, func(c *smtpsend.Config) { c.IdleTimeout = 100 * time.Millisecond })
	send(t, f.sender, message())

	time.Sleep(200 * time.Millisecond)
	send(t, f.sender, message())

	require.Equal(t, 2, f.srv.Connections())
	require.Eventually(t, func() bool { return f.srv.OpenConnections() == 1 }, 5*time.Second, 5*time.Millisecond,
		"the idle connection is closed, not leaked")
}

func TestConnectionTheServerDroppedIsRedialled(t *testing.T) {
	t.Parallel()
	f := setup(t, nil, smtptest.WithIdleTimeout(100*time.Millisecond))
	send(t, f.sender, message())
	require.Eventually(t, func() bool { return f.srv.OpenConnections() == 0 }, 5*time.Second, 5*time.Millisecond)

	reply, err := f.sender.Send(context.Background(), message())
	require.NoError(t, err, "the pooled connection is dead but the send goes through")
	require.Equal(t, accepted, reply)

	require.Equal(t, 2, f.srv.Connections())
	require.Len(t, f.srv.Messages(), 2)
}

func TestDialFailureIsNetwork(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	require.NoError(t, ln.Close())
	sender, err := smtpsend.New(smtpsend.Config{Host: "127.0.0.1", Port: port, From: "no-reply@oes.test", TLS: smtpsend.TLSNone})
	require.NoError(t, err)
	t.Cleanup(func() { _ = sender.Close() })

	_, err = sender.Send(context.Background(), message())

	d := deliveryError(t, err)
	require.Equal(t, oesmail.ClassNetwork, d.Class)
	require.Equal(t, oesmail.StepSession, d.Step)
	require.Contains(t, d.Reply, "connect")
	require.True(t, d.ServerUnavailable())
}

func TestAuthPlain(t *testing.T) {
	t.Parallel()
	auth := smtptest.WithAuth("mailer", "s3cret-pass")

	t.Run("rightCredentials", func(t *testing.T) {
		t.Parallel()
		f := setup(t, func(c *smtpsend.Config) { c.Username, c.Password = "mailer", "s3cret-pass" }, auth)
		send(t, f.sender, message())
		require.Len(t, f.srv.Messages(), 1)
	})
	t.Run("wrongPassword", func(t *testing.T) {
		t.Parallel()
		f := setup(t, func(c *smtpsend.Config) { c.Username, c.Password = "mailer", "wrong-pass" }, auth)
		_, err := f.sender.Send(context.Background(), message())
		d := deliveryError(t, err)
		require.Equal(t, 535, d.Code)
		require.Equal(t, oesmail.ClassTemporary, d.Class, "a refused login says nothing about the message")
		require.Equal(t, oesmail.StepSession, d.Step)
		require.True(t, d.ServerUnavailable(), "no email can go out with this login")
		require.NotContains(t, err.Error(), "wrong-pass")
		require.NotContains(t, d.Reply, "wrong-pass")
		require.Empty(t, f.srv.Messages())
	})
	t.Run("noCredentials", func(t *testing.T) {
		t.Parallel()
		f := setup(t, nil, auth)
		_, err := f.sender.Send(context.Background(), message())
		d := deliveryError(t, err)
		// The server lets the session start and refuses at MAIL FROM (go-smtp: 502 5.7.0).
		require.Equal(t, oesmail.StepSender, d.Step)
		require.Equal(t, 502, d.Code)
		require.Empty(t, f.srv.Messages())
	})
	t.Run("serverWithoutAuth", func(t *testing.T) {
		t.Parallel()
		f := setup(t, func(c *smtpsend.Config) { c.Username, c.Password = "mailer", "s3cret-pass" })
		_, err := f.sender.Send(context.Background(), message())
		d := deliveryError(t, err)
		require.Equal(t, oesmail.ClassNetwork, d.Class)
		require.Equal(t, oesmail.StepSession, d.Step)
		require.Contains(t, d.Reply, "AUTH PLAIN")
	})
}

func TestTLSModes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		mode      string
		opts      []smtptest.Option
		trust     bool
		wantTLS   bool
		wantError string // in the network error's reply; "" means delivered
	}{
		{"implicitTLS", smtpsend.TLSImplicit, []smtptest.Option{smtptest.WithTLS()}, true, true, ""},
		{"implicitTLSAgainstPlainServer", smtpsend.TLSImplicit, nil, true, false, "TLS handshake"},
		{"startTLS", smtpsend.TLSStartTLS, []smtptest.Option{smtptest.WithStartTLS()}, true, true, ""},
		{"startTLSNotOffered", smtpsend.TLSStartTLS, nil, true, false, "does not offer STARTTLS"},
		{"startTLSUntrustedCertificate", smtpsend.TLSStartTLS, []smtptest.Option{smtptest.WithStartTLS()}, false, false, "certificate"},
		{"noneIgnoresOfferedStartTLS", smtpsend.TLSNone, []smtptest.Option{smtptest.WithStartTLS()}, false, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := smtptest.Start(t, tt.opts...)
			cfg := smtpsend.Config{Host: srv.Host(), Port: srv.Port(), From: "no-reply@oes.test", TLS: tt.mode, DialTimeout: 2 * time.Second}
			if tt.trust {
				cfg.TLSConfig = &tls.Config{RootCAs: srv.RootCAs(), MinVersion: tls.VersionTLS12}
			}
			sender, err := smtpsend.New(cfg)
			require.NoError(t, err)
			t.Cleanup(func() { _ = sender.Close() })

			_, err = sender.Send(context.Background(), message())

			if tt.wantError != "" {
				d := deliveryError(t, err)
				require.Equal(t, oesmail.ClassNetwork, d.Class)
				require.Equal(t, oesmail.StepSession, d.Step)
				require.Contains(t, d.Reply, tt.wantError)
				require.Empty(t, srv.Messages())
				return
			}
			require.NoError(t, err)
			msgs := srv.Messages()
			require.Len(t, msgs, 1)
			require.Equal(t, tt.wantTLS, msgs[0].TLS)
		})
	}
}
