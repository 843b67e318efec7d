package delivery_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/infra/mail"
	"github.com/oeshq/oes/pkg/infra/queue"
	"github.com/oeshq/oes/pkg/oes"
)

func TestAnEmailIsDeliveredAndItsRowKeepsTheServersReply(t *testing.T) {
	t.Parallel()
	b := setup(t)
	id := b.write(t, "ada@example.com", 3)
	b.start(t)

	e := b.waitFor(t, id, 10*time.Second, inState(oes.EmailDelivered))
	require.Equal(t, 1, e.AttemptsMade)
	require.Equal(t, 0, e.Deferrals)
	require.True(t, strings.HasPrefix(e.SMTPReply, "250 "), "reply %q", e.SMTPReply)
	require.NotNil(t, e.FinishedAt)
	got := b.smtp.WaitForMessages(t, 1, 5*time.Second)
	require.Len(t, got, 1)
	require.Equal(t, []string{"ada@example.com"}, got[0].To)
	require.Equal(t, "Your exam results", got[0].Subject)
	b.logs.RequireLine(t, "email job "+queue.TaskID(id)+" completed", 10*time.Second)
}

func TestA5xxToTheRecipientFailsAtOnceAndSuppressesTheAddress(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.smtp.FailRecipient("gone@example.com", 550, "5.1.1 no such user")
	first := b.write(t, "gone@example.com", 5)
	b.start(t)

	e := b.waitFor(t, first, 10*time.Second, inState(oes.EmailFailed))
	require.Equal(t, "550 5.1.1 no such user", e.LastError)
	require.Equal(t, 1, e.AttemptsMade, "one try, not five")
	list, err := b.store.ListSuppressions(b.ctx, 1, 10)
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Equal(t, "gone@example.com", list[0].Address)
	require.Equal(t, "550 5.1.1 no such user", list[0].Reason)

	// A later email to the address, even written differently, is not sent at all.
	tries := b.smtp.Transactions()
	second := b.write(t, "Gone@Example.com", 5)
	e = b.waitFor(t, second, 10*time.Second, inState(oes.EmailSuppressed))
	require.Equal(t, 0, e.AttemptsMade)
	require.Equal(t, tries, b.smtp.Transactions(), "no transaction for a suppressed address")

	// Once an admin removes the address and retries the email, it goes.
	b.smtp.AcceptAll()
	require.NoError(t, b.store.DeleteSuppression(b.ctx, "gone@example.com"))
	require.NoError(t, b.store.RetryEmail(b.ctx, second))
	b.waitFor(t, second, 10*time.Second, inState(oes.EmailDelivered))
}

func TestA5xxToTheDataFailsAtOnceWithoutSuppressing(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.smtp.FailNext(1, 554, "5.7.1", "message refused as spam")
	id := b.write(t, "ada@example.com", 5)
	b.start(t)

	e := b.waitFor(t, id, 10*time.Second, inState(oes.EmailFailed))
	require.Equal(t, "554 5.7.1 message refused as spam", e.LastError)
	list, err := b.store.ListSuppressions(b.ctx, 1, 10)
	require.NoError(t, err)
	require.Empty(t, list, "the message was refused, not the address")

	// An admin's retry replaces the failed task and the email goes.
	require.NoError(t, b.store.RetryEmail(b.ctx, id))
	e = b.waitFor(t, id, 10*time.Second, inState(oes.EmailDelivered))
	require.Equal(t, 1, e.AttemptsMade, "a retry counts afresh")
}

// A server that asks to try later (greylisting) is not judging the email: the email waits and
// goes, with no attempt spent.
func TestA4xxDefersTheEmailWithoutSpendingAnAttempt(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.smtp.FailNext(2, 451, "4.7.1", "greylisted, try again later")
	id := b.write(t, "ada@example.com", 1)
	b.start(t)

	e := b.waitFor(t, id, 20*time.Second, inState(oes.EmailDelivered))
	require.Equal(t, 2, e.Deferrals)
	require.Equal(t, 1, e.AttemptsMade, "one attempt allowed, and two deferrals did not spend it")
	b.logs.RequireLine(t, "deferred: 451 4.7.1 greylisted, try again later", 10*time.Second)
}

