package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const (
	// readyWithin bounds a process's start-up: /readyz answering 200, or a sender saying
	// ready (which includes composing its messages).
	readyWithin = 60 * time.Second
	// stopWithin is how long a process has to exit after SIGTERM before it is killed.
	stopWithin = 15 * time.Second
	// toolWithin bounds `api migrate`.
	toolWithin = 5 * time.Minute
)

// process is a process started by drain. Its stderr (and stdout, unless drain talks to it
// there) goes to a file, so that a chatty process costs drain nothing and its last lines can
// be shown when something goes wrong.
type process struct {
	name    string
	logPath string
	cmd     *exec.Cmd
	stdin   io.WriteCloser // for senders only
	lines   chan string    // what a sender writes on stdout, a line at a time; closed at EOF
	exited  chan struct{}  // closed once the process has been reaped; waitErr is then set
	waitErr error
}

// processes owns every process drain starts, so that one deferred stopAll ends them all.
type processes struct {
	dir  string
	list []*process
}

// start runs bin with args and env. With talk, drain writes to its stdin and reads its
// stdout. The process gets its own process group: a Ctrl-C in the terminal reaches drain
// only, which then stops the processes itself.
func (ps *processes) start(name, bin string, args, env []string, talk bool) (*process, error) {
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
	p := &process{name: name, logPath: logPath, cmd: cmd, exited: make(chan struct{})}
	var stdout io.Reader
	if talk {
		cmd.Stdout = nil
		if p.stdin, err = cmd.StdinPipe(); err != nil {
			return nil, err
		}
		if stdout, err = cmd.StdoutPipe(); err != nil {
			return nil, err
		}
		p.lines = make(chan string, 4)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() {
		if stdout != nil {
			// Wait closes the stdout pipe, so every read from it must be done before Wait is
			// called; the pipe ends when the process does. A sender writes only its few
			// protocol lines: more than the buffer holds means it is confused, and a line
			// that nobody reads must not keep the process from being reaped.
			in := bufio.NewScanner(stdout)
			for in.Scan() {
				select {
				case p.lines <- in.Text():
				default:
				}
			}
			close(p.lines)
		}
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	ps.list = append(ps.list, p)
	return p, nil
}

// stopAll stops the processes, last started first.
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

// check returns an error when the process has exited.
func (p *process) check() error {
	if p.alive() {
		return nil
	}
	return p.diedError()
}

// stop asks the process to shut down and kills it when it does not within stopWithin.
func (p *process) stop() {
	if p.stdin != nil {
		_ = p.stdin.Close()
	}
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

// wait waits for the process to exit by itself and returns its error with its last lines.
func (p *process) wait(timeout time.Duration) error {
	select {
	case <-p.exited:
	case <-time.After(timeout):
		p.stop()
		return fmt.Errorf("%s did not exit within %s", p.name, timeout)
	}
	if p.waitErr != nil {
		return p.diedError()
	}
	return nil
}

// diedError describes a process that exited, with the end of its output.
func (p *process) diedError() error {
	return fmt.Errorf("%s exited: %v%s", p.name, p.waitErr, indentTail(readTail(p.logPath, 20)))
}

// expectLine waits for the sender to write want on its own line.
func (p *process) expectLine(ctx context.Context, want string, timeout time.Duration) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	select {
	case line, ok := <-p.lines:
		switch {
		case !ok:
			if err := p.wait(stopWithin); err != nil {
				return err
			}
			return fmt.Errorf("%s closed its output before saying %q", p.name, want)
		case line != want:
			return fmt.Errorf("%s said %q, want %q", p.name, line, want)
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-deadline.C:
		return fmt.Errorf("%s did not say %q within %s%s", p.name, want, timeout, indentTail(readTail(p.logPath, 20)))
	}
}

// say writes line to the sender's stdin.
func (p *process) say(line string) error {
	_, err := io.WriteString(p.stdin, line+"\n")
	return err
}

// waitReady polls the process's /readyz at addr until it answers 200, and returns when it
// did. It polls every few milliseconds, since the time of readiness starts a measurement.
func (p *process) waitReady(ctx context.Context, addr string) (time.Time, error) {
	tr := &http.Transport{MaxIdleConnsPerHost: 1}
	defer tr.CloseIdleConnections()
	client := &http.Client{Timeout: time.Second, Transport: tr}
	deadline := time.Now().Add(readyWithin)
	url := "http://" + addr + "/readyz"
	for {
		if err := p.check(); err != nil {
			return time.Time{}, err
		}
		resp, err := client.Get(url)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Now(), nil
			}
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		if time.Now().After(deadline) {
			return time.Time{}, fmt.Errorf("%s not ready within %s (last answer: %v)%s", p.name, readyWithin, err,
				indentTail(readTail(p.logPath, 20)))
		}
		select {
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		case <-time.After(2 * time.Millisecond):
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

func splitHostPort(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	return host, port, err
}

// childEnv is drain's environment with the given variables set, replacing any inherited
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

// fileName turns a process name such as "worker (round 1)" into "worker-round-1".
func fileName(name string) string {
	f := strings.FieldsFunc(strings.ToLower(name), func(r rune) bool {
		return (r < 'a' || r > 'z') && (r < '0' || r > '9')
	})
	return strings.Join(f, "-")
}

// indentTail formats a process's output for the end of an error message.
func indentTail(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return "\n    " + strings.ReplaceAll(string(b), "\n", "\n    ")
}
