// Command faults breaks, one at a time, each component the email pipeline's promises depend on,
// against the built api and emailworker binaries, and reports what became of the emails the
// system had committed: how many were delivered, lost, duplicated or failed, and how long the
// pipeline took to drain once the fault was over.
//
//	faults -worker .local/bin/emailworker -api .local/bin/api [-run 1,2,3,4] [-markdown PATH]
//
// The scenarios:
//
//  1. the SMTP server down for -smtp-outage while 200 emails are queued;
//  2. the queue's Redis restarted empty while 1,000 emails are pending or in flight, with the
//     admin API asked for every one of them meanwhile;
//  3. the queue's Redis down while 20 students register and 20 submit an attempt;
//  4. the worker killed with SIGKILL -kills times while it drains 5,000 emails.
//
// Each scenario has a redis-server of its own on a free port (redis-server must be on PATH),
// an in-process SMTP sink, and a fresh schema in the database <DATABASE_URL's>_faults, which
// is left in place for a look afterwards. The shared Redis of REDIS_URL is never used. Every
// process it starts is stopped when it ends, Ctrl-C included.
//
// The exit status is 0 when every target was met, 1 when one was missed (an email lost or
// failed, a time target missed, a request refused) or the run could not complete, and 2 for
// a usage error. The processes' logs are kept, and their directory printed, when a target was
// missed.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/oeshq/oes/bench/internal/benchkit"
	"github.com/oeshq/oes/pkg/config"
)

func main() {
	benchkit.Main("faults", "processes", func(ctx context.Context) error {
		return run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	})
}

// options are the command-line flags.
type options struct {
	worker      string
	api         string
	runs        []int
	smtpOutage  time.Duration
	redisOutage time.Duration
	sinkDelay   time.Duration
	kills       int
	markdown    string
	keepLogs    bool
}

// errMissed is run's error when the run completed and a target was missed.
var errMissed = errors.New("a target was missed")

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	env, err := newEnvironment(o, stderr)
	if err != nil {
		return err
	}
	keepLogs := true
	defer func() {
		if keepLogs {
			env.progress("the processes' logs are kept in %s", env.dir)
			return
		}
		_ = os.RemoveAll(env.dir)
	}()

	r := runReport{started: time.Now(), opts: o}
	for _, n := range o.runs {
		s := scenarios[n-1]
		env.progress("scenario %d: %s", n, s.title(o))
		res, err := s.run(ctx, env, n)
		if err != nil {
			return fmt.Errorf("scenario %d (%s): %w", n, s.title(o), err)
		}
		res.number, res.title, res.breaks = n, s.title(o), s.breaks
		res.text(stdout)
		r.results = append(r.results, res)
	}
	r.finished = time.Now()
	r.summaryText(stdout)
	if o.markdown != "" {
		if err := os.WriteFile(o.markdown, r.markdown(), 0o644); err != nil {
			return fmt.Errorf("-markdown: %w", err)
		}
	}
	if r.missed() {
		return errMissed
	}
	keepLogs = o.keepLogs
	return nil
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	var runs string
	fs := benchkit.NewFlagSet("faults", stderr, "Usage: faults -worker PATH -api PATH [flags]\n"+
		"Breaks the SMTP server, the queue's Redis and the worker in turn and counts the emails lost, duplicated and failed.")
	fs.StringVar(&o.worker, "worker", "", "path of the emailworker binary (required)")
	fs.StringVar(&o.api, "api", "", "path of the api binary (required)")
	fs.StringVar(&runs, "run", "1,2,3,4", "the scenarios to run, by number, comma-separated")
	fs.DurationVar(&o.smtpOutage, "smtp-outage", 60*time.Second, "how long the SMTP server is down in scenario 1")
	fs.DurationVar(&o.redisOutage, "redis-outage", 10*time.Second, "how long the queue's Redis is down before it returns empty in scenario 2")
	fs.DurationVar(&o.sinkDelay, "sink-delay", 20*time.Millisecond, "how long the SMTP sink takes over each message in scenarios 2 and 4, so that a backlog lasts")
	fs.IntVar(&o.kills, "kills", 10, "how many times the worker is killed in scenario 4")
	fs.StringVar(&o.markdown, "markdown", "", "also write the results as markdown to this file")
	fs.BoolVar(&o.keepLogs, "keep-logs", false, "keep the processes' logs even when every target was met")
	if err := benchkit.ParseFlags(fs, args); err != nil {
		return o, err
	}
	for f := range strings.SplitSeq(runs, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > len(scenarios) {
			return o, fmt.Errorf("%w: -run takes scenario numbers from 1 to %d, got %q", benchkit.ErrUsage, len(scenarios), f)
		}
		if !slices.Contains(o.runs, n) {
			o.runs = append(o.runs, n)
		}
	}
	slices.Sort(o.runs)
	switch {
	case o.worker == "":
		return o, fmt.Errorf("%w: -worker is required (the emailworker binary, e.g. .local/bin/emailworker)", benchkit.ErrUsage)
	case o.api == "":
		return o, fmt.Errorf("%w: -api is required (the api binary, e.g. .local/bin/api)", benchkit.ErrUsage)
	case o.smtpOutage < time.Second || o.smtpOutage > 30*time.Minute:
		return o, fmt.Errorf("%w: -smtp-outage must be from 1s to 30m", benchkit.ErrUsage)
	case o.redisOutage < time.Second || o.redisOutage > 10*time.Minute:
		return o, fmt.Errorf("%w: -redis-outage must be from 1s to 10m", benchkit.ErrUsage)
	case o.sinkDelay < 0 || o.sinkDelay > time.Second:
		return o, fmt.Errorf("%w: -sink-delay must be from 0 to 1s", benchkit.ErrUsage)
	case o.kills < 1 || o.kills > 100:
		return o, fmt.Errorf("%w: -kills must be from 1 to 100", benchkit.ErrUsage)
	}
	return o, nil
}

// environment is what every scenario shares: the binaries, the database, where the logs go.
type environment struct {
	opts   options
	worker string // absolute paths of the binaries
	api    string
	dbURL  string // the database of the run: DATABASE_URL's with _faults appended
	dir    string // the processes' logs, a directory per scenario
	stderr io.Writer
}

func newEnvironment(o options, stderr io.Writer) (*environment, error) {
	worker, err := binary("-worker", o.worker)
	if err != nil {
		return nil, err
	}
	api, err := binary("-api", o.api)
	if err != nil {
		return nil, err
	}
	base := os.Getenv("DATABASE_URL")
	if base == "" {
		base = config.Defaults[config.Database]().DatabaseURL // the binaries' own default
	}
	dbURL, err := benchkit.SiblingDatabaseURL(base, "_faults")
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "oes-faults-")
	if err != nil {
		return nil, err
	}
	return &environment{opts: o, worker: worker, api: api, dbURL: dbURL, dir: dir, stderr: stderr}, nil
}

func (e *environment) progress(format string, args ...any) {
	fmt.Fprintf(e.stderr, "faults: "+format+"\n", args...)
}

// binary returns the absolute path of the binary flag names, which must exist.
func binary(flag, path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(abs); err != nil {
		return "", fmt.Errorf("%s: %w (make build writes .local/bin/api and .local/bin/emailworker)", flag, err)
	}
	return abs, nil
}
