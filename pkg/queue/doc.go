// Package queue is the email queue: the api enqueues email jobs and reads their status and
// counts through it, and the email worker consumes them. It is built on asynq over Redis.
package queue
