package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/redis/go-redis/v9"
)

// probes is the worker's small HTTP server for Kubernetes and Prometheus: /healthz says the
// process lives, /readyz that the queue's Redis and Postgres answer, /metrics serves the
// worker's metrics.
type probes struct {
	addr string
	srv  *http.Server
}

func startProbes(addr string, rdb *redis.Client, db pinger, metrics http.Handler, log *slog.Logger) (*probes, error) {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, `{"status":"ok"}`)
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), time.Second)
		defer cancel()
		redisUp, pgUp := rdb.Ping(ctx).Err() == nil, db.Ping(ctx) == nil
		status, code := "ready", http.StatusOK
		if !redisUp || !pgUp {
			status, code = "not ready", http.StatusServiceUnavailable
		}
		writeJSON(w, code, fmt.Sprintf(`{"status":%q,"redis":%q,"postgres":%q}`, status, upDown(redisUp), upDown(pgUp)))
	})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("HEALTH_ADDR: %w", err)
	}
	p := &probes{addr: ln.Addr().String(), srv: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}}
	go func() {
		if err := p.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("health server stopped", "err", err)
		}
	}()
	return p, nil
}

type pinger interface {
	Ping(ctx context.Context) error
}

func upDown(up bool) string {
	if up {
		return "up"
	}
	return "down"
}

func (p *probes) stop(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	_ = p.srv.Shutdown(ctx)
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}
