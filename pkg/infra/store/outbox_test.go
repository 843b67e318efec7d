package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/infra/store"
	"github.com/oeshq/oes/pkg/oes"
)

// insertEmail records a valid email to to and returns its id.
func (b *testBundle) insertEmail(t *testing.T, to string) int64 {
	t.Helper()
	id, err := b.store.InsertEmail(b.ctx, newEmail(oes.EmailGeneric, to))
	require.NoError(t, err)
	return id
}

// relay marks ids, which are pending, queued, as the relay does once their tasks are on the
// queue.
func (b *testBundle) relay(t *testing.T, ids ...int64) {
	t.Helper()
	_, err := b.store.RelayPending(b.ctx, 1000, func([]store.OutboxJob) ([]int64, error) { return ids, nil })
	require.NoError(t, err)
}

// moveTo takes pending email id to state the way the relay, a worker or an admin would.
func (b *testBundle) moveTo(t *testing.T, id int64, state oes.EmailState) {
	t.Helper()
	if state == oes.EmailPending {
		return
	}
	if state == oes.EmailCancelled {
		require.NoError(t, b.store.CancelEmail(b.ctx, id, "no longer needed"))
		return
	}
	b.relay(t, id)
	if state == oes.EmailQueued {
		return
	}
	_, err := b.store.ClaimEmail(b.ctx, id)
	require.NoError(t, err)
	if state == oes.EmailSending {
		return
	}
	require.NoError(t, b.store.FinishEmail(b.ctx, id, store.Outcome{State: state, AttemptsSpent: 1, Reason: "by the test"}))
	require.Equal(t, string(state), b.outbox(t, id).State)
}

// emailIn returns a new email to to in state.
func (b *testBundle) emailIn(t *testing.T, to string, state oes.EmailState) int64 {
	t.Helper()
	id := b.insertEmail(t, to)
	b.moveTo(t, id, state)
	return id
}

// age moves column of email id back by d, as if it had been set d earlier.
func (b *testBundle) age(t *testing.T, id int64, column string, d time.Duration) {
	t.Helper()
	tag, err := b.pool.Exec(b.ctx, "UPDATE email_outbox SET "+column+" = "+column+" - make_interval(secs => $2) WHERE id = $1",
		id, d.Seconds())
	require.NoError(t, err)
	require.EqualValues(t, 1, tag.RowsAffected())
}

func jobIDs(jobs []store.OutboxJob) []int64 {
	ids := make([]int64, len(jobs))
	for i, j := range jobs {
		ids[i] = j.ID
	}
	return ids
}

// requireStateConflict asserts that err is the ECONFLICT of a move from state.
func requireStateConflict(t *testing.T, err error, state oes.EmailState) {
	t.Helper()
	e := requireCode(t, err, oes.ECONFLICT)
	require.Contains(t, e.Message, "is "+string(state))
	var se *store.StateError
	require.ErrorAs(t, err, &se)
	require.Equal(t, state, se.State)
}

var finalStates = []oes.EmailState{oes.EmailDelivered, oes.EmailFailed, oes.EmailSuppressed, oes.EmailCancelled}

func TestInsertEmailRefusesWhatCannotBeSent(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for name, tc := range map[string]struct {
		change func(*store.NewEmail)
		fields []string
	}{
		"two recipients": {func(e *store.NewEmail) { e.Message.To = append(e.Message.To, "bob@example.org") }, []string{"to"}},
		"no recipient":   {func(e *store.NewEmail) { e.Message.To = nil }, []string{"to"}},
		"bad recipient":  {func(e *store.NewEmail) { e.Message.To = []string{"ann at example.org"} }, []string{"to[0]"}},
		"no kind":        {func(e *store.NewEmail) { e.Kind = "" }, []string{"kind"}},
		"priority 0":     {func(e *store.NewEmail) { e.Priority = 0 }, []string{"priority"}},
		"priority 11":    {func(e *store.NewEmail) { e.Priority = 11 }, []string{"priority"}},
		"attempts 0":     {func(e *store.NewEmail) { e.MaxAttempts = 0 }, []string{"attempts"}},
		"attempts 26":    {func(e *store.NewEmail) { e.MaxAttempts = 26 }, []string{"attempts"}},
		"options both":   {func(e *store.NewEmail) { e.Priority, e.MaxAttempts = -1, 100 }, []string{"priority", "attempts"}},
		"injected subject": {
			func(e *store.NewEmail) { e.Message.Subject = "Hi\r\nBcc: eve@example.org" }, []string{"subject"},
		},
		"no body": {func(e *store.NewEmail) { e.Message.HTML, e.Message.Text = "", "" }, []string{"body"}},
	} {
		t.Run(name, func(t *testing.T) {
			e := newEmail(oes.EmailGeneric, "ann@example.org")
			tc.change(&e)
			_, err := b.store.InsertEmail(b.ctx, e)
			got := requireCode(t, err, oes.EINVALID)
			var fields []string
			for _, f := range got.Fields {
				fields = append(fields, f.Field)
			}
			require.Equal(t, tc.fields, fields)
		})
	}
	require.Empty(t, b.outboxRows(t))

	for _, limits := range [][2]int{{store.MinEmailPriority, store.MaxEmailAttempts}, {store.MaxEmailPriority, 1}} {
		e := newEmail(oes.EmailGeneric, "ann@example.org")
		e.Priority, e.MaxAttempts = limits[0], limits[1]
		_, err := b.store.InsertEmail(b.ctx, e)
		require.NoError(t, err, "priority %d, attempts %d are within the limits", limits[0], limits[1])
	}
}

