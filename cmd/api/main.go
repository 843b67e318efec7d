// Command api is the online examination system's HTTP API. It is stateless: every replica
// shares Postgres and Redis, so any number run behind a load balancer.
//
//	api [serve]   serve HTTP (the default)
//	api migrate   create the database if needed and apply the schema migrations
//	api seed      load the demo data set (idempotent)
//	api admin     create an admin account, or change an account's role
//	api --help    list every configuration variable with its default
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/oeshq/oes/pkg/config"
	"github.com/oeshq/oes/pkg/infra/logging"
	"github.com/oeshq/oes/pkg/infra/queue"
)

// Config is everything the api reads from the environment.
type Config = config.API

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	switch {
	case errors.Is(err, config.ErrHelp):
	case err != nil:
		fmt.Fprintln(os.Stderr, "api:", err)
		os.Exit(1)
	}
}

const commands = `Usage: api [serve|migrate|seed|admin] [--help]

  serve     serve the HTTP API (default)
  migrate   create the database if it does not exist and apply every schema migration
  seed      load the demo data set: 100 exams of 50 questions, an admin and a student
            (for local runs: their passwords are published)
  admin     admin create --email <address> [--name <name>] < password
            admin set-role --email <address> --role admin|student

`

// run executes one subcommand until it finishes or ctx is cancelled (SIGINT, SIGTERM).
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	var cfg Config
	if isHelp(args) {
		fmt.Fprint(stdout, commands)
	}
	if err := config.Load(&cfg, args, stdout); err != nil {
		return err
	}
	log := logging.New(stderr, string(cfg.LogFormat), cfg.LogLevel.Level())
	queue.LogRedisTo(log)

	switch cmd {
	case "serve":
		return serve(ctx, cfg, log)
	case "migrate":
		return migrate(ctx, cfg, log)
	case "seed":
		return seed(ctx, cfg, log)
	case "admin":
		return adminCmd(ctx, cfg, args, stdin, log)
	default:
		return fmt.Errorf("unknown command %q; want serve, migrate, seed or admin", cmd)
	}
}

func isHelp(args []string) bool {
	for _, a := range args {
		if a == "-h" || a == "-help" || a == "--help" {
			return true
		}
	}
	return false
}
