package queue_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/infra/queue"
	"github.com/oeshq/oes/pkg/infra/queue/queuetest"
	"github.com/oeshq/oes/pkg/oes"
	"github.com/oeshq/oes/pkg/testkit/redistest"
)

type bundle struct {
	ctx    context.Context
	cfg    queue.Config
	client *queue.Client
	// rdb and insp look at the queue's Redis behind the client's back.
	rdb    *redis.Client
	insp   *asynq.Inspector
	lastID int64
}

// setup gives a test an empty queue of its own on the shared test Redis.
func setup(t *testing.T) *bundle {
	t.Helper()
	return newBundle(t, queuetest.Config(t))
}

// setupPrivate gives a test a queue on a redis-server of its own, which it may flush or stop.
func setupPrivate(t *testing.T) (*bundle, *redistest.Server) {
	t.Helper()
	srv := redistest.StartServer(t)
	return newBundle(t, queuetest.ConfigAt(t, srv.URL())), srv
}

func newBundle(t *testing.T, cfg queue.Config) *bundle {
	t.Helper()
	rdb := queuetest.Redis(t, cfg)
	return &bundle{
		ctx:    t.Context(),
		cfg:    cfg,
		client: queuetest.Client(t, cfg),
		rdb:    rdb,
		insp:   asynq.NewInspectorFromRedisClient(rdb),
	}
}

// job returns a job of the priority for an outbox id no other job of the test has.
func (b *bundle) job(priority int) queue.Job {
	b.lastID++
	return queue.Job{ID: b.lastID, Kind: "verify_email", Priority: priority}
}

func (b *bundle) enqueue(t *testing.T, j queue.Job) queue.Job {
	t.Helper()
	require.NoError(t, b.client.Enqueue(b.ctx, j))
	return j
}

// task returns what asynq holds of j's task.
func (b *bundle) task(t *testing.T, j queue.Job) *asynq.TaskInfo {
	t.Helper()
	info, err := b.insp.GetTaskInfo(b.cfg.QueueName(j.Lane()), queue.TaskID(j.ID))
	require.NoError(t, err, "job %d", j.ID)
	return info
}

func (b *bundle) waitState(t *testing.T, j queue.Job, state asynq.TaskState) {
	t.Helper()
	require.Eventually(t, func() bool {
		info, err := b.insp.GetTaskInfo(b.cfg.QueueName(j.Lane()), queue.TaskID(j.ID))
		return err == nil && info.State == state
	}, 10*time.Second, 10*time.Millisecond, "job %d never got to %v", j.ID, state)
}

// taskKey is where asynq keeps j's task; Client.Missing relies on it.
func (b *bundle) taskKey(j queue.Job) string {
	return "asynq:{" + b.cfg.QueueName(j.Lane()) + "}:t:" + queue.TaskID(j.ID)
}

func (b *bundle) counts(t *testing.T) map[string]queue.Counts {
	t.Helper()
	n, err := b.client.LaneCounts(b.ctx)
	require.NoError(t, err)
	return n
}

// lanes is what LaneCounts returns for the counts of the critical, default and low lanes.
func lanes(critical, def, low queue.Counts) map[string]queue.Counts {
	return map[string]queue.Counts{queue.LaneCritical: critical, queue.LaneDefault: def, queue.LaneLow: low}
}

// everyState is one job in each state a task goes through before it is deleted: waiting (in
// the low lane, paused so that it keeps waiting), delayed, retrying after a deferral, running
// and failed for good.
type everyState struct {
	waiting, delayed, retrying, running, failed queue.Job
}

// live returns the jobs whose tasks may still run.
func (e everyState) live() []queue.Job {
	return []queue.Job{e.waiting, e.delayed, e.retrying, e.running}
}