func TestInsertEmailRecordsAPendingEmail(t *testing.T) {
	t.Parallel()
	b := setup(t)
	u := b.createUser(t, "ann@example.org", oes.RoleStudent)
	later := time.Now().Add(time.Hour).Truncate(time.Microsecond)

	e := newEmail(oes.EmailResult, "Ann@example.org")
	e.UserID, e.SendAfter, e.Priority, e.MaxAttempts = u.ID, later, 9, 4
	e.Message.HTML = ""
	id, err := b.store.InsertEmail(b.ctx, e)
	require.NoError(t, err)

	got, err := b.store.GetEmail(b.ctx, id)
	require.NoError(t, err)
	require.Equal(t, id, got.ID)
	require.Equal(t, oes.EmailResult, got.Kind)
	require.Equal(t, oes.EmailPending, got.State)
	require.Equal(t, &u.ID, got.UserID)
	require.Equal(t, "Ann@example.org", got.Recipient)
	require.Equal(t, "Hello", got.Subject)
	require.Equal(t, 9, got.Priority)
	require.Equal(t, 4, got.AttemptsAllowed)
	require.Zero(t, got.AttemptsMade)
	require.True(t, later.Equal(got.SendAfter), "send after %s, got %s", later, got.SendAfter)
	require.Nil(t, got.QueuedAt)
	require.Nil(t, got.FinishedAt)
	row := b.outbox(t, id)
	require.Nil(t, row.HTML, "an empty part is no part")
	require.Equal(t, ptr("Hi"), row.Text)

	now, err := b.store.InsertEmail(b.ctx, newEmail(oes.EmailGeneric, "bob@example.org"))
	require.NoError(t, err)
	got, err = b.store.GetEmail(b.ctx, now)
	require.NoError(t, err)
	require.WithinDuration(t, time.Now(), got.SendAfter, time.Minute, "no send-after time sends at once")
	require.Nil(t, got.UserID)

	orphan := newEmail(oes.EmailGeneric, "carol@example.org")
	orphan.UserID = missing
	_, err = b.store.InsertEmail(b.ctx, orphan)
	requireCode(t, err, oes.ENOTFOUND)

	_, err = b.store.GetEmail(b.ctx, missing)
	e2 := requireCode(t, err, oes.ENOTFOUND)
	require.Equal(t, "email 987654321 not found", e2.Message)
}

