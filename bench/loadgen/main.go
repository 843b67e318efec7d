// Command loadgen measures GET /api/v1/exams/:id/questions of the api with a hot cache against
// two references measured in the same run on the same machine: a plain net/http handler that
// writes the same bytes from memory (the ceiling) and the api with caching disabled. It prints
// requests/s, p50 and p99 of each, the api's memory, and whether the performance targets are
// met.
//
//	loadgen -bin .local/bin/api [-duration 10s] [-warmup 2s] [-conns 64] [-rounds 1] [-markdown PATH]
//
// DATABASE_URL and REDIS_URL name the services (deploy/local/with-services.sh provides them);
// loadgen runs `api migrate` and `api seed` first. Every server is a separate process with the
// same GOMAXPROCS, measured one at a time, and stopped when loadgen ends, Ctrl-C included.
//
// The exit status is 0 when the measurement completed, whether or not the targets were met,
// 1 when it could not run or a request failed, and 2 for a usage error.
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
	benchkit.Main("loadgen", "servers", func(ctx context.Context) error {
		return run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	})
}

// options are the command-line flags.
type options struct {
	bin      string
	duration time.Duration
	warmup   time.Duration
	conns    int
	rounds   int
	markdown string

	// ceilingDir and ceilingAddr make this process the ceiling server instead: loadgen starts
	// a copy of itself with them, so that the ceiling runs as its own process like the api.
	ceilingDir  string
	ceilingAddr string
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	if o.ceilingDir != "" {
		return serveCeiling(ctx, o.ceilingDir, o.ceilingAddr)
	}
	return bench(ctx, o, stdout, stderr)
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	// -serve-ceiling and -addr are for loadgen's own use and stay out of -help.
	fs := benchkit.NewFlagSet("loadgen", stderr, "Usage: loadgen -bin PATH [flags]\n"+
		"Measures the hot-cache api, with its rate limits off and as shipped (on), against a plain net/http handler and the uncached api.", "serve-ceiling", "addr")
	fs.StringVar(&o.bin, "bin", "", "path of the api binary (required)")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "measured time per target and round")
	fs.DurationVar(&o.warmup, "warmup", 2*time.Second, "unmeasured load before each measured run")
	fs.IntVar(&o.conns, "conns", 64, "concurrent connections, one request in flight on each")
	fs.IntVar(&o.rounds, "rounds", 1, "rounds over the targets in rotating order; the median round is reported")
	fs.StringVar(&o.markdown, "markdown", "", "also write the results as markdown to this file")
	fs.StringVar(&o.ceilingDir, "serve-ceiling", "", "")
	fs.StringVar(&o.ceilingAddr, "addr", "", "")
	if err := benchkit.ParseFlags(fs, args); err != nil {
		return o, err
	}
	if o.ceilingDir != "" {
		if o.ceilingAddr == "" {
			return o, fmt.Errorf("%w: -serve-ceiling needs -addr", benchkit.ErrUsage)
		}
		return o, nil
	}
	switch {
	case o.bin == "":
		return o, fmt.Errorf("%w: -bin is required (the api binary, e.g. .local/bin/api)", benchkit.ErrUsage)
	case o.duration <= 0:
		return o, fmt.Errorf("%w: -duration must be positive", benchkit.ErrUsage)
	case o.warmup < 0:
		return o, fmt.Errorf("%w: -warmup must not be negative", benchkit.ErrUsage)
	case o.conns < 1:
		return o, fmt.Errorf("%w: -conns must be at least 1", benchkit.ErrUsage)
	case o.rounds < 1:
		return o, fmt.Errorf("%w: -rounds must be at least 1", benchkit.ErrUsage)
	}
	return o, nil
}
