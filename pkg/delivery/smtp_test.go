package delivery_test

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/delivery"
	"github.com/oeshq/oes/pkg/mail"
	"github.com/oeshq/oes/pkg/mail/smtpsend"
	"github.com/oeshq/oes/pkg/queue"
	"github.com/oeshq/oes/pkg/queue/queuetest"
	"github.com/oeshq/oes/pkg/testkit/smtptest"
)

// The queue, the handler and the pooled SMTP sender against a real SMTP server: a job's status
// reports what the server did and said.
func TestJobsThroughARealSMTPServer(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t)
	sender, err := smtpsend.New(smtpsend.Config{
		Host:        srv.Host(),
		Port:        srv.Port(),
		From:        "OES <no-reply@oes.test>",
		TLS:         smtpsend.TLSNone,
		DialTimeout: 5 * time.Second,
		SendTimeout: 5 * time.Second,
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = sender.Close() })
	cfg := queuetest.Config(t)
	b := &bundle{ctx: t.Context(), cfg: cfg, client: queuetest.Client(t, cfg)}
	handler := delivery.New(sender, queuetest.Redis(t, cfg), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	queuetest.StartWorker(t, cfg, handler)

	t.Run("accepted", func(t *testing.T) {
		held, release := srv.Hold()
		defer release()
		id := b.enqueue(t, "ada@example.com", queue.Options{Priority: 10})

		<-held
		st := b.waitFor(t, id, func(st queue.Status) bool { return st.Progress == mail.ProgressData })
		require.Equal(t, queue.StateActive, st.State, "the data is out, the server has not replied")
		release()

		st = b.waitFor(t, id, queuetest.InState(queue.StateCompleted))
		require.Equal(t, 100, st.Progress)
		msgs := srv.WaitForMessages(t, 1, 5*time.Second)
		require.Equal(t, "Your exam results", msgs[0].Subject)
	})

	t.Run("refused recipient", func(t *testing.T) {
		srv.FailRecipient("nobody@example.com", 550, "5.1.1 no such user")
		id := b.enqueue(t, "nobody@example.com", queue.Options{Attempts: 3})

		st := b.waitFor(t, id, queuetest.InState(queue.StateFailed))
		require.Equal(t, "550 5.1.1 no such user", st.FailedReason)
		require.Equal(t, 1, st.AttemptsMade)
	})

	t.Run("try again later", func(t *testing.T) {
		srv.FailNext(1, 451, "4.3.0", "try again later")
		id := b.enqueue(t, "bob@example.com", queue.Options{Attempts: 3})

		st := b.waitFor(t, id, queuetest.InState(queue.StateRetrying))
		require.Equal(t, "451 4.3.0 try again later", st.FailedReason)
		st = b.waitFor(t, id, queuetest.InState(queue.StateCompleted))
		require.Equal(t, 2, st.AttemptsMade)
	})
}