func TestRelayPendingQueuesWhatTheCallbackEnqueued(t *testing.T) {
	t.Parallel()
	b := setup(t)
	first := b.insertEmail(t, "a@example.org")
	later := time.Now().Add(time.Hour).Truncate(time.Microsecond)
	e := newEmail(oes.EmailReset, "b@example.org")
	e.Priority, e.SendAfter = 9, later
	second, err := b.store.InsertEmail(b.ctx, e)
	require.NoError(t, err)
	third := b.insertEmail(t, "c@example.org")

	var jobs []store.OutboxJob
	n, err := b.store.RelayPending(b.ctx, 2, func(js []store.OutboxJob) ([]int64, error) {
		jobs = js
		return []int64{second}, nil
	})
	require.NoError(t, err)
	require.Equal(t, 2, n)
	require.Equal(t, []int64{first, second}, jobIDs(jobs), "the oldest first, up to max")
	require.Equal(t, store.OutboxJob{ID: second, Kind: oes.EmailReset, Priority: 9, RunAt: later}, jobs[1])
	require.Equal(t, string(oes.EmailPending), b.outbox(t, first).State, "not enqueued, so still pending")
	queued := b.outbox(t, second)
	require.Equal(t, string(oes.EmailQueued), queued.State)
	require.NotNil(t, queued.QueuedAt)

	errQueue := errors.New("redis went away")
	n, err = b.store.RelayPending(b.ctx, 10, func(js []store.OutboxJob) ([]int64, error) {
		jobs = js
		return []int64{first}, errQueue
	})
	require.ErrorIs(t, err, errQueue)
	require.Equal(t, 2, n)
	require.Equal(t, []int64{first, third}, jobIDs(jobs))
	require.Equal(t, string(oes.EmailQueued), b.outbox(t, first).State, "what was enqueued before the error is recorded")
	require.Equal(t, string(oes.EmailPending), b.outbox(t, third).State)

	_, err = b.store.RelayPending(b.ctx, 10, func([]store.OutboxJob) ([]int64, error) { return nil, errQueue })
	require.ErrorIs(t, err, errQueue)
	require.Equal(t, string(oes.EmailPending), b.outbox(t, third).State)

	b.relay(t, third)
	n, err = b.store.RelayPending(b.ctx, 10, func([]store.OutboxJob) ([]int64, error) {
		t.Error("called with nothing pending")
		return nil, nil
	})
	require.NoError(t, err)
	require.Zero(t, n)
}

func TestRelayPendingSkipsRowsAnotherRelayHolds(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ids := []int64{b.insertEmail(t, "a@example.org"), b.insertEmail(t, "b@example.org"), b.insertEmail(t, "c@example.org")}

	inside, release, done := make(chan struct{}), make(chan struct{}), make(chan struct{})
	var firstJobs []store.OutboxJob
	var firstErr error
	go func() {
		defer close(done)
		_, firstErr = b.store.RelayPending(b.ctx, 2, func(js []store.OutboxJob) ([]int64, error) {
			firstJobs = js
			close(inside)
			<-release
			return jobIDs(js), nil
		})
	}()
	select {
	case <-inside:
	case <-done:
		t.Fatalf("the first relay returned before its callback: %v", firstErr)
	}

	// Without SKIP LOCKED this call would wait for the first relay's rows until ctx ends.
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	var secondJobs []store.OutboxJob
	n, err := b.store.RelayPending(ctx, 10, func(js []store.OutboxJob) ([]int64, error) {
		secondJobs = js
		return jobIDs(js), nil
	})
	close(release)
	<-done
	require.NoError(t, err)
	require.NoError(t, firstErr)
	require.Equal(t, 1, n)
	require.Equal(t, ids[:2], jobIDs(firstJobs))
	require.Equal(t, ids[2:], jobIDs(secondJobs), "the rows the first relay holds are skipped")
	for _, id := range ids {
		require.Equal(t, string(oes.EmailQueued), b.outbox(t, id).State)
	}
}

