package queue_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/mail"
	"github.com/oeshq/oes/pkg/oes"
	"github.com/oeshq/oes/pkg/queue"
	"github.com/oeshq/oes/pkg/queue/queuetest"
	"github.com/oeshq/oes/pkg/testkit/redistest"
)

type bundle struct {
	ctx    context.Context
	cfg    queue.Config
	client *queue.Client
}

// setup gives a test an empty queue of its own.
func setup(t *testing.T) *bundle {
	t.Helper()
	cfg := queuetest.Config(t)
	return &bundle{ctx: t.Context(), cfg: cfg, client: queuetest.Client(t, cfg)}
}

func message(to string) mail.Message {
	return mail.Message{To: []string{to}, Subject: "Verify your email", Text: "Follow the link to verify."}
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

func (b *bundle) counts(t *testing.T) queue.Counts {
	t.Helper()
	n, err := b.client.Counts(b.ctx)
	require.NoError(t, err)
	return n
}

// requireCode fails unless err is an *oes.Error with the code.
func requireCode(t *testing.T, code string, err error) *oes.Error {
	t.Helper()
	var e *oes.Error
	require.ErrorAs(t, err, &e)
	require.Equal(t, code, e.Code, "error: %v", err)
	return e
}

func TestEnqueueReturnsAnIDAndTheJobWaits(t *testing.T) {
	t.Parallel()
	b := setup(t)

	id := b.enqueue(t, "ada@example.com", queue.Options{Priority: 9, Attempts: 4})

	require.NotEmpty(t, id)
	require.Equal(t, queue.Status{
		ID:              id,
		State:           queue.StateWaiting,
		Queue:           b.cfg.QueueName(queue.LaneCritical),
		Priority:        9,
		AttemptsAllowed: 4,
		Recipients:      []string{"ada@example.com"},
		Subject:         "Verify your email",
	}, b.status(t, id))
	require.Equal(t, queue.Counts{Waiting: 1}, b.counts(t))
}

func TestEnqueueDefaultsToPriority5AndThreeAttempts(t *testing.T) {
	t.Parallel()
	b := setup(t)

	st := b.status(t, b.enqueue(t, "ada@example.com", queue.Options{}))

	require.Equal(t, 5, st.Priority)
	require.Equal(t, b.cfg.QueueName(queue.LaneDefault), st.Queue)
	require.Equal(t, 3, st.AttemptsAllowed)
	require.Zero(t, st.AttemptsMade)
}

func TestEnqueueDefaultsToTheConfiguredAttempts(t *testing.T) {
	t.Parallel()
	cfg := queuetest.Config(t)
	cfg.Attempts = 4
	b := &bundle{ctx: t.Context(), cfg: cfg, client: queuetest.Client(t, cfg)}

	require.Equal(t, 4, b.status(t, b.enqueue(t, "ada@example.com", queue.Options{})).AttemptsAllowed)
	require.Equal(t, 2, b.status(t, b.enqueue(t, "bob@example.com", queue.Options{Attempts: 2})).AttemptsAllowed,
		"a producer's own count wins")
}

func TestEnqueueWithDelayIsDelayedUntilAWholeSecondAfterIt(t *testing.T) {
	t.Parallel()
	b := setup(t)
	before := time.Now()

	st := b.status(t, b.enqueue(t, "ada@example.com", queue.Options{Delay: 1500 * time.Millisecond, Priority: 2}))

	require.Equal(t, queue.StateDelayed, st.State)
	require.Equal(t, b.cfg.QueueName(queue.LaneLow), st.Queue)
	require.NotNil(t, st.NextRunAt)
	require.False(t, st.NextRunAt.Before(before.Add(1500*time.Millisecond)), "runs at %v, before its delay", st.NextRunAt)
	require.True(t, st.NextRunAt.Before(time.Now().Add(2500*time.Millisecond)), "runs at %v", st.NextRunAt)
	require.Equal(t, queue.Counts{Delayed: 1}, b.counts(t))
}

func TestEnqueueRefusesInvalidInputAndQueuesNothing(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ok := message("ada@example.com")
	with := func(f func(*mail.Message)) mail.Message {
		m := ok
		f(&m)
		return m
	}

	for _, tc := range []struct {
		name  string
		msg   mail.Message
		opts  queue.Options
		field string
	}{
		{"bad address", with(func(m *mail.Message) { m.To = []string{"not an address"} }), queue.Options{}, "to[0]"},
		{"no recipient", with(func(m *mail.Message) { m.To = nil }), queue.Options{}, "to"},
		{"CRLF in subject", with(func(m *mail.Message) { m.Subject = "Hi\r\nBcc: eve@example.com" }), queue.Options{}, "subject"},
		{"subject over 998 bytes", with(func(m *mail.Message) { m.Subject = strings.Repeat("s", 999) }), queue.Options{}, "subject"},
		{"body over 256 KiB", with(func(m *mail.Message) { m.HTML = strings.Repeat("b", 256<<10+1) }), queue.Options{}, "html"},
		{"no body", with(func(m *mail.Message) { m.Text = "" }), queue.Options{}, "body"},
		{"priority 11", ok, queue.Options{Priority: 11}, "priority"},
		{"priority -1", ok, queue.Options{Priority: -1}, "priority"},
		{"attempts 26", ok, queue.Options{Attempts: 26}, "attempts"},
		{"attempts -1", ok, queue.Options{Attempts: -1}, "attempts"},
		{"negative delay", ok, queue.Options{Delay: -time.Second}, "delay"},
		{"id with a space", ok, queue.Options{ID: "verify 42"}, "id"},
		{"id over 100 characters", ok, queue.Options{ID: strings.Repeat("i", 101)}, "id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, err := b.client.Enqueue(b.ctx, tc.msg, tc.opts)

			require.Empty(t, id)
			e := requireCode(t, oes.EINVALID, err)
			var fields []string
			for _, f := range e.Fields {
				fields = append(fields, f.Field)
			}
			require.Contains(t, fields, tc.field)
		})
	}
	require.Equal(t, queue.Counts{}, b.counts(t))
}

