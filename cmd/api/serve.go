package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/oeshq/oes/cmd/api/internal/httpapi"
	"github.com/oeshq/oes/pkg/attempt"
	"github.com/oeshq/oes/pkg/exam"
	"github.com/oeshq/oes/pkg/infra/auth"
	"github.com/oeshq/oes/pkg/infra/cache"
	"github.com/oeshq/oes/pkg/infra/metrics"
	"github.com/oeshq/oes/pkg/infra/outbox"
	"github.com/oeshq/oes/pkg/infra/queue"
	"github.com/oeshq/oes/pkg/infra/store"
	"github.com/oeshq/oes/pkg/profile"
)

// startupPing bounds each dependency check at start-up. A dependency that does not answer
// in time is logged and the api starts anyway: the cache fails open, Postgres outages are
// answered with 503 and reported by /readyz until it returns.
const startupPing = 3 * time.Second

// checkAtStartup logs whether a dependency answers ping within startupPing: ok when it does,
// unavailable (a warning, with the error) when it does not. Either way the api starts.
func checkAtStartup(ctx context.Context, log *slog.Logger, ping func(context.Context) error, ok, unavailable string) {
	ctx, cancel := context.WithTimeout(ctx, startupPing)
	defer cancel()
	if err := ping(ctx); err != nil {
		log.Warn(unavailable, "err", err)
		return
	}
	log.Info(ok)
}

// serve opens the dependencies in order (the cache's Redis, the email queue, Postgres), serves
// HTTP until ctx is cancelled, then drains in-flight requests within the shutdown timeout and
// closes in reverse order.
func serve(ctx context.Context, cfg Config, log *slog.Logger) error {
	if err := cfg.RequireSecret(); err != nil {
		return err
	}
	tokens, err := auth.New([]byte(cfg.JWTSecret), cfg.JWTTTL)
	if err != nil {
		return fmt.Errorf("JWT_SECRET/JWT_TTL: %w", err)
	}
	sealer, err := openSealer(cfg, log)
	if err != nil {
		return err
	}
	log.Info("api starting", "http_addr", cfg.HTTPAddr, "cache_enabled", cfg.CacheEnabled)

	var c *cache.Cache
	if cfg.CacheEnabled {
		var err error
		c, err = cache.New(cfg.CacheURL(cfg.RedisURL), cfg.CacheConfig(), log)
		if err != nil {
			return fmt.Errorf("CACHE_REDIS_URL/REDIS_URL: %w", err)
		}
		defer c.Close()
		checkAtStartup(ctx, log, c.Ping, "redis connected", "redis unavailable; caching is off until it returns")
	}

	limits, closeLimits, err := openLimits(cfg, log)
	if err != nil {
		return err
	}
	defer closeLimits()

	// The api writes emails to the outbox in Postgres; the queue's Redis serves only the
	// dashboard here. Its client dials lazily: with its Redis down the api serves all the same.
	q, err := queue.New(cfg.ClientConfig(cfg.Redis))
	if err != nil {
		return fmt.Errorf("QUEUE_REDIS_URL/REDIS_URL: %w", err)
	}
	defer q.Close()
	checkAtStartup(ctx, log.With("prefix", cfg.QueuePrefix), q.Ping, "queue connected",
		"email queue unavailable; its dashboard answers 503 until it returns (emails wait in the outbox)")

	pool, err := store.Open(ctx, cfg.DatabaseURL, cfg.DatabaseMaxConns)
	if err != nil {
		return fmt.Errorf("DATABASE_URL: %w", err)
	}
	defer pool.Close()
	st := store.New(pool)
	checkAtStartup(ctx, log, st.Ping, "postgres connected", "postgres unavailable; answering 503 until it returns")

	profiles, err := profile.NewService(st, c, sealer, log)
	if err != nil {
		return err
	}
	// The profiles hold the role and token version every request is checked against, so the
	// account changes that revoke tokens drop them.
	accounts, err := newAccounts(cfg, st, tokens, profiles, log)
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		metrics.NewPoolCollector(pool))
	if c != nil {
		reg.MustRegister(metrics.NewCacheCollector(c))
	}
	exams := exam.NewService(st, c, log).WithReminders(cfg.ReminderOffsets)
	handler := httpapi.NewRouter(httpapi.Deps{
		Log:            log,
		Exams:          exams,
		Accounts:       accounts,
		Attempts:       attempt.NewService(st, exams, c, cfg.EmailAttempts, log).WithSealer(sealer),
		Tokens:         tokens,
		Outbox:         outbox.NewService(st),
		Dashboard:      httpapi.NewDashboard(q),
		Cache:          c,
		DB:             st,
		Profiles:       profiles,
		Limits:         limits,
		TrustedProxies: cfg.TrustedProxies,
		HSTSMaxAge:     cfg.HSTSMaxAge,
		AllowedOrigins: cfg.CORSAllowedOrigins,
		Metrics:        reg,
	})
	srv := &http.Server{
		Addr:              cfg.HTTPAddr,
		Handler:           handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("HTTP_ADDR: %w", err)
	}
	log.Info("api listening", "addr", ln.Addr().String())

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	stopMetrics, err := serveMetrics(cfg.MetricsAddr, reg, log)
	if err != nil {
		_ = srv.Close()
		return err
	}
	defer stopMetrics(ctx)

	select {
	case err := <-serveErr:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	log.Info("api shutting down", "timeout", cfg.ShutdownTimeout)
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		_ = srv.Close()
		return fmt.Errorf("shutdown: in-flight requests did not finish in %s: %w", cfg.ShutdownTimeout, err)
	}
	// The emails the last requests asked for are written before the database closes.
	accounts.Wait()
	if err := <-serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("api stopped")
	return nil
}

// serveMetrics serves reg's /metrics on its own listener at addr, none when addr is empty,
// and returns the function that stops it. Prometheus scrapes without an access token, so the
// endpoint stays off the API's address: the network decides who may read it.
func serveMetrics(addr string, reg *prometheus.Registry, log *slog.Logger) (stop func(context.Context), err error) {
	if addr == "" {
		return func(context.Context) {}, nil
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("METRICS_ADDR: %w", err)
	}
	log.Info("metrics listening", "addr", ln.Addr().String())
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics server stopped", "err", err)
		}
	}()
	return func(ctx context.Context) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}
