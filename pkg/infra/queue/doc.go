// Package queue is the email queue: the outbox's relay puts references to its emails on it,
// the email worker consumes it, and the metrics read its lane counts. It is built on asynq
// over Redis. Postgres's outbox (package outbox) is the record of every email; the queue only
// says which email a worker should take up next, and when.
//
// # Lanes
//
// asynq has no priority within a queue: a queue is a FIFO list. A job's priority (1-10, as in
// the seed design) therefore picks one of three asynq queues, its lane:
//
//	priority 8-10  "<prefix>:critical"  weight 6   verification, password reset
//	priority 4-7   "<prefix>:default"   weight 3   the default priority 5
//	priority 1-3   "<prefix>:low"       weight 1   bulk mail
//
// Jobs of one lane run in the order they were queued, whatever their exact priority.
//
// The worker serves the lanes by weight, not strictly: before each job it draws an order of
// the lanes in which a lane comes first with a chance proportional to its weight, and takes
// the job from the first lane in that order that has one. While all three lanes hold jobs,
// critical, default and low get 60%, 30% and 10% of the deliveries; with only critical and
// low backlogged, a delivery is critical with odds 6/7. So mail a user is waiting for overtakes
// a backlog of bulk mail (10 critical jobs behind 200 low ones are all out after about 12
// deliveries on average, and after more than 30 with a chance below 1e-10), while bulk mail
// keeps at least a tenth of the throughput and never starves. Three lanes keep the Redis work
// of each dequeue small: asynq tries the lanes one by one.
//
// # Jobs
//
// A Job is a reference to an outbox row: an asynq task of type TypeEmail whose id is the row's
// id (TaskID, in decimal) and whose payload is the email's kind and priority, for people
// reading a dashboard. The message is never in Redis: the worker reads it from Postgres by the
// task's id, so neither Redis nor the dashboard (DisplayPayload) holds a recipient or a
// single-use link.
//
// Enqueue is idempotent by outbox id: while the email's task waits, is delayed, retries or
// runs, enqueueing it again leaves it as it is, so the relay may enqueue whatever it is not
// sure of. A task that failed for good is replaced, so that an email an admin retries runs
// again. A finished task is deleted at once (asynq's retention is zero): the outbox row keeps
// the outcome, and the outbox, not the queue, says whether an email is still to be sent.
//
// Delays are whole seconds in asynq: delayed and retrying jobs are released by a poller
// (Config.PollInterval) once the current second reaches their time. Enqueue and RetryDelay
// round times up to the next second so that no job runs early.
//
// # Attempts
//
// How many times an email is tried, and when, is the outbox's policy, kept on its row: after
// each try the worker (package delivery) records what comes next and either fails the email
// for good, returning Permanent, or returns a Defer with the delay it chose (an outage's short
// wait, or Backoff for a failed try). A deferral runs the job again after its own delay and,
// with the IsFailure of ServerConfig, does not count as a failure in asynq, nor does a job
// whose worker died (asynq.ErrLeaseExpired), which runs again at once. asynq's own MaxRetry is
// set out of reach, so asynq never fails an email on its own; an error the handler did not
// expect is retried with RetryDelay's exponential backoff.
//
// # Losing Redis
//
// Because Postgres holds every email, the queue's Redis may lose its data (a restart without
// persistence, a failover to a replica that had not seen the last writes) without losing an
// email. Missing tells which of a batch of outbox emails have no task in Redis, in one
// pipeline, so that the relay's sweep can enqueue them again. Recover tells whether Redis lost
// the queue's data since its last call (by a marker key under the queue's prefix; the first
// call on a new Redis reports a loss) and names the lanes in asynq's set of queues again, which
// asynq's client does only once per process and the lane counts need.
//
// # Worker
//
// The worker (cmd/emailworker) opens Redis with OpenRedis, builds an asynq server from
// Config.ServerConfig, and runs a delivery.Handler.
package queue