// The seed's pipeline failed every queued email for good within seconds of an SMTP outage.
// Here the outage spends no attempt, the worker stops taking emails while the server is down
// instead of trying each one, and every email goes once the server is back.
func TestAnSMTPOutageSpendsNoAttemptAndEveryEmailGoesWhenTheServerReturns(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var mu sync.Mutex
	var pauses []bool
	b.onPause = func(dep string, paused bool) {
		if dep == "smtp" {
			mu.Lock()
			pauses = append(pauses, paused)
			mu.Unlock()
		}
	}
	b.smtp.Down()
	var ids []int64
	for i := range 20 {
		ids = append(ids, b.write(t, addr(i), 1))
	}
	b.start(t)

	time.Sleep(5 * time.Second)
	deferrals := 0
	for _, id := range ids {
		e := b.email(t, id)
		require.NotEqual(t, oes.EmailFailed, e.State, "an outage fails nothing")
		require.Equal(t, 0, e.AttemptsMade)
		deferrals += e.Deferrals
	}
	// Without a breaker, 20 emails retried every second would have been tried about 100
	// times; the breaker opens after 3 failures and the rest wait in the queue.
	require.LessOrEqual(t, deferrals, 12, "tries during the outage")

	b.smtp.Up()
	back := time.Now()
	b.waitAll(t, ids, oes.EmailDelivered, 30*time.Second)
	t.Logf("20 emails delivered %s after the server returned, %d tries deferred during a 5s outage",
		time.Since(back).Round(time.Millisecond), deferrals)
	for _, id := range ids {
		require.Equal(t, 1, b.email(t, id).AttemptsMade)
	}
	require.Len(t, b.smtp.Messages(), 20, "each email once")
	mu.Lock()
	require.Equal(t, []bool{true, false}, pauses, "paused once, resumed once")
	mu.Unlock()
}

func TestAnEmailHeldBackLongerThanTheRetryWindowFailsWithTheReason(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.handler.RetryWindow = 2 * time.Second
	b.smtp.FailNext(100, 452, "4.2.2", "mailbox full")
	id := b.write(t, "ada@example.com", 5)
	b.start(t)

	e := b.waitFor(t, id, 20*time.Second, inState(oes.EmailFailed))
	require.Equal(t, "undeliverable for over 2s: 452 4.2.2 mailbox full", e.LastError)
	require.Positive(t, e.Deferrals)
}

func TestFailuresThatAreNotTheServersSpendAttemptsUntilNoneIsLeft(t *testing.T) {
	t.Parallel()
	b := setup(t)
	sender := &fakeSender{send: func(int) (string, error) { return "", errors.New("the message could not be encoded") }}
	b.sender = sender
	id := b.write(t, "ada@example.com", 2)
	b.start(t)

	e := b.waitFor(t, id, 20*time.Second, inState(oes.EmailFailed))
	require.Equal(t, 2, e.AttemptsMade)
	require.Equal(t, 2, e.AttemptsAllowed)
	require.Equal(t, "the message could not be encoded", e.LastError)
	// The worker logs the failure once it is recorded, so the log may trail the row a little.
	require.Eventually(t, func() bool {
		return strings.Contains(b.logs.String(), "failed (attempt 2/2): the message could not be encoded")
	}, 5*time.Second, 10*time.Millisecond, "the failure is logged with its attempt")
}

// A delivery that times out or is cut off tells nothing about the email: it is not failed, and
// the email goes on the next try.
func TestADroppedConnectionDefersTheEmail(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.smtp.DropNext(1)
	id := b.write(t, "ada@example.com", 1)
	b.start(t)

	e := b.waitFor(t, id, 20*time.Second, inState(oes.EmailDelivered))
	require.Equal(t, 1, e.Deferrals)
	require.Equal(t, 1, e.AttemptsMade)
}