func TestSweepInFlightWalksTheStaleQueuedAndSendingEmails(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const stale = 10 * time.Minute
	oldQueued := b.emailIn(t, "a@example.org", oes.EmailQueued)
	b.age(t, oldQueued, "queued_at", stale)
	b.emailIn(t, "b@example.org", oes.EmailQueued)
	oldSending := b.emailIn(t, "c@example.org", oes.EmailSending)
	b.age(t, oldSending, "claimed_at", stale)
	b.emailIn(t, "d@example.org", oes.EmailSending)
	deferred := b.emailIn(t, "e@example.org", oes.EmailSending)
	next := time.Now().Add(time.Hour).Truncate(time.Microsecond)
	require.NoError(t, b.store.DeferEmail(b.ctx, deferred, store.Deferral{Next: next, Deferred: true, Reason: "421 busy"}))
	b.age(t, deferred, "queued_at", stale)
	b.emailIn(t, "f@example.org", oes.EmailPending)
	delivered := b.emailIn(t, "g@example.org", oes.EmailDelivered)
	b.age(t, delivered, "claimed_at", stale)

	queuedBefore, claimedBefore := time.Now().Add(-time.Minute), time.Now().Add(-5*time.Minute)
	sweep := func(afterID int64, max int, requeue func([]store.OutboxJob) []int64) ([]store.OutboxJob, int64, int) {
		t.Helper()
		var jobs []store.OutboxJob
		lastID, n, err := b.store.SweepInFlight(b.ctx, afterID, max, queuedBefore, claimedBefore,
			func(js []store.OutboxJob) ([]int64, error) {
				jobs = js
				return requeue(js), nil
			})
		require.NoError(t, err)
		return jobs, lastID, n
	}
	none := func([]store.OutboxJob) []int64 { return nil }

	jobs, lastID, n := sweep(0, 2, func([]store.OutboxJob) []int64 { return []int64{oldSending} })
	require.Equal(t, []int64{oldQueued, oldSending}, jobIDs(jobs))
	require.Equal(t, oldSending, lastID)
	require.Equal(t, 2, n)
	requeued := b.outbox(t, oldSending)
	require.Equal(t, string(oes.EmailQueued), requeued.State)
	require.WithinDuration(t, time.Now(), *requeued.QueuedAt, time.Minute)
	require.Less(t, *b.outbox(t, oldQueued).QueuedAt, queuedBefore, "not put on the queue again, so untouched")

	jobs, lastID, n = sweep(lastID, 2, none)
	require.Equal(t, []int64{deferred}, jobIDs(jobs))
	require.True(t, next.Equal(jobs[0].RunAt), "a deferred email runs at its next try, not %s", jobs[0].RunAt)
	require.Equal(t, deferred, lastID)
	require.Equal(t, 1, n, "fewer than max: the walk is over")

	_, _, n = sweep(deferred, 2, none)
	require.Zero(t, n)

	jobs, _, _ = sweep(0, 10, none)
	require.Equal(t, []int64{oldQueued, deferred}, jobIDs(jobs), "the re-queued email is fresh again")

	errQueue := errors.New("redis went away")
	_, _, err := b.store.SweepInFlight(b.ctx, 0, 10, queuedBefore, claimedBefore, func([]store.OutboxJob) ([]int64, error) {
		return nil, errQueue
	})
	require.ErrorIs(t, err, errQueue)
}

func TestClaimEmail(t *testing.T) {
	t.Parallel()
	b := setup(t)

	pending := b.insertEmail(t, "ann@example.org")
	got, err := b.store.ClaimEmail(b.ctx, pending)
	require.NoError(t, err)
	require.Equal(t, pending, got.ID)
	require.Equal(t, oes.EmailGeneric, got.Kind)
	require.Equal(t, message("ann@example.org"), got.Message)
	require.Equal(t, 3, got.MaxAttempts)
	require.Zero(t, got.Attempts)
	require.Zero(t, got.Deferrals)
	require.False(t, got.Suppressed)
	row := b.outbox(t, pending)
	require.Equal(t, string(oes.EmailSending), row.State)
	require.NotNil(t, row.ClaimedAt)
	require.True(t, row.SendAfter.Equal(got.SendAfter))

	// The worker that held it died: another claims it again.
	b.age(t, pending, "claimed_at", time.Hour)
	_, err = b.store.ClaimEmail(b.ctx, pending)
	require.NoError(t, err)
	require.WithinDuration(t, time.Now(), *b.outbox(t, pending).ClaimedAt, time.Minute)

	queued := b.emailIn(t, "bob@example.org", oes.EmailQueued)
	_, err = b.store.ClaimEmail(b.ctx, queued)
	require.NoError(t, err)
	require.Equal(t, string(oes.EmailSending), b.outbox(t, queued).State)

	for _, state := range finalStates {
		id := b.emailIn(t, "carol@example.org", state)
		_, err := b.store.ClaimEmail(b.ctx, id)
		requireStateConflict(t, err, state)
		require.Equal(t, string(state), b.outbox(t, id).State)
	}

	_, err = b.store.ClaimEmail(b.ctx, missing)
	requireCode(t, err, oes.ENOTFOUND)
}

