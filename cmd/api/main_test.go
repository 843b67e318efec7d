package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/infra/queue/queuetest"
	"github.com/oeshq/oes/pkg/testkit/logtest"
	"github.com/oeshq/oes/pkg/testkit/nettest"
	"github.com/oeshq/oes/pkg/testkit/pgtest"
	"github.com/oeshq/oes/pkg/testkit/redistest"
)

// The test binary doubles as the api binary when OES_TEST_RUN_MAIN is set, so that exit codes
// and output are those of the real main.
func TestMain(m *testing.M) {
	if os.Getenv("OES_TEST_RUN_MAIN") == "1" {
		os.Args = append([]string{"api"}, strings.Fields(os.Getenv("OES_TEST_ARGS"))...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func runMain(t *testing.T, args string, env ...string) (string, int) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), append([]string{"OES_TEST_RUN_MAIN=1", "OES_TEST_ARGS=" + args}, env...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return out.String(), code
}

func TestBadConfigExitsNamingTheVariable(t *testing.T) {
	t.Parallel()
	for _, env := range []string{"CACHE_DEFAULT_TTL=forever", "LOG_LEVEL=loud", "DATABASE_URL=mysql://x/y", "CACHE_LOCAL_SIZE=big",
		"JWT_SECRET=too-short", "JWT_TTL=0s", "APP_BASE_URL=example.org", "VERIFY_TOKEN_TTL=never", "QUEUE_PREFIX=no spaces"} {
		out, code := runMain(t, "", env)
		require.Equal(t, 1, code, out)
		require.Contains(t, out, strings.SplitN(env, "=", 2)[0])
	}
}

func TestHelpListsEveryVariable(t *testing.T) {
	t.Parallel()
	out, code := runMain(t, "--help")
	require.Equal(t, 0, code, out)
	for _, v := range []string{"DATABASE_URL", "REDIS_URL", "CACHE_REDIS_URL", "QUEUE_REDIS_URL", "HTTP_ADDR",
		"CACHE_DEFAULT_TTL", "CACHE_LOCAL_SIZE", "SHUTDOWN_TIMEOUT", "LOG_FORMAT", "LOG_LEVEL", "JWT_SECRET", "JWT_TTL", "APP_BASE_URL", "VERIFY_TOKEN_TTL", "RESET_TOKEN_TTL",
		"QUEUE_PREFIX", "EMAIL_ATTEMPTS", "METRICS_ADDR", "migrate", "seed"} {
		require.Contains(t, out, v)
	}
	require.NotContains(t, out, "ADMIN_TOKEN")
	require.NotContains(t, out, "EMAIL_JOB_TIMEOUT", "the worker's alone: it puts the outbox's emails on the queue")
}

func TestServeRefusesToStartWithoutJWTSecret(t *testing.T) {
	t.Parallel()
	out, code := runMain(t, "serve", "JWT_SECRET=")
	require.Equal(t, 1, code, out)
	require.Contains(t, out, "JWT_SECRET")
	require.NotContains(t, out, "api listening")
}

func TestUnknownCommandFails(t *testing.T) {
	t.Parallel()
	out, code := runMain(t, "frobnicate")
	require.Equal(t, 1, code)
	require.Contains(t, out, "frobnicate")
}

func TestServeShutsDownCleanly(t *testing.T) {
	// Not parallel: it sets environment variables.
	logs, stop := startServe(t)
	stop()
	require.Contains(t, logs.String(), "metrics listening")
	for _, line := range []string{"redis connected", "queue connected", "postgres connected", "api listening", "api stopped"} {
		require.Contains(t, logs.String(), line)
	}
	require.Less(t, strings.Index(logs.String(), "redis connected"), strings.Index(logs.String(), "queue connected"),
		"the cache's Redis is connected before the queue")
	require.Less(t, strings.Index(logs.String(), "queue connected"), strings.Index(logs.String(), "postgres connected"),
		"the queue is connected before Postgres")
	require.NotContains(t, logs.String(), testSecret, "the secret is never logged")
}

func TestServeStartsWithTheQueueDown(t *testing.T) {
	// Not parallel: it sets environment variables.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	dead := ln.Addr().String()
	require.NoError(t, ln.Close())
	t.Setenv("QUEUE_REDIS_URL", "redis://"+dead+"/0")

	logs, stop := startServe(t)
	stop()
	require.Contains(t, logs.String(), "email queue unavailable")
	require.NotContains(t, logs.String(), "queue connected")
}

// The metrics are served on METRICS_ADDR, and only there: scrapes carry no access token.
func TestServeServesMetricsOnItsOwnAddress(t *testing.T) {
	// Not parallel: it sets environment variables.
	metricsAddr := nettest.FreeAddr(t)
	t.Setenv("METRICS_ADDR", metricsAddr)
	_, stop := startServe(t)
	defer stop()

	resp, err := get(t, "http://"+metricsAddr+"/metrics")
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	out := string(body)
	// startServe waited for /readyz.
	require.Contains(t, out, `oes_http_requests_total{method="GET",route="/readyz",status="200"}`)
	for _, name := range []string{"oes_http_request_duration_seconds_bucket", "oes_cache_hits_total", "oes_cache_local_hits_total",
		"oes_cache_misses_total", "oes_cache_errors_total", "oes_db_pool_max_conns", "oes_db_pool_acquires_total", "go_goroutines"} {
		require.Contains(t, out, "\n"+name)
	}

	resp, err = get(t, "http://"+os.Getenv("HTTP_ADDR")+"/metrics")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNotFound, resp.StatusCode, "the API's address does not serve the metrics")
}

// get sends a GET to url with http.DefaultClient, within t's context.
func get(t *testing.T, url string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	return http.DefaultClient.Do(req)
}

const testSecret = "a-secret-of-at-least-32-bytes-for-this-test"

// startServe runs serve in this process on a free port until stop, which fails the test if
// serve does not return cleanly. It returns once /readyz answers 200.
func startServe(t *testing.T) (logs *logtest.Buffer, stop func()) {
	t.Helper()
	addr := nettest.FreeAddr(t)
	if os.Getenv("METRICS_ADDR") == "" {
		t.Setenv("METRICS_ADDR", nettest.FreeAddr(t))
	}
	t.Setenv("DATABASE_URL", pgtest.URL(t))
	t.Setenv("REDIS_URL", redistest.URL(t))
	t.Setenv("CACHE_NAMESPACE", redistest.Namespace(t))
	t.Setenv("HTTP_ADDR", addr)
	t.Setenv("JWT_SECRET", testSecret)
	t.Setenv("CACHE_ENCRYPTION_KEY", testCacheKey)
	t.Setenv("QUEUE_PREFIX", queuetest.Config(t).QueuePrefix)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	logs = &logtest.Buffer{}
	go func() { done <- run(ctx, nil, strings.NewReader(""), &bytes.Buffer{}, logs) }()

	ready := func() bool {
		resp, err := get(t, "http://"+addr+"/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}
	for deadline := time.Now().Add(15 * time.Second); !ready(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("the api did not become ready; its log:\n%s", logs)
		}
	}

	return logs, func() {
		cancel()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(25 * time.Second):
			t.Fatal("serve did not return after cancellation")
		}
	}
}
