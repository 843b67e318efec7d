package benchkit

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
)

// ErrUsage marks a mistake in the command line; Main exits with status 2 for an error that
// wraps it.
var ErrUsage = errors.New("usage")

// Main runs a benchmark program and exits with its status: 0 when run returns nil or
// flag.ErrHelp, 2 for an error wrapping ErrUsage, 1 for any other error, and 130 when a signal
// interrupted it. Errors are printed after name; children names what the program starts, for
// the line printed after an interrupt ("the <children> it started are stopped").
//
// The first SIGINT or SIGTERM cancels run's context, for an orderly stop. A second one kills
// the program at once, and the processes its Groups started with it (see Group.Start).
func Main(name, children string, run func(ctx context.Context) error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop()
	}()
	err := run(ctx)
	interrupted := ctx.Err() != nil
	stop()
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
	case interrupted:
		fmt.Fprintf(os.Stderr, "%s: interrupted; the %s it started are stopped\n", name, children)
		os.Exit(130)
	case errors.Is(err, ErrUsage):
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(1)
	}
}

// NewFlagSet returns the flag set of a benchmark program's command line, which writes its
// errors and help to stderr. The help is usage, then every flag but those named hidden: the
// flags a program passes only to the copies of itself it starts.
func NewFlagSet(name string, stderr io.Writer, usage string, hidden ...string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, usage)
		fs.VisitAll(func(f *flag.Flag) {
			if slices.Contains(hidden, f.Name) {
				return
			}
			arg, text := flag.UnquoteUsage(f)
			fmt.Fprintf(stderr, "  -%s %s\n    \t%s", f.Name, arg, text)
			if f.DefValue != "" && f.DefValue != "0" {
				fmt.Fprintf(stderr, " (default %s)", f.DefValue)
			}
			fmt.Fprintln(stderr)
		})
	}
	return fs
}

// ParseFlags parses args into fs and refuses arguments left over after the flags with an
// error wrapping ErrUsage.
func ParseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected arguments %s", ErrUsage, strings.Join(fs.Args(), " "))
	}
	return nil
}