func TestClaimEmailTellsOfASuppressedAddress(t *testing.T) {
	t.Parallel()
	b := setup(t)
	refused := b.emailIn(t, "Bob@Example.org", oes.EmailSending)
	require.NoError(t, b.store.FinishEmail(b.ctx, refused, store.Outcome{
		State: oes.EmailFailed, AttemptsSpent: 1, Reason: "550 5.1.1 no such user", Suppress: true,
	}))

	got, err := b.store.ClaimEmail(b.ctx, b.insertEmail(t, "bob@EXAMPLE.ORG"))
	require.NoError(t, err)
	require.True(t, got.Suppressed, "the address is compared case-insensitively")
	got, err = b.store.ClaimEmail(b.ctx, b.insertEmail(t, "carol@example.org"))
	require.NoError(t, err)
	require.False(t, got.Suppressed)

	require.NoError(t, b.store.DeleteSuppression(b.ctx, " BOB@example.org "))
	got, err = b.store.ClaimEmail(b.ctx, b.insertEmail(t, "bob@example.org"))
	require.NoError(t, err)
	require.False(t, got.Suppressed)
}

func TestFinishEmail(t *testing.T) {
	t.Parallel()
	b := setup(t)

	delivered := b.emailIn(t, "a@example.org", oes.EmailSending)
	require.NoError(t, b.store.FinishEmail(b.ctx, delivered, store.Outcome{
		State: oes.EmailDelivered, AttemptsSpent: 1, SMTPReply: "250 2.0.0 Ok: queued as 4F2A1",
	}))
	row := b.outbox(t, delivered)
	require.Equal(t, string(oes.EmailDelivered), row.State)
	require.Equal(t, "250 2.0.0 Ok: queued as 4F2A1", row.SMTPReply)
	require.Equal(t, 1, row.Attempts)
	require.Nil(t, row.HTML, "a delivered email's bodies, and the links in them, are erased")
	require.Nil(t, row.Text)
	require.NotNil(t, row.FinishedAt)

	failed := b.emailIn(t, "b@example.org", oes.EmailSending)
	require.NoError(t, b.store.DeferEmail(b.ctx, failed, store.Deferral{Next: time.Now(), AttemptsSpent: 1, Reason: "timeout"}))
	_, err := b.store.ClaimEmail(b.ctx, failed)
	require.NoError(t, err)
	require.NoError(t, b.store.FinishEmail(b.ctx, failed, store.Outcome{
		State: oes.EmailFailed, AttemptsSpent: 1, Reason: "550 mailbox disabled", SMTPReply: "550 mailbox disabled",
	}))
	row = b.outbox(t, failed)
	require.Equal(t, string(oes.EmailFailed), row.State)
	require.Equal(t, "550 mailbox disabled", row.LastError)
	require.Equal(t, 2, row.Attempts)
	require.Nil(t, row.NextAttemptAt)
	require.Equal(t, ptr("<p>Hi</p>"), row.HTML, "a failed email keeps its bodies for a retry")
	require.Equal(t, ptr("Hi"), row.Text)
	list, err := b.store.ListSuppressions(b.ctx, 1, 10)
	require.NoError(t, err)
	require.Empty(t, list, "nothing suppressed unless asked")

	suppressed := b.emailIn(t, "c@example.org", oes.EmailSending)
	require.NoError(t, b.store.FinishEmail(b.ctx, suppressed, store.Outcome{State: oes.EmailSuppressed, Reason: "on the list"}))
	row = b.outbox(t, suppressed)
	require.Equal(t, string(oes.EmailSuppressed), row.State)
	require.Zero(t, row.Attempts)
	require.NotNil(t, row.HTML)

	refused := b.emailIn(t, "Dan@Example.org", oes.EmailSending)
	require.NoError(t, b.store.FinishEmail(b.ctx, refused, store.Outcome{
		State: oes.EmailFailed, AttemptsSpent: 1, Reason: "550 5.1.1 no such user", Suppress: true,
	}))
	list, err = b.store.ListSuppressions(b.ctx, 1, 10)
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Equal(t, "dan@example.org", list[0].Address)
	require.Equal(t, "550 5.1.1 no such user", list[0].Reason)
	require.Equal(t, &refused, list[0].EmailID)

	err = b.store.FinishEmail(b.ctx, delivered, store.Outcome{State: oes.EmailFailed, AttemptsSpent: 1, Reason: "late"})
	requireStateConflict(t, err, oes.EmailDelivered)
	require.Equal(t, string(oes.EmailDelivered), b.outbox(t, delivered).State, "the first outcome stands")
	pending := b.insertEmail(t, "e@example.org")
	err = b.store.FinishEmail(b.ctx, pending, store.Outcome{State: oes.EmailDelivered, AttemptsSpent: 1})
	requireStateConflict(t, err, oes.EmailPending)
	err = b.store.FinishEmail(b.ctx, missing, store.Outcome{State: oes.EmailDelivered, AttemptsSpent: 1})
	requireCode(t, err, oes.ENOTFOUND)
}

