package main

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"time"

	"github.com/oeshq/oes/bench/internal/benchkit"
	"github.com/oeshq/oes/bench/internal/benchkit/smtpsink"
	"github.com/oeshq/oes/pkg/config"
	"github.com/oeshq/oes/pkg/config/workerenv"
	oesmail "github.com/oeshq/oes/pkg/infra/mail"
	"github.com/oeshq/oes/pkg/infra/queue"
)

// Names of the senders in the report.
const (
	nameCeiling = "ceiling (net/smtp)"
	nameLibrary = "smtpsend, no queue"
	nameWorker  = "emailworker"
)

// bench prepares the bench database, starts the sink, measures every sender in every round
// (the worker's round: writing the outbox, relaying it, draining it), then the latency of a
// steady stream of emails, the registrations and an announcement, and reports.
func bench(ctx context.Context, o options, stdout, stderr io.Writer) error {
	redisURL := os.Getenv("QUEUE_REDIS_URL")
	if redisURL == "" {
		redisURL = os.Getenv("REDIS_URL")
	}
	if redisURL == "" {
		return fmt.Errorf("REDIS_URL is not set; run drain through deploy/local/with-services.sh (make bench)")
	}
	dbURL, err := benchkit.SiblingDatabaseURL(os.Getenv("DATABASE_URL"), "_bench")
	if err != nil {
		return err
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
	progress("bench database: DATABASE_URL's with _bench appended, created and migrated")
	if err := prepareDatabase(ctx, dbURL); err != nil {
		return err
	}
	pg, err := openPGProbe(ctx, dbURL)
	if err != nil {
		return err
	}
	defer pg.close()
	// The outbox's rows of the last phase are not kept: their bodies hold made-up links.
	defer emptyOutbox(ctx, dbURL, progress)
	// Each phase that queues jobs gets a queue of its own, removed when drain ends.
	var used []queue.Config
	newQueue := func(name string) queue.Config {
		// The worker's shipped settings, on a queue of the phase's own.
		c := config.Defaults[workerenv.Env]().QueueConfig()
		c.RedisURL, c.QueuePrefix = redisURL, fmt.Sprintf("bench-%d-%s", os.Getpid(), name)
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

	sk, err := smtpsink.Start(false)
	if err != nil {
		return err
	}
	defer sk.Close()
	msgs, err := benchMessages(studentAddresses, o.n)
	if err != nil {
		return err
	}
	// One message composed as the worker composes it, for its size on the wire.
	wire, err := composeWire(ctx, msgs[:1])
	if err != nil {
		return err
	}
	r := &rig{procs: procs, sink: sk, rdb: rdb, redisURL: redisURL, meter: &meter{rdb: rdb, pg: pg}, dbURL: dbURL, worker: worker}

	rep := report{when: time.Now(), opts: o, gomaxprocs: runtime.GOMAXPROCS(0), wireBytes: len(wire[0].data),
		pgCPUNote: errText(pg.procErr), pgStmtNote: errText(pg.stmtErr)}
	senders := []struct {
		name string
		kind string // the reference sender's -send; "" for the worker
		out  *[]delivery
	}{
		{nameCeiling, senderCeiling, &rep.ceiling},
		{nameLibrary, senderLibrary, &rep.library},
		{nameWorker, "", &rep.worker},
	}
	// The worker's metrics checks are printed after the report.
	var check bytes.Buffer
	for round := range o.rounds {
		for i := range senders {
			s := senders[(i+round)%len(senders)]
			progress("round %d/%d: %s, %d messages", round+1, o.rounds, s.name, o.n)
			if s.kind != "" {
				d, err := measureSender(ctx, r, self, s.kind, s.name, msgs, o)
				if err != nil {
					return err
				}
				*s.out = append(*s.out, d)
				continue
			}
			qcfg := newQueue("r" + strconv.Itoa(round+1))
			fmt.Fprintf(&check, "round %d/%d: ", round+1, o.rounds)
			w, err := measureWorkerRound(ctx, r, qcfg, msgs, o, &check)
			if err != nil {
				return err
			}
			*s.out = append(*s.out, w.drain)
			rep.write = append(rep.write, w.write)
			rep.relay = append(rep.relay, w.relay)
		}
	}

	fetches := []time.Duration{0}
	if o.latencyCompare > 0 && o.latencyCompare != shippedFetchInterval() {
		fetches = append(fetches, o.latencyCompare)
	}
	for _, fetch := range fetches {
		shown := cmp.Or(fetch, shippedFetchInterval())
		progress("latency: %d emails/s for %s, EMAIL_FETCH_INTERVAL %s", o.latencyRate, o.latencyDuration, shown)
		l, err := measureLatency(ctx, r, newQueue("latency-"+shown.String()), fetch, o)
		if err != nil {
			return err
		}
		rep.latency = append(rep.latency, l)
	}
	if api != "" {
		progress("POST %s, %d registrations from %d clients", registerPath, o.register, o.clients)
		reg, err := measureRegister(ctx, r, api, newQueue("register"), o)
		if err != nil {
			return err
		}
		rep.register = &reg
	}
	if o.announce > 0 {
		progress("announcement to %d candidates, one worker running", o.announce)
		a, err := measureAnnounce(ctx, r, newQueue("announce"), o, &check)
		if err != nil {
			return err
		}
		rep.announce = &a
	}

	rep.printText(stdout)
	fmt.Fprintln(stdout)
	_, _ = check.WriteTo(stdout)
	if o.markdown != "" {
		if err := os.WriteFile(o.markdown, rep.markdown(), 0o644); err != nil {
			return fmt.Errorf("-markdown: %w", err)
		}
	}
	return nil
}

// workerRound is what one round of the worker measured: writing the messages to the outbox
// and relaying them onto the queue with no worker running, then one worker delivering them.
type workerRound struct {
	write, relay enqueueRun
	drain        delivery
}

// measureWorkerRound measures the worker's round on the queue qcfg names, a queue of its own.
func measureWorkerRound(ctx context.Context, r *rig, qcfg queue.Config, msgs []oesmail.Message, o options, check io.Writer) (workerRound, error) {
	var w workerRound
	client, err := queue.New(qcfg)
	if err != nil {
		return w, err
	}
	defer client.Close()
	if w.write, err = measureOutboxWrite(ctx, r, msgs, o.enqueuers); err != nil {
		return w, err
	}
	if w.relay, err = measureRelay(ctx, r, client, len(msgs)); err != nil {
		return w, err
	}
	w.drain, err = measureDrain(ctx, r, client, msgs, o, check)
	return w, err
}

// emptyOutbox empties the bench database's outbox at the end of a run.
func emptyOutbox(ctx context.Context, dbURL string, progress func(string, ...any)) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	pool, _, err := openStore(ctx, dbURL, 1)
	if err == nil {
		err = truncateOutbox(ctx, pool)
		pool.Close()
	}
	if err != nil {
		progress("could not empty the bench database's outbox: %v", err)
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
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
