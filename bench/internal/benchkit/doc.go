// Package benchkit holds what the project's measuring programs (the api's loadgen, the email
// worker's drain and its fault runs) share: the child processes they measure or kill, private
// redis-servers and Postgres schemas, readings of Linux's /proc, result tables, Redis key
// cleanup, and the shape of their command line. Its smtpsink package is the SMTP server they
// send to.
//
// Only those programs import it; the services themselves never link it.
package benchkit