func TestDeferEmail(t *testing.T) {
	t.Parallel()
	b := setup(t)
	id := b.emailIn(t, "ann@example.org", oes.EmailSending)
	b.age(t, id, "queued_at", time.Hour)

	next := time.Now().Add(time.Hour).Truncate(time.Microsecond)
	require.NoError(t, b.store.DeferEmail(b.ctx, id, store.Deferral{
		Next: next, Deferred: true, Reason: "server busy", SMTPReply: "421 try later",
	}))
	row := b.outbox(t, id)
	require.Equal(t, string(oes.EmailQueued), row.State)
	require.Equal(t, 1, row.Deferrals)
	require.Zero(t, row.Attempts, "an outage spends no attempt")
	require.True(t, next.Equal(*row.NextAttemptAt))
	require.Equal(t, "server busy", row.LastError)
	require.Equal(t, "421 try later", row.SMTPReply)
	require.WithinDuration(t, time.Now(), *row.QueuedAt, time.Minute)
	require.NotNil(t, row.HTML)

	got, err := b.store.ClaimEmail(b.ctx, id)
	require.NoError(t, err)
	require.Equal(t, 1, got.Deferrals)
	require.NoError(t, b.store.DeferEmail(b.ctx, id, store.Deferral{Next: next, AttemptsSpent: 1, Reason: "connection reset"}))
	got, err = b.store.ClaimEmail(b.ctx, id)
	require.NoError(t, err)
	require.Equal(t, 1, got.Attempts)
	require.Equal(t, 1, got.Deferrals)

	queued := b.emailIn(t, "bob@example.org", oes.EmailQueued)
	err = b.store.DeferEmail(b.ctx, queued, store.Deferral{Next: next, Deferred: true})
	requireStateConflict(t, err, oes.EmailQueued)
	require.Nil(t, b.outbox(t, queued).NextAttemptAt, "only a claimed email is deferred")
	for _, state := range append([]oes.EmailState{oes.EmailPending}, finalStates...) {
		err := b.store.DeferEmail(b.ctx, b.emailIn(t, "carol@example.org", state), store.Deferral{Next: next, Deferred: true})
		requireStateConflict(t, err, state)
	}
	requireCode(t, b.store.DeferEmail(b.ctx, missing, store.Deferral{Next: next}), oes.ENOTFOUND)
}

func TestRetryEmailStartsAFailedOrSuppressedEmailAfresh(t *testing.T) {
	t.Parallel()
	b := setup(t)
	failed := b.emailIn(t, "a@example.org", oes.EmailSending)
	require.NoError(t, b.store.DeferEmail(b.ctx, failed, store.Deferral{Next: time.Now(), Deferred: true, Reason: "busy"}))
	_, err := b.store.ClaimEmail(b.ctx, failed)
	require.NoError(t, err)
	require.NoError(t, b.store.FinishEmail(b.ctx, failed, store.Outcome{
		State: oes.EmailFailed, AttemptsSpent: 1, Reason: "550 refused", SMTPReply: "550 refused",
	}))
	b.age(t, failed, "send_after", 2*time.Hour)
	suppressed := b.emailIn(t, "b@example.org", oes.EmailSuppressed)
	others := map[oes.EmailState]int64{}
	for _, state := range []oes.EmailState{oes.EmailPending, oes.EmailQueued, oes.EmailSending, oes.EmailDelivered, oes.EmailCancelled} {
		others[state] = b.emailIn(t, "c@example.org", state)
	}

	l := b.listen(t, b.store)
	for state, id := range others {
		requireStateConflict(t, b.store.RetryEmail(b.ctx, id), state)
	}
	requireCode(t, b.store.RetryEmail(b.ctx, missing), oes.ENOTFOUND)
	requireNoNote(t, l)

	before := time.Now().Add(-time.Second)
	require.NoError(t, b.store.RetryEmail(b.ctx, failed))
	requireNote(t, l)
	row := b.outbox(t, failed)
	require.Equal(t, string(oes.EmailPending), row.State)
	require.Zero(t, row.Attempts)
	require.Zero(t, row.Deferrals)
	require.Empty(t, row.LastError)
	require.Empty(t, row.SMTPReply)
	require.Nil(t, row.FinishedAt)
	require.Nil(t, row.NextAttemptAt)
	require.True(t, row.SendAfter.After(before), "its window of retries starts now")
	require.NotNil(t, row.HTML, "it can still be sent")

	require.NoError(t, b.store.RetryEmail(b.ctx, suppressed))
	require.Equal(t, string(oes.EmailPending), b.outbox(t, suppressed).State)
}

