package smtpsend_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	oesmail "github.com/oeshq/oes/pkg/infra/mail"
	"github.com/oeshq/oes/pkg/infra/mail/smtpsend"
	"github.com/oeshq/oes/pkg/testkit/smtptest"
)

func TestProbeOpensASessionAndQuits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		edit func(*smtpsend.Config, *smtptest.Server)
		opts []smtptest.Option
	}{
		{"plain", nil, nil},
		{"startTLSWithAuth", func(c *smtpsend.Config, s *smtptest.Server) {
			c.TLS = smtpsend.TLSStartTLS
			c.TLSConfig = &tls.Config{RootCAs: s.RootCAs(), MinVersion: tls.VersionTLS12}
			c.Username, c.Password = "mailer", "s3cret-pass"
		}, []smtptest.Option{smtptest.WithStartTLS(), smtptest.WithAuth("mailer", "s3cret-pass")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := smtptest.Start(t, tt.opts...)
			cfg := smtpsend.Config{Host: srv.Host(), Port: srv.Port(), From: "no-reply@oes.test", TLS: smtpsend.TLSNone, DialTimeout: 5 * time.Second}
			if tt.edit != nil {
				tt.edit(&cfg, srv)
			}
			sender, err := smtpsend.New(cfg)
			require.NoError(t, err)
			t.Cleanup(func() { require.NoError(t, sender.Close()) })

			require.NoError(t, sender.Probe(context.Background()))

			require.Equal(t, 1, srv.Connections())
			require.Eventually(t, func() bool { return srv.OpenConnections() == 0 }, 5*time.Second, 5*time.Millisecond,
				"the probe's session is closed, not left open or pooled")
			require.Zero(t, srv.Transactions(), "a probe sends nothing")

			send(t, sender, message())
			require.Equal(t, 2, srv.Connections(), "a send does not reuse the probe's session")
		})
	}
}

func TestProbeFailsWhenNothingListens(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	require.NoError(t, ln.Close())
	sender, err := smtpsend.New(smtpsend.Config{Host: "127.0.0.1", Port: port, From: "no-reply@oes.test", TLS: smtpsend.TLSNone})
	require.NoError(t, err)
	t.Cleanup(func() { _ = sender.Close() })

	err = sender.Probe(context.Background())

	d := deliveryError(t, err)
	require.Equal(t, oesmail.ClassNetwork, d.Class)
	require.Equal(t, oesmail.StepSession, d.Step)
	require.Contains(t, d.Reply, "connect")
	require.True(t, d.ServerUnavailable())
}

func TestProbeFailsWhenTheSessionCannotBeSetUp(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		opts  []smtptest.Option
		edit  func(*smtpsend.Config)
		down  bool // the server resets every connection
		class oesmail.Class
		code  int
		reply string // in the error's Reply
	}{
		{"startTLSNotOffered", nil, func(c *smtpsend.Config) { c.TLS = smtpsend.TLSStartTLS }, false,
			oesmail.ClassNetwork, 0, "does not offer STARTTLS"},
		{"wrongPassword", []smtptest.Option{smtptest.WithAuth("mailer", "s3cret-pass")},
			func(c *smtpsend.Config) { c.Username, c.Password = "mailer", "wrong-pass" }, false,
			oesmail.ClassTemporary, 535, ""},
		{"authNotOffered", nil, func(c *smtpsend.Config) { c.Username, c.Password = "mailer", "s3cret-pass" }, false,
			oesmail.ClassNetwork, 0, "does not offer AUTH PLAIN"},
		// Reset while connecting or before the greeting, whichever the race gives.
		{"serverDown", nil, nil, true, oesmail.ClassNetwork, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t, tt.edit, tt.opts...)
			if tt.down {
				f.srv.Down()
			}

			err := f.sender.Probe(context.Background())

			d := deliveryError(t, err)
			require.Equal(t, tt.class, d.Class)
			require.Equal(t, oesmail.StepSession, d.Step)
			require.Equal(t, tt.code, d.Code)
			require.Contains(t, d.Reply, tt.reply)
			require.True(t, d.ServerUnavailable(), "a failed probe is an outage")
			require.NotContains(t, err.Error(), "wrong-pass")
			require.NotContains(t, err.Error(), "s3cret-pass")
			require.Zero(t, f.srv.Transactions())
		})
	}
}

func TestProbeAfterCloseFails(t *testing.T) {
	t.Parallel()
	f := setup(t, nil)
	require.NoError(t, f.sender.Close())

	err := f.sender.Probe(context.Background())

	require.True(t, errors.Is(err, smtpsend.ErrClosed), "got %v", err)
	require.Zero(t, f.srv.Connections())
}

func TestProbeEndsWithItsContextWhenTheServerNeverGreets(t *testing.T) {
	t.Parallel()
	// A listener that never accepts: the kernel completes the connection, and no greeting comes.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	sender, err := smtpsend.New(smtpsend.Config{
		Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port, From: "no-reply@oes.test", TLS: smtpsend.TLSNone,
		DialTimeout: 10 * time.Second,
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = sender.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()

	start := time.Now()
	err = sender.Probe(ctx)

	require.Less(t, time.Since(start), 5*time.Second)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	d := deliveryError(t, err)
	require.Equal(t, oesmail.ClassNetwork, d.Class)
	require.Equal(t, oesmail.StepSession, d.Step)
}
