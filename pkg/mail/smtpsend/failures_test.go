package smtpsend_test

import (
	"context"
	"crypto/tls"
	"net"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	oesmail "github.com/oeshq/oes/pkg/mail"
	"github.com/oeshq/oes/pkg/mail/smtpsend"
	"github.com/oeshq/oes/pkg/testkit/smtptest"
)

func TestServerRepliesAreClassified(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		fault func(*smtptest.Server)
		class oesmail.Class
		code  int
		reply string
	}{
		{"data550", func(s *smtptest.Server) { s.FailNext(1, 550, "5.1.1", "no such user") }, oesmail.ClassPermanent, 550, "5.1.1 no such user"},
		{"data552", func(s *smtptest.Server) { s.FailNext(1, 552, "5.3.4", "message too big") }, oesmail.ClassPermanent, 552, "5.3.4 message too big"},
		{"data553", func(s *smtptest.Server) { s.FailNext(1, 553, "5.1.3", "bad sender address") }, oesmail.ClassPermanent, 553, "5.1.3 bad sender address"},
		{"data554", func(s *smtptest.Server) { s.FailNext(1, 554, "5.7.1", "spam") }, oesmail.ClassPermanent, 554, "5.7.1 spam"},
		{"data451", func(s *smtptest.Server) { s.FailNext(1, 451, "4.3.0", "try again later") }, oesmail.ClassTemporary, 451, "4.3.0 try again later"},
		{"rcpt550", func(s *smtptest.Server) { s.FailRecipient("bob@example.com", 550, "5.1.1 no such user") }, oesmail.ClassPermanent, 550, "5.1.1 no such user"},
		{"rcpt450", func(s *smtptest.Server) { s.FailRecipient("bob@example.com", 450, "4.2.1 mailbox busy") }, oesmail.ClassTemporary, 450, "4.2.1 mailbox busy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t, nil)
			tt.fault(f.srv)

			err := f.sender.Send(context.Background(), message(), nil)

			d := deliveryError(t, err)
			require.Equal(t, tt.class, d.Class)
			require.Equal(t, tt.code, d.Code)
			require.Equal(t, tt.reply, d.Reply)
			require.Equal(t, tt.class == oesmail.ClassPermanent, oesmail.IsPermanent(err))

			f.srv.AcceptAll()
			require.NoError(t, f.sender.Send(context.Background(), message(), nil))
			require.Len(t, f.srv.Messages(), 1)
		})
	}
}

func TestDroppedConnectionIsNetworkAndNextSendRedials(t *testing.T) {
	t.Parallel()
	f := setup(t, nil)
	require.NoError(t, f.sender.Send(context.Background(), message(), nil))
	f.srv.DropNext(1)

	err := f.sender.Send(context.Background(), message(), nil)

	d := deliveryError(t, err)
	require.Equal(t, oesmail.ClassNetwork, d.Class)
	require.Zero(t, d.Code)
	require.NoError(t, f.sender.Send(context.Background(), message(), nil))
	require.Len(t, f.srv.Messages(), 2)
	require.Equal(t, 2, f.srv.Connections())
}

func TestStalledServerTimesOutAndConnectionIsNotReused(t *testing.T) {
	t.Parallel()
	f := setup(t, func(c *smtpsend.Config) { c.SendTimeout = 200 * time.Millisecond })
	f.srv.Stall(3 * time.Second)

	start := time.Now()
	err := f.sender.Send(context.Background(), message(), nil)

	require.Less(t, time.Since(start), 2*time.Second)
	require.Equal(t, oesmail.ClassNetwork, deliveryError(t, err).Class)
	require.ErrorIs(t, err, os.ErrDeadlineExceeded)
	require.NoError(t, f.sender.Send(context.Background(), message(), nil))
	require.Equal(t, 2, f.srv.Connections(), "the timed-out connection is not reused")
}

func TestCancelledContextEndsASend(t *testing.T) {
	t.Parallel()
	f := setup(t, nil)
	f.srv.Stall(3 * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()

	start := time.Now()
	err := f.sender.Send(ctx, message(), nil)

	require.Less(t, time.Since(start), 2*time.Second)
	require.Equal(t, oesmail.ClassNetwork, deliveryError(t, err).Class)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.NoError(t, f.sender.Send(context.Background(), message(), nil))
	require.Equal(t, 2, f.srv.Connections())
}

func TestIdleConnectionIsRedialled(t *testing.T) {
	t.Parallel()
	f := setup(t, func(c *smtpsend.Config) { c.IdleTimeout = 100 * time.Millisecond })
	require.NoError(t, f.sender.Send(context.Background(), message(), nil))

	time.Sleep(200 * time.Millisecond)
	require.NoError(t, f.sender.Send(context.Background(), message(), nil))

	require.Equal(t, 2, f.srv.Connections())
	require.Eventually(t, func() bool { return f.srv.OpenConnections() == 1 }, 5*time.Second, 5*time.Millisecond,
		"the idle connection is closed, not leaked")
}

func TestConnectionTheServerDroppedIsRedialled(t *testing.T) {
	t.Parallel()
	f := setup(t, nil, smtptest.WithIdleTimeout(100*time.Millisecond))
	require.NoError(t, f.sender.Send(context.Background(), message(), nil))
	require.Eventually(t, func() bool { return f.srv.OpenConnections() == 0 }, 5*time.Second, 5*time.Millisecond)

	require.NoError(t, f.sender.Send(context.Background(), message(), nil), "the pooled connection is dead but the send goes through")

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

	err = sender.Send(context.Background(), message(), nil)

	d := deliveryError(t, err)
	require.Equal(t, oesmail.ClassNetwork, d.Class)
	require.Contains(t, d.Reply, "connect")
}

func TestAuthPlain(t *testing.T) {
	t.Parallel()
	auth := smtptest.WithAuth("mailer", "s3cret-pass")

	t.Run("rightCredentials", func(t *testing.T) {
		t.Parallel()
		f := setup(t, func(c *smtpsend.Config) { c.Username, c.Password = "mailer", "s3cret-pass" }, auth)
		require.NoError(t, f.sender.Send(context.Background(), message(), nil))
		require.Len(t, f.srv.Messages(), 1)
	})
	t.Run("wrongPassword", func(t *testing.T) {
		t.Parallel()
		f := setup(t, func(c *smtpsend.Config) { c.Username, c.Password = "mailer", "wrong-pass" }, auth)
		err := f.sender.Send(context.Background(), message(), nil)
		d := deliveryError(t, err)
		require.Equal(t, 535, d.Code)
		require.Equal(t, oesmail.ClassTemporary, d.Class, "a refused login says nothing about the message")
		require.NotContains(t, err.Error(), "wrong-pass")
		require.NotContains(t, d.Reply, "wrong-pass")
		require.Empty(t, f.srv.Messages())
	})
	t.Run("noCredentials", func(t *testing.T) {
		t.Parallel()
		f := setup(t, nil, auth)
		require.Error(t, f.sender.Send(context.Background(), message(), nil))
		require.Empty(t, f.srv.Messages())
	})
	t.Run("serverWithoutAuth", func(t *testing.T) {
		t.Parallel()
		f := setup(t, func(c *smtpsend.Config) { c.Username, c.Password = "mailer", "s3cret-pass" })
		err := f.sender.Send(context.Background(), message(), nil)
		d := deliveryError(t, err)
		require.Equal(t, oesmail.ClassNetwork, d.Class)
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

			err = sender.Send(context.Background(), message(), nil)

			if tt.wantError != "" {
				d := deliveryError(t, err)
				require.Equal(t, oesmail.ClassNetwork, d.Class)
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