// jobsInEveryState puts a job in each state, on a worker that runs until the test ends.
func (b *bundle) jobsInEveryState(t *testing.T) everyState {
	t.Helper()
	e := everyState{waiting: b.job(2), delayed: b.job(5), retrying: b.job(9), running: b.job(5), failed: b.job(9)}
	e.delayed.RunAt = time.Now().Add(time.Hour)
	b.enqueue(t, e.waiting)
	require.NoError(t, b.insp.PauseQueue(b.cfg.QueueName(queue.LaneLow)))

	release := make(chan struct{})
	queuetest.StartWorker(t, b.cfg, asynq.HandlerFunc(func(ctx context.Context, task *asynq.Task) error {
		switch task.ResultWriter().TaskID() {
		case queue.TaskID(e.retrying.ID):
			return queue.Defer(time.Hour, "smtp.example.org unreachable", nil)
		case queue.TaskID(e.running.ID):
			select {
			case <-release:
			case <-ctx.Done():
			}
			return nil
		default:
			return queue.Permanent("550 5.1.1 no such user", nil)
		}
	}))
	t.Cleanup(func() { close(release) }) // before the worker's shutdown
	for _, j := range []queue.Job{e.delayed, e.retrying, e.running, e.failed} {
		b.enqueue(t, j)
	}

	b.waitState(t, e.retrying, asynq.TaskStateRetry)
	b.waitState(t, e.running, asynq.TaskStateActive)
	b.waitState(t, e.failed, asynq.TaskStateArchived)
	require.Equal(t, asynq.TaskStatePending, b.task(t, e.waiting).State)
	require.Equal(t, asynq.TaskStateScheduled, b.task(t, e.delayed).State)
	return e
}

// requireCode fails unless err is an *oes.Error with the code.
func requireCode(t *testing.T, code string, err error) *oes.Error {
	t.Helper()
	var e *oes.Error
	require.ErrorAs(t, err, &e)
	require.Equal(t, code, e.Code, "error: %v", err)
	return e
}

func TestEnqueuedTaskCarriesTheOutboxIDAndNothingPersonal(t *testing.T) {
	t.Parallel()
	b := setup(t)

	j := b.enqueue(t, queue.Job{ID: 42, Kind: "reset_password", Priority: 9})

	info := b.task(t, j)
	require.Equal(t, "42", info.ID)
	require.Equal(t, queue.TypeEmail, info.Type)
	require.Equal(t, asynq.TaskStatePending, info.State)
	require.JSONEq(t, `{"kind":"reset_password","priority":9}`, string(info.Payload),
		"no recipient, subject or body: the worker reads them from the outbox")
	require.Equal(t, b.cfg.Timeout, info.Timeout)
	require.Zero(t, info.Retention, "a finished task is deleted: the outbox keeps the outcome")
	require.Equal(t, 1<<16, info.MaxRetry, "asynq never gives up on an email before the outbox does")
}

func TestEnqueuePutsAJobInTheLaneOfItsPriority(t *testing.T) {
	t.Parallel()
	b := setup(t)

	for _, p := range []int{10, 8, 7, 4, 3, 1} {
		j := b.enqueue(t, b.job(p))
		require.Equal(t, b.cfg.QueueName(queue.Lane(p)), b.task(t, j).Queue, "priority %d", p)
	}

	require.Equal(t, lanes(queue.Counts{Waiting: 2}, queue.Counts{Waiting: 2}, queue.Counts{Waiting: 2}), b.counts(t))
}

func TestEnqueueHoldsAJobUntilTheWholeSecondAfterItsRunAt(t *testing.T) {
	t.Parallel()
	b := setup(t)
	later, past := b.job(2), b.job(2)
	later.RunAt = time.Unix(time.Now().Unix()+2, 500_000_000)
	past.RunAt = time.Now().Add(-time.Minute)

	b.enqueue(t, later)
	b.enqueue(t, past)

	info := b.task(t, later)
	require.Equal(t, asynq.TaskStateScheduled, info.State)
	require.True(t, info.NextProcessAt.Equal(later.RunAt.Add(500*time.Millisecond)),
		"runs at %v, for a RunAt of %v: asynq keeps whole seconds, and a time rounded down would run the job early",
		info.NextProcessAt, later.RunAt)
	require.Equal(t, asynq.TaskStatePending, b.task(t, past).State, "a time gone by runs the job at once")
	require.Equal(t, lanes(queue.Counts{}, queue.Counts{}, queue.Counts{Waiting: 1, Delayed: 1}), b.counts(t))
}

