package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/testkit/redistest"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

func status(url string) int {
	resp, err := http.Get(url)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// The worker serves its probes, reports Redis's state in readiness, and stops cleanly.
func TestWorkerProbesAndCleanStop(t *testing.T) {
	srv := redistest.StartServer(t)
	addr := freeAddr(t)
	t.Setenv("REDIS_URL", srv.URL())
	t.Setenv("HEALTH_ADDR", addr)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var logs bytes.Buffer
	go func() { done <- run(ctx, nil, &bytes.Buffer{}, &logs) }()

	require.Eventually(t, func() bool { return status("http://"+addr+"/readyz") == 200 }, 10*time.Second, 20*time.Millisecond)
	require.Equal(t, 200, status("http://"+addr+"/healthz"))

	srv.Stop()
	require.Eventually(t, func() bool { return status("http://"+addr+"/readyz") == 503 }, 10*time.Second, 50*time.Millisecond)
	require.Equal(t, 200, status("http://"+addr+"/healthz"), "liveness does not depend on Redis")
	srv.Start()
	require.Eventually(t, func() bool { return status("http://"+addr+"/readyz") == 200 }, 10*time.Second, 50*time.Millisecond)

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(25 * time.Second):
		t.Fatal("worker did not stop")
	}
	require.Contains(t, logs.String(), "worker initialized")
	require.Contains(t, logs.String(), "worker stopped")
}

func TestWorkerBadConfigNamesTheVariable(t *testing.T) {
	t.Setenv("SHUTDOWN_TIMEOUT", "never")
	err := run(context.Background(), nil, &bytes.Buffer{}, &bytes.Buffer{})
	require.ErrorContains(t, err, "SHUTDOWN_TIMEOUT")
}
