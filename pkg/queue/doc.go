// Package queue is the email queue: the api enqueues email jobs and reads their status and
// counts through it, and the email worker consumes them. It is built on asynq over Redis.
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
// A job is an asynq task of type TypeEmail whose payload is the JSON of the mail.Message and
// its priority. Options.Attempts becomes asynq's MaxRetry (attempts-1), Options.ID its task id.
// A completed job is kept for Config.Retention, a failed one for 90 days (asynq's archive).
//
// Delays are whole seconds in asynq: delayed and retrying jobs are released by a poller
// (Config.PollInterval) once the current second reaches their time. Enqueue and RetryDelay
// round times up to the next second so that no job runs early.
//
// # Worker
//
// The worker (cmd/emailworker) opens Redis with OpenRedis, builds an asynq server from
// Config.ServerConfig, and runs a delivery.Handler; WriteProgress reports a running job's
// progress to Status.
package queue
