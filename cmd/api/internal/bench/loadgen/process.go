package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

const (
	// readyWithin bounds a server's start-up, until its /readyz answers 200.
	readyWithin = 30 * time.Second
	// stopWithin is how long a server has to exit after SIGTERM before it is killed.
	stopWithin = 10 * time.Second
	// toolWithin bounds `api migrate` and `api seed`.
	toolWithin = 5 * time.Minute
)

// process is a server started by loadgen. Its output goes to a file, so that a chatty server
// costs the load generator nothing and its last lines can be shown when something goes wrong.
type process struct {
	name    string
	addr    string // host:port it listens on
	logPath string
	cmd     *exec.Cmd
	exited  chan struct{} // closed once the process has been reaped; waitErr is then set
	waitErr error
}

// processes owns every server loadgen starts, so that one deferred stopAll ends them all.
type processes struct {
	dir  string
	list []*process
}

// start runs bin with args and env, its output going to a log file under ps.dir. The process
// gets its own process group: a Ctrl-C in the terminal reaches loadgen only, which then stops
// the servers itself.
func (ps *processes) start(name, addr, bin string, args, env []string) (*process, error) {
	logPath := filepath.Join(ps.dir, fileName(name)+".log")
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer f.Close() // the child has its own copy of the descriptor
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = childAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &process{name: name, addr: addr, logPath: logPath, cmd: cmd, exited: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	ps.list = append(ps.list, p)
	return p, nil
}

// stopAll stops the servers, last started first.
func (ps *processes) stopAll() {
	for i := len(ps.list) - 1; i >= 0; i-- {
		ps.list[i].stop()
	}
	ps.list = nil
}

func (p *process) pid() int { return p.cmd.Process.Pid }

func (p *process) alive() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// stop asks the process to shut down and kills it when it does not within stopWithin.
func (p *process) stop() {
	if !p.alive() {
		return
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		_ = p.cmd.Process.Kill()
	}
	select {
	case <-p.exited:
	case <-time.After(stopWithin):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// diedError describes a server that exited on its own, with the end of its output.
func (p *process) diedError() error {
	return fmt.Errorf("%s exited: %v%s", p.name, p.waitErr, indentTail(readTail(p.logPath, 20)))
}

// waitReady polls the server's /readyz until it answers 200.
func (p *process) waitReady(ctx context.Context) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(readyWithin)
	url := "http://" + p.addr + "/readyz"
	for {
		if !p.alive() {
			return p.diedError()
		}
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready within %s (last answer: %v)%s", p.name, readyWithin, err,
				indentTail(readTail(p.logPath, 20)))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// runTool runs one of the api's one-shot subcommands to completion.
func runTool(ctx context.Context, bin string, env []string, sub string) error {
	ctx, cancel := context.WithTimeout(ctx, toolWithin)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, sub)
	cmd.Env = env
	cmd.SysProcAttr = childAttr()
	out, err := cmd.CombinedOutput()
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			err = fmt.Errorf("did not finish within %s", toolWithin)
		}
		return fmt.Errorf("api %s: %w%s", sub, err, indentTail(lastLines(out, 20)))
	}
	return nil
}

// freeAddr returns a loopback address nothing listens on at the moment of the call.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	return addr, ln.Close()
}

// childEnv is loadgen's environment with the given variables set, replacing any inherited
// value of the same name.
func childEnv(set ...string) []string {
	override := make(map[string]bool, len(set))
	for _, kv := range set {
		k, _, _ := strings.Cut(kv, "=")
		override[k] = true
	}
	var env []string
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); !override[k] {
			env = append(env, kv)
		}
	}
	return append(env, set...)
}

func readTail(path string, n int) []byte {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	return lastLines(b, n)
}

func lastLines(b []byte, n int) []byte {
	b = bytes.TrimRight(b, "\n")
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == '\n' {
			if n--; n == 0 {
				return b[i+1:]
			}
		}
	}
	return b
}

// fileName turns a process name such as "ceiling (net/http)" into "ceiling-net-http".
func fileName(name string) string {
	f := strings.FieldsFunc(strings.ToLower(name), func(r rune) bool {
		return (r < 'a' || r > 'z') && (r < '0' || r > '9')
	})
	return strings.Join(f, "-")
}

// indentTail formats a server's output for the end of an error message.
func indentTail(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return "\n    " + strings.ReplaceAll(string(b), "\n", "\n    ")
}
