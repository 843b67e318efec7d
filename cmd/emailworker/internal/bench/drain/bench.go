package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/oeshq/oes/pkg/benchkit"
	"github.com/oeshq/oes/pkg/queue"
)

// Names of the senders in the report.
const (
	nameCeiling = "ceiling (net/smtp)"
	nameLibrary = "smtpsend, no queue"
	nameWorker  = "emailworker"
)

// bench starts the sink, measures every sender in every round, then the enqueue paths, and
// reports.
func bench(ctx context.Context, o options, stdout, stderr io.Writer) error {
	redisURL := os.Getenv("QUEUE_REDIS_URL")
	if redisURL == "" {
		redisURL = os.Getenv("REDIS_URL")
	}
	if redisURL == "" {
		return fmt.Errorf("REDIS_URL is not set; run drain through deploy/local/with-services.sh (make bench)")
	}
	worker, err := binary("-worker", o.worker, "make build writes .local/bin/emailworker")
	if err != nil {
		return err
	}
	api := ""
	if o.api != "" {
		if api, err = binary("-api", o.api, "make build writes .local/bin/api"); err != nil {
			return err
		}
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("locate drain's own binary for the reference senders: %w", err)
	}
	dir, err := os.MkdirTemp("", "oes-bench-email-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	progress := func(format string, args ...any) { fmt.Fprintf(stderr, "drain: "+format+"\n", args...) }

	rdb, err := queue.OpenRedis(queue.Config{RedisURL: redisURL})
	if err != nil {
		return err
	}
	defer rdb.Close()
	if err := rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("the queue's Redis does not answer: %w", err)
	}
	// Each phase that queues jobs gets a queue of its own, removed when drain ends.
	var used []queue.Config
	newQueue := func(name string) queue.Config {
		c := queue.Config{RedisURL: redisURL, QueuePrefix: fmt.Sprintf("bench-%d-%s", os.Getpid(), name)}
		used = append(used, c)
		return c
	}
	defer func() {
		for _, c := range used {
			if err := removeQueue(ctx, rdb, c); err != nil {
				progress("could not remove the keys of queue %s: %v", c.QueuePrefix, err)
			}
		}
	}()
	procs := &benchkit.Group{Dir: dir, StopWithin: stopWithin}
	defer procs.StopAll()

	sk, err := startSink(false)
	if err != nil {
		return err
	}
	defer sk.close()
	msgs, err := benchMessages(o.n)
	if err != nil {
		return err
	}
	// One message composed as the worker composes it, for its size on the wire.
	wire, err := composeWire(ctx, msgs[:1])
	if err != nil {
		return err
	}

	r := report{when: time.Now(), opts: o, gomaxprocs: runtime.GOMAXPROCS(0), wireBytes: len(wire[0].data)}
	senders := []struct {
		name string
		kind string // the reference sender's -send; "" for the worker
		out  *[]delivery
	}{
		{nameCeiling, senderCeiling, &r.ceiling},
		{nameLibrary, senderLibrary, &r.library},
		{nameWorker, "", &r.worker},
	}
	// The worker's metrics checks are printed after the report.
	var check bytes.Buffer
	for round := range o.rounds {
		for i := range senders {
			s := senders[(i+round)%len(senders)]
			progress("round %d/%d: %s, %d messages", round+1, o.rounds, s.name, o.n)
			if s.kind != "" {
				d, err := measureSender(ctx, procs, self, s.kind, s.name, sk, rdb, o)
				if err != nil {
					return err
				}
				*s.out = append(*s.out, d)
				continue
			}
			qcfg := newQueue("r" + strconv.Itoa(round+1))
			fmt.Fprintf(&check, "round %d/%d: ", round+1, o.rounds)
			w, err := measureWorker(ctx, procs, worker, sk, rdb, qcfg, msgs, o, &check)
			if err != nil {
				return err
			}
			*s.out = append(*s.out, w.drain)
			r.enqueue = append(r.enqueue, w.enqueue)
			// The completed jobs are kept for their retention; the next round starts clean.
			if err := removeQueue(ctx, rdb, qcfg); err != nil {
				progress("could not remove the keys of queue %s: %v", qcfg.QueuePrefix, err)
			}
		}
	}

	progress("library enqueue with Options.ID, %d jobs", o.n)
	if r.enqueueIDs, err = measureEnqueueIDs(ctx, rdb, newQueue("ids"), o); err != nil {
		return err
	}
	if api != "" {
		progress("POST %s, %d registrations from %d clients", registerPath, o.register, o.clients)
		reg, err := measureRegister(ctx, procs, api, rdb, newQueue("register"), o)
		if err != nil {
			return err
		}
		r.register = &reg
	}

	r.printText(stdout)
	fmt.Fprintln(stdout)
	_, _ = check.WriteTo(stdout)
	if o.markdown != "" {
		if err := os.WriteFile(o.markdown, r.markdown(), 0o644); err != nil {
			return fmt.Errorf("-markdown: %w", err)
		}
	}
	return nil
}

// measureEnqueueIDs queues the messages as the account emails are queued: priority 10 and an
// Options.ID each, which makes Enqueue look for the id in every lane first.
func measureEnqueueIDs(ctx context.Context, rdb *redis.Client, qcfg queue.Config, o options) (enqueueRun, error) {
	msgs, err := benchMessages(o.n)
	if err != nil {
		return enqueueRun{}, err
	}
	client, err := queue.New(qcfg)
	if err != nil {
		return enqueueRun{}, err
	}
	defer client.Close()
	r, err := enqueueAll(ctx, client, rdb, msgs, o.enqueuers, queue.Options{Priority: 10, Attempts: 5},
		func(i int) string { return "verify:bench-" + strconv.Itoa(i) })
	if err != nil {
		return r, err
	}
	if r.failed > 0 {
		return r, fmt.Errorf("library enqueue with ids: %d of %d failed (first: %s)", r.failed, o.n, r.firstErr)
	}
	return r, nil
}

// binary returns the absolute path of the binary flag names, which must exist.
func binary(flag, path, hint string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(abs); err != nil {
		return "", fmt.Errorf("%s: %w (%s)", flag, err, hint)
	}
	return abs, nil
}
