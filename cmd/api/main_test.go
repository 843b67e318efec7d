package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

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
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), append([]string{"OES_TEST_RUN_MAIN=1", "OES_TEST_ARGS=" + args}, env...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return out.String(), code
}

func TestBadConfigExitsNamingTheVariable(t *testing.T) {
	t.Parallel()
	for _, env := range []string{"CACHE_DEFAULT_TTL=forever", "LOG_LEVEL=loud", "DATABASE_URL=mysql://x/y", "CACHE_LOCAL_SIZE=big"} {
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
		"CACHE_DEFAULT_TTL", "CACHE_LOCAL_SIZE", "SHUTDOWN_TIMEOUT", "LOG_FORMAT", "LOG_LEVEL", "ADMIN_TOKEN", "migrate", "seed"} {
		require.Contains(t, out, v)
	}
}

func TestUnknownCommandFails(t *testing.T) {
	t.Parallel()
	out, code := runMain(t, "frobnicate")
	require.Equal(t, 1, code)
	require.Contains(t, out, "frobnicate")
}

func TestServeShutsDownCleanly(t *testing.T) {
	// Not parallel: it sets environment variables.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())

	t.Setenv("DATABASE_URL", pgtest.URL(t))
	t.Setenv("REDIS_URL", redistest.URL(t))
	t.Setenv("CACHE_NAMESPACE", redistest.Namespace(t))
	t.Setenv("HTTP_ADDR", addr)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var logs bytes.Buffer
	go func() { done <- run(ctx, nil, &bytes.Buffer{}, &logs) }()

	require.Eventually(t, func() bool {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	}, 10*time.Second, 20*time.Millisecond)

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(25 * time.Second):
		t.Fatal("serve did not return after cancellation")
	}
	for _, line := range []string{"redis connected", "postgres connected", "api listening", "api stopped"} {
		require.Contains(t, logs.String(), line)
	}
	require.Less(t, strings.Index(logs.String(), "redis connected"), strings.Index(logs.String(), "postgres connected"),
		"Redis is connected before Postgres")
}
