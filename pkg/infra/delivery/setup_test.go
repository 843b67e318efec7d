package delivery_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/infra/delivery"
	"github.com/oeshq/oes/pkg/infra/mail"
	"github.com/oeshq/oes/pkg/infra/mail/smtpsend"
	"github.com/oeshq/oes/pkg/infra/outbox"
	"github.com/oeshq/oes/pkg/infra/queue"
	"github.com/oeshq/oes/pkg/infra/queue/queuetest"
	"github.com/oeshq/oes/pkg/infra/store"
	"github.com/oeshq/oes/pkg/oes"
	"github.com/oeshq/oes/pkg/testkit/logtest"
	"github.com/oeshq/oes/pkg/testkit/pgtest"
	"github.com/oeshq/oes/pkg/testkit/smtptest"
)

// bundle is one test's outbox (a Postgres schema of its own), queue (lanes of its own), SMTP
// server and worker settings; start runs the worker, so that emails can be written first.
type bundle struct {
	ctx      context.Context
	store    *store.Store
	queueCfg queue.Config
	smtp     *smtptest.Server
	sender   delivery.Sender
	handler  delivery.Config
	relay    outbox.RelayConfig
	observer delivery.Observer
	onPause  func(string, bool)
	logs     *logtest.Buffer
}

func setup(t *testing.T) *bundle {
	t.Helper()
	b := &bundle{
		ctx:      t.Context(),
		store:    store.New(pgtest.New(t)),
		queueCfg: queuetest.Config(t),
		smtp:     smtptest.Start(t),
		// Retries that can be watched within a test; the window is the default.
		handler: delivery.Config{RetryBase: time.Second, RetryMax: 4 * time.Second, OutageRetry: time.Second},
		relay:   outbox.RelayConfig{Tick: 100 * time.Millisecond},
		logs:    &logtest.Buffer{},
	}
	sender, err := smtpsend.New(smtpsend.Config{
		Host: b.smtp.Host(), Port: b.smtp.Port(), TLS: smtpsend.TLSNone, From: "OES <no-reply@oes.test>",
		DialTimeout: 2 * time.Second, SendTimeout: 5 * time.Second,
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = sender.Close() })
	b.sender = sender
	return b
}

// start runs a worker (relay, breakers, handler) until the test ends.
func (b *bundle) start(t *testing.T) *delivery.Worker {
	t.Helper()
	w, err := delivery.StartWorker(delivery.WorkerConfig{
		Queue: b.queueCfg, Store: b.store, Sender: b.sender, Handler: b.handler, Relay: b.relay,
		Log:      slog.New(slog.NewTextHandler(b.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Observer: b.observer, OnPause: b.onPause,
	})
	require.NoError(t, err)
	t.Cleanup(func() {
		w.Shutdown()
		if t.Failed() {
			t.Logf("worker log:\n%s", b.logs.String())
		}
	})
	return w
}

func message(to string) mail.Message {
	return mail.Message{To: []string{to}, Subject: "Your exam results", Text: "Passed.", HTML: "<p>Passed.</p>"}
}

// write records an email to to in the outbox, as a producer's transaction would.
func (b *bundle) write(t *testing.T, to string, attempts int) int64 {
	t.Helper()
	id, err := b.store.InsertEmail(b.ctx, store.NewEmail{
		Kind: oes.EmailGeneric, Message: message(to), Priority: 5, MaxAttempts: attempts,
	})
	require.NoError(t, err)
	return id
}

func (b *bundle) email(t *testing.T, id int64) oes.Email {
	t.Helper()
	e, err := b.store.GetEmail(b.ctx, id)
	require.NoError(t, err)
	return e
}

// waitFor waits until email id satisfies ok and returns it.
func (b *bundle) waitFor(t *testing.T, id int64, timeout time.Duration, ok func(oes.Email) bool) oes.Email {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		e, err := b.store.GetEmail(b.ctx, id)
		if err == nil && ok(e) {
			return e
		}
		if time.Now().After(deadline) {
			t.Fatalf("email %d never reached the awaited state; last: %+v (err %v)", id, e, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func inState(s oes.EmailState) func(oes.Email) bool {
	return func(e oes.Email) bool { return e.State == s }
}

// waitAll waits until every email of ids is in state s.
func (b *bundle) waitAll(t *testing.T, ids []int64, s oes.EmailState, timeout time.Duration) {
	t.Helper()
	for _, id := range ids {
		b.waitFor(t, id, timeout, inState(s))
	}
}

func addr(i int) string { return fmt.Sprintf("student%d@example.com", i) }

// fakeSender stands in for the SMTP sender where the server's behaviour cannot be produced by
// a real one (an error that is not a delivery failure); it answers with send.
type fakeSender struct {
	send  func(n int) (string, error)
	mu    sync.Mutex
	calls int
}

func (s *fakeSender) Send(context.Context, mail.Message) (string, error) {
	s.mu.Lock()
	s.calls++
	n := s.calls
	s.mu.Unlock()
	return s.send(n)
}

func (s *fakeSender) Probe(context.Context) error { return nil }