func TestCancelEmailStopsOnlyUnsentEmails(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, state := range []oes.EmailState{oes.EmailPending, oes.EmailQueued} {
		id := b.emailIn(t, "a@example.org", state)
		require.NoError(t, b.store.CancelEmail(b.ctx, id, "cancelled by an admin"))
		row := b.outbox(t, id)
		require.Equal(t, string(oes.EmailCancelled), row.State)
		require.Equal(t, "cancelled by an admin", row.LastError)
		require.Nil(t, row.HTML)
		require.Nil(t, row.Text)
		require.NotNil(t, row.FinishedAt)
	}
	for _, state := range append([]oes.EmailState{oes.EmailSending}, finalStates...) {
		id := b.emailIn(t, "b@example.org", state)
		requireStateConflict(t, b.store.CancelEmail(b.ctx, id, "too late"), state)
		require.Equal(t, string(state), b.outbox(t, id).State)
	}
	requireCode(t, b.store.CancelEmail(b.ctx, missing, "x"), oes.ENOTFOUND)
}

func TestListEmailsPage(t *testing.T) {
	t.Parallel()
	b := setup(t)
	u := b.createUser(t, "ann@example.org", oes.RoleStudent)
	other := b.createUser(t, "bob@example.org", oes.RoleStudent)
	idle := b.createUser(t, "carol@example.org", oes.RoleStudent)

	var mine []int64
	for range 3 {
		e := newEmail(oes.EmailGeneric, u.Email)
		e.UserID = u.ID
		id, err := b.store.InsertEmail(b.ctx, e)
		require.NoError(t, err)
		mine = append(mine, id)
	}
	e := newEmail(oes.EmailGeneric, other.Email)
	e.UserID = other.ID
	_, err := b.store.InsertEmail(b.ctx, e)
	require.NoError(t, err)

	// Failed in another order than they were written.
	for _, id := range []int64{mine[1], mine[2], mine[0]} {
		b.moveTo(t, id, oes.EmailFailed)
	}

	ids := func(es []oes.Email, err error) []int64 {
		t.Helper()
		require.NoError(t, err)
		require.NotNil(t, es)
		out := []int64{}
		for _, e := range es {
			out = append(out, e.ID)
		}
		return out
	}
	require.Equal(t, []int64{mine[1], mine[2]}, ids(b.store.ListEmailsInState(b.ctx, oes.EmailFailed, 1, 2)), "those that failed first first")
	require.Equal(t, []int64{mine[0]}, ids(b.store.ListEmailsInState(b.ctx, oes.EmailFailed, 2, 2)))
	require.Empty(t, ids(b.store.ListEmailsInState(b.ctx, oes.EmailFailed, 3, 2)))
	require.Empty(t, ids(b.store.ListEmailsInState(b.ctx, oes.EmailFailed, 0, 2)))
	require.Empty(t, ids(b.store.ListEmailsInState(b.ctx, oes.EmailFailed, 1<<40, 100)))
	require.Len(t, ids(b.store.ListEmailsInState(b.ctx, oes.EmailPending, 1, 10)), 1)
	failed, err := b.store.ListEmailsInState(b.ctx, oes.EmailFailed, 1, 1)
	require.NoError(t, err)
	got, err := b.store.GetEmail(b.ctx, mine[1])
	require.NoError(t, err)
	require.Equal(t, got, failed[0])
	require.Equal(t, "by the test", got.LastError)

	require.Equal(t, []int64{mine[2], mine[1]}, ids(b.store.ListUserEmails(b.ctx, u.ID, 1, 2)), "newest first")
	require.Equal(t, []int64{mine[0]}, ids(b.store.ListUserEmails(b.ctx, u.ID, 2, 2)))
	require.Empty(t, ids(b.store.ListUserEmails(b.ctx, u.ID, 3, 2)))
	require.Empty(t, ids(b.store.ListUserEmails(b.ctx, u.ID, 1<<40, 100)))
	require.Empty(t, ids(b.store.ListUserEmails(b.ctx, idle.ID, 1, 10)))
	_, err = b.store.ListUserEmails(b.ctx, missing, 1, 10)
	requireCode(t, err, oes.ENOTFOUND)
}

