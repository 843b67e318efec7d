package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// contentTypeJSON is the api's Content-Type for JSON bodies; the ceiling sends the same.
const contentTypeJSON = "application/json; charset=utf-8"

// serveCeiling is the ceiling reference: it serves the file <id>.json of dir at
// GET /api/v1/exams/{id}/questions from memory, with nothing between the standard library's
// server and the bytes. It frames the body as the api does, with Content-Type and
// Content-Length and one Write, so both put the same bytes on the wire but for the api's
// request id header.
func serveCeiling(ctx context.Context, dir, addr string) error {
	bodies, err := loadBodies(dir)
	if err != nil {
		return err
	}
	lengths := make(map[string]string, len(bodies))
	for id, b := range bodies {
		lengths[id] = strconv.Itoa(len(b))
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/exams/{id}/questions", func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		b, ok := bodies[id]
		if !ok {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h.Set("Content-Type", contentTypeJSON)
		h.Set("Content-Length", lengths[id])
		_, _ = w.Write(b)
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
	})

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	select {
	case err := <-serveErr:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-serveErr; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// loadBodies reads every <id>.json of dir, keyed by id as it appears in the path.
func loadBodies(dir string) (map[string][]byte, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	bodies := make(map[string][]byte, len(entries))
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		bodies[id] = b
	}
	if len(bodies) == 0 {
		return nil, fmt.Errorf("no <id>.json bodies in %s", dir)
	}
	return bodies, nil
}

// writeBodies stores the bodies the ceiling will serve, one file per exam id.
func writeBodies(dir string, ids []int64, bodies [][]byte) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	for i, id := range ids {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%d.json", id)), bodies[i], 0o600); err != nil {
			return err
		}
	}
	return nil
}
