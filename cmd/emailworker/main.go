// Command emailworker delivers the email queue's jobs. It is deployed apart from the api and
// scaled on its own; it serves only health probes over HTTP.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/redis/rueidis"

	"github.com/oeshq/oes/pkg/config"
	"github.com/oeshq/oes/pkg/logging"
)

// Config is everything the worker reads from the environment.
type Config struct {
	config.Redis
	config.Shutdown
	config.Log
	HealthAddr string `envconfig:"HEALTH_ADDR" default:":8081" desc:"address of the worker's /healthz and /readyz"`
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case errors.Is(err, config.ErrHelp):
	case err != nil:
		fmt.Fprintln(os.Stderr, "emailworker:", err)
		os.Exit(1)
	}
}

// run connects to the queue's Redis, serves the probes, and waits for SIGINT or SIGTERM.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cfg Config
	if err := config.Load(&cfg, args, stdout); err != nil {
		return err
	}
	log := logging.New(stderr, string(cfg.LogFormat), cfg.LogLevel.Level())

	opt, err := rueidis.ParseURL(cfg.QueueURL())
	if err != nil {
		return fmt.Errorf("QUEUE_REDIS_URL/REDIS_URL: not a valid Redis URL")
	}
	opt.DisableCache = true
	opt.Dialer.Timeout = time.Second
	redis := newLazyRedis(opt)
	defer redis.Close()

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeStatus(w, http.StatusOK, `{"status":"ok"}`)
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		pingCtx, cancel := context.WithTimeout(r.Context(), time.Second)
		defer cancel()
		if err := redis.Ping(pingCtx); err != nil {
			writeStatus(w, http.StatusServiceUnavailable, `{"status":"not ready","redis":"down"}`)
			return
		}
		writeStatus(w, http.StatusOK, `{"status":"ready","redis":"up"}`)
	})
	ln, err := net.Listen("tcp", cfg.HealthAddr)
	if err != nil {
		return fmt.Errorf("HEALTH_ADDR: %w", err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("health server stopped", "err", err)
		}
	}()

	log.Info("worker initialized", "health_addr", ln.Addr().String())
	<-ctx.Done()
	log.Info("worker shutting down", "timeout", cfg.ShutdownTimeout)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("worker stopped")
	return nil
}

func writeStatus(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// lazyRedis connects on first use and again after a failure, so the worker starts and
// reports not-ready while Redis is down instead of exiting.
type lazyRedis struct {
	opt    rueidis.ClientOption
	client chan rueidis.Client // holds at most one connected client; doubles as a lock
}

func newLazyRedis(opt rueidis.ClientOption) *lazyRedis {
	l := &lazyRedis{opt: opt, client: make(chan rueidis.Client, 1)}
	l.client <- nil
	return l
}

func (l *lazyRedis) Ping(ctx context.Context) error {
	c := <-l.client
	defer func() { l.client <- c }()
	if c == nil {
		var err error
		if c, err = rueidis.NewClient(l.opt); err != nil {
			return err
		}
	}
	return c.Do(ctx, c.B().Ping().Build()).Error()
}

func (l *lazyRedis) Close() {
	if c := <-l.client; c != nil {
		c.Close()
	}
	l.client <- nil
}