func TestCountEmailsByWhatIsHappeningToThem(t *testing.T) {
	t.Parallel()
	b := setup(t)
	old := 48 * time.Hour
	future := time.Now().Add(time.Hour)
	later := func(to string) int64 {
		e := newEmail(oes.EmailGeneric, to)
		e.SendAfter = future
		id, err := b.store.InsertEmail(b.ctx, e)
		require.NoError(t, err)
		return id
	}
	deferred := func(next time.Time) {
		id := b.emailIn(t, "deferred@example.org", oes.EmailSending)
		require.NoError(t, b.store.DeferEmail(b.ctx, id, store.Deferral{Next: next, Deferred: true}))
	}

	b.emailIn(t, "waiting@example.org", oes.EmailPending)
	b.emailIn(t, "waiting@example.org", oes.EmailQueued)
	deferred(time.Now().Add(-time.Minute)) // its next try is due: waiting
	b.relay(t, later("delayed@example.org"))
	later("delayed@example.org") // still pending, but not due yet
	deferred(future)
	b.emailIn(t, "active@example.org", oes.EmailSending)
	b.emailIn(t, "completed@example.org", oes.EmailDelivered)
	b.age(t, b.emailIn(t, "completed@example.org", oes.EmailDelivered), "finished_at", old)
	b.emailIn(t, "cancelled@example.org", oes.EmailCancelled)
	b.age(t, b.emailIn(t, "cancelled@example.org", oes.EmailCancelled), "finished_at", old)
	b.emailIn(t, "failed@example.org", oes.EmailFailed)
	b.age(t, b.emailIn(t, "failed@example.org", oes.EmailFailed), "finished_at", old)
	b.age(t, b.emailIn(t, "suppressed@example.org", oes.EmailSuppressed), "finished_at", old)

	got, err := b.store.CountEmails(b.ctx, time.Now().Add(-24*time.Hour))
	require.NoError(t, err)
	require.Equal(t, oes.EmailCounts{
		Waiting: 3, Delayed: 2, Retrying: 1, Active: 1, Completed: 1, Failed: 2, Suppressed: 1, Cancelled: 1,
	}, got, "failed and suppressed emails count however old; delivered and cancelled ones only since")

	got, err = b.store.CountEmails(b.ctx, time.Now().Add(-3*24*time.Hour))
	require.NoError(t, err)
	require.Equal(t, 2, got.Completed)
	require.Equal(t, 2, got.Cancelled)
}

func TestSuppressionsListAndDelete(t *testing.T) {
	t.Parallel()
	b := setup(t)
	suppress := func(to string) int64 {
		id := b.emailIn(t, to, oes.EmailSending)
		require.NoError(t, b.store.FinishEmail(b.ctx, id, store.Outcome{
			State: oes.EmailFailed, AttemptsSpent: 1, Reason: "550 no such user: " + to, Suppress: true,
		}))
		return id
	}
	first := suppress("a@example.org")
	suppress("B@example.org")
	suppress("c@example.org")
	suppress("A@EXAMPLE.ORG") // already suppressed: the first entry stays

	page := func(n int) []string {
		t.Helper()
		list, err := b.store.ListSuppressions(b.ctx, n, 2)
		require.NoError(t, err)
		require.NotNil(t, list)
		out := []string{}
		for _, s := range list {
			out = append(out, s.Address)
		}
		return out
	}
	require.Equal(t, []string{"c@example.org", "b@example.org"}, page(1), "newest first")
	require.Equal(t, []string{"a@example.org"}, page(2))
	require.Empty(t, page(3))
	require.Empty(t, page(0))

	list, err := b.store.ListSuppressions(b.ctx, 2, 2)
	require.NoError(t, err)
	require.Equal(t, &first, list[0].EmailID)
	require.Equal(t, "550 no such user: a@example.org", list[0].Reason)
	require.WithinDuration(t, time.Now(), list[0].CreatedAt, time.Minute)

	require.NoError(t, b.store.DeleteSuppression(b.ctx, "b@EXAMPLE.org"))
	require.Equal(t, []string{"c@example.org", "a@example.org"}, page(1))
	requireCode(t, b.store.DeleteSuppression(b.ctx, "b@example.org"), oes.ENOTFOUND)
	requireCode(t, b.store.DeleteSuppression(b.ctx, "nobody@example.org"), oes.ENOTFOUND)
}