func TestEnqueueReturnsTheMessageErrorAsIs(t *testing.T) {
	t.Parallel()
	b := setup(t)
	msg := message("ada@example.com")
	msg.Subject = ""

	_, err := b.client.Enqueue(b.ctx, msg, queue.Options{Priority: 99})

	require.Equal(t, msg.Validate(), err, "the message is checked first, and its error not rewrapped")
}

func TestEnqueueWithIDIsIdempotent(t *testing.T) {
	t.Parallel()
	b := setup(t)

	first := b.enqueue(t, "ada@example.com", queue.Options{ID: "verify:token-42", Priority: 10})
	again := b.enqueue(t, "ada@example.com", queue.Options{ID: "verify:token-42", Priority: 10})
	otherLane := b.enqueue(t, "ada@example.com", queue.Options{ID: "verify:token-42", Priority: 1})

	require.Equal(t, "verify:token-42", first)
	require.Equal(t, first, again)
	require.Equal(t, first, otherLane)
	require.Equal(t, queue.Counts{Waiting: 1}, b.counts(t))
	require.Equal(t, b.cfg.QueueName(queue.LaneCritical), b.status(t, first).Queue)
}

func TestEnqueueWithIDStaysIdempotentAfterTheJobCompleted(t *testing.T) {
	t.Parallel()
	b := setup(t)
	runs := make(chan string, 10)
	queuetest.StartWorker(t, b.cfg, asynq.HandlerFunc(func(ctx context.Context, _ *asynq.Task) error {
		id, _ := asynq.GetTaskID(ctx)
		runs <- id
		return nil
	}))

	id := b.enqueue(t, "ada@example.com", queue.Options{ID: "welcome-7"})
	queuetest.WaitFor(t, b.client, id, 10*time.Second, queuetest.InState(queue.StateCompleted))
	again := b.enqueue(t, "ada@example.com", queue.Options{ID: "welcome-7"})

	require.Equal(t, id, again)
	require.Equal(t, queue.Counts{Completed: 1}, b.counts(t))
	require.Equal(t, "welcome-7", <-runs)
	require.Empty(t, runs, "the job ran once")
}