func TestEnqueueRefusesAJobThatIsNotAnOutboxEmail(t *testing.T) {
	t.Parallel()
	b := setup(t)

	for name, j := range map[string]queue.Job{
		"id 0":        {ID: 0, Priority: 5},
		"negative id": {ID: -4, Priority: 5},
		"priority 0":  {ID: 1, Priority: 0},
		"priority 11": {ID: 1, Priority: 11},
	} {
		require.Error(t, b.client.Enqueue(b.ctx, j), name)
	}
	require.Equal(t, lanes(queue.Counts{}, queue.Counts{}, queue.Counts{}), b.counts(t))
}

func TestEnqueueTwiceQueuesTheJobOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	j := b.enqueue(t, b.job(5))
	again := j
	again.Kind, again.RunAt = "message", time.Now().Add(time.Hour)

	require.NoError(t, b.client.Enqueue(b.ctx, again))
	require.NoError(t, b.client.Enqueue(b.ctx, j))

	require.Equal(t, lanes(queue.Counts{}, queue.Counts{Waiting: 1}, queue.Counts{}), b.counts(t))
	info := b.task(t, j)
	require.Equal(t, asynq.TaskStatePending, info.State, "the waiting task is left as it was")
	require.JSONEq(t, `{"kind":"verify_email","priority":5}`, string(info.Payload))
}

// The relay's sweep enqueues every email it believes in flight: a task that may still run must
// come out of it as it was, neither run twice nor pulled forward.
func TestEnqueueLeavesATaskThatMayStillRunAlone(t *testing.T) {
	t.Parallel()
	b := setup(t)
	e := b.jobsInEveryState(t)
	before := map[int64]*asynq.TaskInfo{}
	for _, j := range e.live() {
		before[j.ID] = b.task(t, j)
	}

	for _, j := range e.live() {
		j.RunAt = time.Time{} // would run the delayed and retrying jobs at once, were they replaced
		require.NoError(t, b.client.Enqueue(b.ctx, j), "job %d", j.ID)
	}

	for _, j := range e.live() {
		after := b.task(t, j)
		require.Equal(t, before[j.ID].State, after.State, "job %d", j.ID)
		require.Equal(t, before[j.ID].LastErr, after.LastErr, "job %d", j.ID)
		if after.State != asynq.TaskStatePending { // a waiting task's NextProcessAt is now
			require.True(t, before[j.ID].NextProcessAt.Equal(after.NextProcessAt),
				"job %d runs at %v, was at %v", j.ID, after.NextProcessAt, before[j.ID].NextProcessAt)
		}
	}
	require.Equal(t, lanes(
		queue.Counts{Retrying: 1, Failed: 1},
		queue.Counts{Delayed: 1, Active: 1},
		queue.Counts{Paused: 1},
	), b.counts(t), "no job has a second task")
}

// An admin's retry of a failed email, and the sweep after an email ran, enqueue its id again:
// the email must run again, since the outbox, not the queue, says whether it should.
func TestEnqueueRunsAFailedOrFinishedJobAgain(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var runs atomic.Int32
	ran := make(chan int32, 3)
	queuetest.StartWorker(t, b.cfg, asynq.HandlerFunc(func(context.Context, *asynq.Task) error {
		n := runs.Add(1)
		ran <- n
		if n == 1 {
			return queue.Permanent("550 5.1.1 no such user", nil)
		}
		return nil
	}))
	j := b.enqueue(t, b.job(9))
	b.waitState(t, j, asynq.TaskStateArchived)

	require.NoError(t, b.client.Enqueue(b.ctx, j))
	requireRun(t, ran, 2)
	requireGone(t, b, j)

	require.NoError(t, b.client.Enqueue(b.ctx, j))
	requireRun(t, ran, 3)
	requireGone(t, b, j)
}

func requireRun(t *testing.T, ran <-chan int32, n int32) {
	t.Helper()
	for {
		select {
		case got := <-ran:
			if got == n {
				return
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("run %d did not happen within 10s", n)
		}
	}
}

// requireGone waits until j's task is deleted, as it is once it ran.
func requireGone(t *testing.T, b *bundle, j queue.Job) {
	t.Helper()
	require.Eventually(t, func() bool {
		missing, err := b.client.Missing(b.ctx, []queue.Job{j})
		return err == nil && len(missing) == 1
	}, 10*time.Second, 10*time.Millisecond, "job %d's task is still there", j.ID)
}
