package main

import (
	"context"
	"os/exec"
	"time"

	"github.com/oeshq/oes/bench/internal/benchkit"
)

const (
	// readyWithin bounds a server's start-up, until its /readyz answers 200.
	readyWithin = 30 * time.Second
	// stopWithin is how long a server has to exit after SIGTERM before it is killed.
	stopWithin = 10 * time.Second
	// toolWithin bounds `api migrate` and `api seed`.
	toolWithin = 5 * time.Minute
)

// server is a server started by loadgen, listening on addr (host:port). An api also serves
// its /metrics on metricsAddr; the ceiling serves none, and metricsAddr is "".
type server struct {
	*benchkit.Process
	addr        string
	metricsAddr string
}

// startAPI starts `api serve` with the variables of env, on a free loopback port, and its
// metrics listener on another: the apis run side by side, so none may take METRICS_ADDR's
// default port.
func startAPI(ctx context.Context, procs *benchkit.Group, name, bin string, env ...string) (*server, error) {
	metricsAddr, err := benchkit.FreeAddr()
	if err != nil {
		return nil, err
	}
	s, err := startServer(ctx, procs, name, bin, func(addr string) ([]string, []string) {
		return []string{"serve"}, benchkit.ChildEnv(append([]string{"HTTP_ADDR=" + addr, "METRICS_ADDR=" + metricsAddr}, env...)...)
	})
	if err != nil {
		return nil, err
	}
	s.metricsAddr = metricsAddr
	return s, nil
}

// startServer starts a server on a free loopback port and waits until its /readyz answers.
// command returns its arguments and environment for the address it must listen on.
func startServer(ctx context.Context, procs *benchkit.Group, name, bin string, command func(addr string) (args, env []string)) (*server, error) {
	addr, err := benchkit.FreeAddr()
	if err != nil {
		return nil, err
	}
	args, env := command(addr)
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	p, err := procs.Start(name, cmd)
	if err != nil {
		return nil, err
	}
	if _, err := p.WaitReady(ctx, addr, readyWithin, 100*time.Millisecond); err != nil {
		return nil, err
	}
	return &server{Process: p, addr: addr}, nil
}
