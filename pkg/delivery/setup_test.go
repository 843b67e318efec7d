package delivery_test

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/delivery"
	"github.com/oeshq/oes/pkg/mail"
	"github.com/oeshq/oes/pkg/queue"
	"github.com/oeshq/oes/pkg/queue/queuetest"
)

// sendFunc is how a fakeSender answers its n-th send to a recipient (n from 1).
type sendFunc func(ctx context.Context, n int, m mail.Message, progress func(int)) error

// fakeSender stands in for the SMTP sender where the SMTP server is not the point; it records
// when each recipient was sent to.
type fakeSender struct {
	send sendFunc
	mu   sync.Mutex
	at   map[string][]time.Time
}

func (s *fakeSender) Send(ctx context.Context, m mail.Message, progress func(int)) error {
	s.mu.Lock()
	to := m.To[0]
	s.at[to] = append(s.at[to], time.Now())
	n := len(s.at[to])
	s.mu.Unlock()
	return s.send(ctx, n, m, progress)
}

// calls returns when each send to the recipient started.
func (s *fakeSender) calls(to string) []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.at[to]...)
}

// deliver is a send that reports the usual progress and succeeds.
func deliver(_ context.Context, _ int, _ mail.Message, progress func(int)) error {
	progress(mail.ProgressConnecting)
	progress(mail.ProgressData)
	progress(mail.ProgressAccepted)
	return nil
}

// logBuffer collects the handler's log lines; the workers write to it concurrently.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type bundle struct {
	ctx     context.Context
	cfg     queue.Config
	client  *queue.Client
	rdb     *redis.Client
	sender  *fakeSender
	handler *delivery.Handler
	logs    *logBuffer
}

// setup gives a test a queue of its own and a handler over a fake sender answering with send;
// the worker is started by start, so that jobs can be queued before it runs.
func setup(t *testing.T, send sendFunc) *bundle {
	t.Helper()
	cfg := queuetest.Config(t)
	b := &bundle{
		ctx:    t.Context(),
		cfg:    cfg,
		client: queuetest.Client(t, cfg),
		rdb:    queuetest.Redis(t, cfg),
		sender: &fakeSender{send: send, at: map[string][]time.Time{}},
		logs:   &logBuffer{},
	}
	log := slog.New(slog.NewTextHandler(b.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	b.handler = delivery.New(b.sender, b.rdb, cfg, log)
	return b
}

func (b *bundle) start(t *testing.T) {
	t.Helper()
	queuetest.StartWorker(t, b.cfg, b.handler)
}

func message(to string) mail.Message {
	return mail.Message{To: []string{to}, Subject: "Your exam results", HTML: "<p>Passed.</p>"}
}

func (b *bundle) enqueue(t *testing.T, to string, opts queue.Options) string {
	t.Helper()
	id, err := b.client.Enqueue(b.ctx, message(to), opts)
	require.NoError(t, err)
	return id
}

func (b *bundle) status(t *testing.T, id string) queue.Status {
	t.Helper()
	return queuetest.Status(t, b.client, id)
}

// waitFor waits until the job's status satisfies ok and returns it.
func (b *bundle) waitFor(t *testing.T, id string, ok func(queue.Status) bool) queue.Status {
	t.Helper()
	return queuetest.WaitFor(t, b.client, id, 20*time.Second, ok)
}

func temporary(code int, reply string) error {
	return &mail.DeliveryError{Class: mail.ClassTemporary, Code: code, Reply: reply}
}

func permanent(code int, reply string) error {
	return &mail.DeliveryError{Class: mail.ClassPermanent, Code: code, Reply: reply}
}
