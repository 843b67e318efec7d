// Package outbox is the email outbox: Postgres's record of every email the system decides to
// send, and the way those emails reach the queue.
//
// An email is written to the outbox (table email_outbox) in the transaction of the change that
// causes it: a registration with its token, a password reset, a graded attempt. Nothing commits
// without its email, and no email exists for a change that rolled back. The Relay then puts
// each email on the asynq queue under the email's id, and the worker (package delivery) claims
// the row, sends it, and records the outcome on the row. The queue carries ids only: Redis
// never holds a message, so it never holds a single-use link either.
//
// Because Postgres holds the record, nothing is lost when the queue's Redis is down (emails
// wait as pending and are relayed when it returns) or loses its data (the relay's sweep finds
// the emails whose tasks are gone and queues them again), and admins read each email's state,
// the counts and a user's email history from Postgres whatever Redis knows (Service).
//
// The states and their moves are oes.EmailState's.
package outbox