func TestCancelledEmailsAreNotSent(t *testing.T) {
	t.Parallel()
	b := setup(t)
	cancelled := b.write(t, "ada@example.com", 3)
	kept := b.write(t, "bob@example.com", 3)
	require.NoError(t, b.store.CancelEmail(b.ctx, cancelled, "cancelled by an admin"))
	w := b.start(t)

	b.waitFor(t, kept, 10*time.Second, inState(oes.EmailDelivered))
	require.Equal(t, oes.EmailCancelled, b.email(t, cancelled).State)
	for _, m := range b.smtp.Messages() {
		require.NotEqual(t, []string{"ada@example.com"}, m.To)
	}
	require.Equal(t, 1, w.Relay().Stats().Relayed, "a cancelled email is not relayed")
}

// An email a worker took but whose row moved on meanwhile (an admin cancelled it after the
// relay queued it) completes its job without sending.
func TestAJobWhoseEmailWasCancelledAfterItWasQueuedSendsNothing(t *testing.T) {
	t.Parallel()
	b := setup(t)
	held, release := b.smtp.Hold()
	first := b.write(t, "ada@example.com", 3)
	b.queueCfg.Concurrency = 1 // one slot: the second email waits in the queue behind the first
	b.start(t)
	<-held
	second := b.write(t, "bob@example.com", 3)
	b.waitFor(t, second, 5*time.Second, inState(oes.EmailQueued))
	require.NoError(t, b.store.CancelEmail(b.ctx, second, "cancelled by an admin"))
	release()

	b.waitFor(t, first, 10*time.Second, inState(oes.EmailDelivered))
	require.Eventually(t, func() bool {
		return strings.Contains(b.logs.String(), "email job "+queue.TaskID(second)+": email "+queue.TaskID(second)+" is cancelled")
	}, 10*time.Second, 20*time.Millisecond)
	require.Len(t, b.smtp.Messages(), 1)
}

func TestObserverHearsEverySendAndFailure(t *testing.T) {
	t.Parallel()
	b := setup(t)
	o := &observed{}
	b.observer = o
	b.smtp.FailRecipient("gone@example.com", 550, "5.1.1 no such user")
	b.smtp.FailNext(1, 451, "4.3.0", "try again later")
	ok := b.write(t, "ada@example.com", 3)
	b.start(t)
	b.waitFor(t, ok, 20*time.Second, inState(oes.EmailDelivered))
	gone := b.write(t, "gone@example.com", 3)
	b.waitFor(t, gone, 20*time.Second, inState(oes.EmailFailed))

	o.mu.Lock()
	defer o.mu.Unlock()
	require.Equal(t, 3, o.sends)
	require.Equal(t, 1, o.delivered)
	require.Equal(t, map[mail.Class]int{mail.ClassTemporary: 1}, o.retried)
	require.Equal(t, map[mail.Class]int{mail.ClassPermanent: 1}, o.failed)
	// Each email's first try waited in its lane; the retry's wait was its backoff, not reported.
	require.Equal(t, []string{queue.Lane(5), queue.Lane(5)}, o.lanes)
	for _, w := range o.waits {
		require.GreaterOrEqual(t, w, time.Duration(0))
		require.Less(t, w, 20*time.Second)
	}
}

type observed struct {
	mu               sync.Mutex
	sends, delivered int
	retried, failed  map[mail.Class]int
	lanes            []string
	waits            []time.Duration
}

func (o *observed) Taken(lane string, waited time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.lanes = append(o.lanes, lane)
	o.waits = append(o.waits, waited)
}

func (o *observed) Sent(_ time.Duration, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.sends++
	if err == nil {
		o.delivered++
	}
}

func (o *observed) Failed(class mail.Class, retry bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	m := &o.failed
	if retry {
		m = &o.retried
	}
	if *m == nil {
		*m = map[mail.Class]int{}
	}
	(*m)[class]++
}
