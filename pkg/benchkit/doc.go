// Package benchkit holds what the project's benchmark programs (the api's loadgen and the email
// worker's drain) share: the child processes they measure, readings of Linux's /proc, result
// tables, Redis key cleanup, and the shape of their command line.
//
// Only the benchmark programs import it; the services themselves never link it.
package benchkit
