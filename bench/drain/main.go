// Command drain measures the email pipeline as it ships, the outbox in Postgres relayed onto a
// queue in Redis: how fast emails are written to the outbox (by producers' transactions, and
// through POST /api/v1/auth/register), how fast the relay moves them onto the queue, how fast
// one email worker delivers a backlog to an SMTP server that accepts everything, next to the
// ceiling measured in the same run (a plain net/smtp program sending the same messages over
// as many persistent connections as the worker has deliveries at once), how long an
// email written at a steady rate takes from its commit to the server's accept, and how long an
// exam's announcement to 10,000 candidates takes to be written, queued and delivered.
//
//	drain -worker .local/bin/emailworker [-api .local/bin/api] [-n 2000] [-conns 5] [-rounds 1] [-announce 10000] [-markdown PATH]
//
// REDIS_URL (or QUEUE_REDIS_URL) names the queue's Redis and DATABASE_URL the Postgres server
// (deploy/local/with-services.sh provides both); drain works in a database of its own, the
// one of DATABASE_URL with "_bench" appended. Every sender is a separate process with the
// same GOMAXPROCS, measured one at a time, and stopped when drain ends, Ctrl-C included; the
// Redis keys of the run and the bench database's outbox are emptied at the end.
//
// The exit status is 0 when the measurement completed, whether or not the target was met,
// 1 when it could not run, or a message was lost or sent twice, or an email was not recorded
// as delivered, and 2 for a usage error.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/oeshq/oes/bench/internal/benchkit"
)

func main() {
	benchkit.Main("drain", "processes", func(ctx context.Context) error {
		return run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	})
}

// options are the command-line flags.
type options struct {
	worker    string
	api       string
	n         int
	conns     int
	rounds    int
	enqueuers int
	register  int
	clients   int
	announce  int
	markdown  string

	latencyRate     int
	latencyDuration time.Duration
	latencyCompare  time.Duration

	// send and sinkAddr make this process one of the reference senders instead: drain starts
	// a copy of itself with them, so that the references run as their own process like the
	// worker.
	send     string
	sinkAddr string
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	if o.send != "" {
		return runSender(ctx, o, stdin, stdout)
	}
	return bench(ctx, o, stdout, stderr)
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	// -send and -sink are for drain's own use and stay out of -help.
	fs := benchkit.NewFlagSet("drain", stderr, "Usage: drain -worker PATH [flags]\n"+
		"Measures the email outbox's write and relay rates, one worker's drain rate against a plain SMTP sender, the latency from commit to SMTP accept, and an exam's announcement.", "send", "sink")
	fs.StringVar(&o.worker, "worker", "", "path of the emailworker binary (required)")
	fs.StringVar(&o.api, "api", "", "path of the api binary; when set, also measure POST /api/v1/auth/register")
	fs.IntVar(&o.n, "n", 2000, "messages each sender delivers, and emails written to the outbox and relayed")
	fs.IntVar(&o.conns, "conns", 5, "the worker's EMAIL_CONCURRENCY, and the ceiling's SMTP connections")
	fs.IntVar(&o.rounds, "rounds", 1, "rounds over the senders in rotating order; the median round is reported")
	fs.IntVar(&o.enqueuers, "enqueuers", 16, "goroutines writing emails to the outbox at once, each email its own transaction")
	fs.IntVar(&o.register, "register", 1000, "registrations posted to the api (with -api)")
	fs.IntVar(&o.clients, "clients", 16, "concurrent clients posting registrations")
	fs.IntVar(&o.latencyRate, "latency-rate", 200, "emails a second written to the outbox in the latency phase")
	fs.DurationVar(&o.latencyDuration, "latency-duration", 10*time.Second, "how long the latency phase writes emails, after a second of warm-up")
	fs.DurationVar(&o.latencyCompare, "latency-compare", 5*time.Millisecond,
		"also measure the latency with this EMAIL_FETCH_INTERVAL, for comparison with the shipped one; 0 for none")
	fs.IntVar(&o.announce, "announce", 10000, "candidates of the exam whose announcement is measured; 0 for none")
	fs.StringVar(&o.markdown, "markdown", "", "also write the results as markdown to this file")
	fs.StringVar(&o.send, "send", "", "")
	fs.StringVar(&o.sinkAddr, "sink", "", "")
	if err := benchkit.ParseFlags(fs, args); err != nil {
		return o, err
	}
	switch {
	case o.n < 1 || o.n > 100000:
		return o, fmt.Errorf("%w: -n must be from 1 to 100000", benchkit.ErrUsage)
	case o.conns < 1 || o.conns > 100:
		return o, fmt.Errorf("%w: -conns must be from 1 to 100", benchkit.ErrUsage)
	}
	if o.send != "" {
		if o.send != senderCeiling && o.send != senderLibrary {
			return o, fmt.Errorf("%w: -send must be %s or %s", benchkit.ErrUsage, senderCeiling, senderLibrary)
		}
		if o.sinkAddr == "" {
			return o, fmt.Errorf("%w: -send needs -sink", benchkit.ErrUsage)
		}
		return o, nil
	}
	switch {
	case o.worker == "":
		return o, fmt.Errorf("%w: -worker is required (the emailworker binary, e.g. .local/bin/emailworker)", benchkit.ErrUsage)
	case o.rounds < 1 || o.rounds > 20:
		return o, fmt.Errorf("%w: -rounds must be from 1 to 20", benchkit.ErrUsage)
	case o.enqueuers < 1 || o.enqueuers > 256:
		return o, fmt.Errorf("%w: -enqueuers must be from 1 to 256", benchkit.ErrUsage)
	case o.register < 1 || o.register > 10000:
		return o, fmt.Errorf("%w: -register must be from 1 to 10000", benchkit.ErrUsage)
	case o.clients < 1 || o.clients > 256:
		return o, fmt.Errorf("%w: -clients must be from 1 to 256", benchkit.ErrUsage)
	case o.announce < 0 || o.announce > 100000:
		return o, fmt.Errorf("%w: -announce must be from 0 to 100000", benchkit.ErrUsage)
	case o.latencyRate < 1 || o.latencyRate > 5000:
		return o, fmt.Errorf("%w: -latency-rate must be from 1 to 5000", benchkit.ErrUsage)
	case o.latencyDuration < time.Second || o.latencyDuration > 10*time.Minute:
		return o, fmt.Errorf("%w: -latency-duration must be from 1s to 10m", benchkit.ErrUsage)
	case o.latencyCompare != 0 && (o.latencyCompare < time.Millisecond || o.latencyCompare > 10*time.Second):
		return o, fmt.Errorf("%w: -latency-compare must be 0 or from 1ms to 10s, as EMAIL_FETCH_INTERVAL", benchkit.ErrUsage)
	}
	return o, nil
}

// Bounds of the phases: a run that takes longer has gone wrong, and says so instead of
// hanging.
const (
	deliverWithin  = 2 * time.Minute // one sender delivering its messages
	completeWithin = 30 * time.Second
	registerWithin = 3 * time.Minute // all the registrations together
	announceWithin = 5 * time.Minute // an announcement, from the call to its last delivery
)