func TestStatusOfAnUnknownJobIsNotFound(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.enqueue(t, "ada@example.com", queue.Options{}) // the lanes exist

	for _, id := range []string{"no-such-job", "not/an id", ""} {
		_, err := b.client.Status(b.ctx, id)
		requireCode(t, oes.ENOTFOUND, err)
	}
}

func TestNewRefusesABadURLWithoutRepeatingThePassword(t *testing.T) {
	t.Parallel()
	for _, url := range []string{
		"redis://:s3cret-pw@localhost:notaport/0",
		"redis://:s3cret-pw@localhost:6379/notadb",
		"http://:s3cret-pw@localhost:6379/0",
		"redis://user:s3cret-pw@local host/0",
	} {
		cfg := queue.DefaultConfig()
		cfg.RedisURL = url
		_, err := queue.New(cfg)
		require.Error(t, err, url)
		require.NotContains(t, err.Error(), "s3cret-pw")
	}
}

func TestNewRefusesAnUnusableConfig(t *testing.T) {
	t.Parallel()
	for name, f := range map[string]func(*queue.Config){
		"prefix with a space":           func(c *queue.Config) { c.QueuePrefix = "e mail" },
		"prefix with a brace":           func(c *queue.Config) { c.QueuePrefix = "email{x}" },
		"retention below a second":      func(c *queue.Config) { c.Retention = 500 * time.Millisecond },
		"retry max below base":          func(c *queue.Config) { c.RetryBase, c.RetryMax = time.Minute, time.Second },
		"delivered ttl below the retry": func(c *queue.Config) { c.DeliveredTTL = time.Hour },
	} {
		cfg := queue.DefaultConfig()
		f(&cfg)
		_, err := queue.New(cfg)
		require.Error(t, err, name)
	}
	require.NoError(t, queue.DefaultConfig().Validate())
	require.NoError(t, queue.Config{}.Validate(), "zero fields take the defaults")
}

func TestAStoppedRedisIsUnavailable(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	cfg := queuetest.ConfigAt(t, srv.URL())
	client := queuetest.Client(t, cfg)
	ctx := t.Context()
	id, err := client.Enqueue(ctx, message("ada@example.com"), queue.Options{})
	require.NoError(t, err)

	srv.Stop()

	_, err = client.Enqueue(ctx, message("ada@example.com"), queue.Options{})
	requireUnavailable(t, err, srv.Addr())
	_, err = client.Enqueue(ctx, message("ada@example.com"), queue.Options{ID: "with-id"})
	requireUnavailable(t, err, srv.Addr())
	_, err = client.Status(ctx, id)
	requireUnavailable(t, err, srv.Addr())
	_, err = client.Counts(ctx)
	requireUnavailable(t, err, srv.Addr())
	_, err = client.Failed(ctx, 1, 10)
	requireUnavailable(t, err, srv.Addr())
	_, err = client.Active(ctx, 1, 10)
	requireUnavailable(t, err, srv.Addr())
	requireUnavailable(t, client.Retry(ctx, id), srv.Addr())
	requireUnavailable(t, client.Ping(ctx), srv.Addr())
}

func requireUnavailable(t *testing.T, err error, addr string) {
	t.Helper()
	e := requireCode(t, oes.EUNAVAILABLE, err)
	require.NotContains(t, e.Message, addr, "the message shows no internals")
	require.NotNil(t, errors.Unwrap(e), "the cause is kept for logs")
}

func TestContextBoundsTheWait(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx, cancel := context.WithCancel(b.ctx)
	cancel()

	_, err := b.client.Status(ctx, "any-id")

	require.ErrorIs(t, err, context.Canceled)
}
