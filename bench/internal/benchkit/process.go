package benchkit

import (
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
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Group starts the processes of a benchmark run and stops them again: one deferred StopAll
// ends every process the run started, whichever way the run ends.
type Group struct {
	// Dir holds a log file per process, named after it.
	Dir string
	// StopWithin is how long a process has to exit after SIGTERM before it is killed.
	StopWithin time.Duration

	list []*Process
}

// Process is a process started by a Group. Its output goes to a log file, so that a chatty
// process costs the benchmark nothing and its last lines can be shown when something goes
// wrong.
type Process struct {
	name       string
	logPath    string
	cmd        *exec.Cmd
	stopWithin time.Duration
	exited     chan struct{} // closed once the process has been reaped; waitErr is then set
	waitErr    error
}

// Start starts cmd as the process called name. Its Stdout and Stderr, where nil, go to the
// log file; Start sets its SysProcAttr. A caller that reads the process's output must pass a
// pipe of its own (os.Pipe) rather than use cmd.StdoutPipe: Start reaps the process as soon
// as it exits, and Wait closes such a pipe under its reader.
//
// The process gets its own process group: a Ctrl-C in the terminal reaches the benchmark only,
// which then stops its processes itself. On Linux the kernel also kills the process when the
// benchmark dies without stopping it (a second Ctrl-C, SIGKILL), so that none outlives a run.
func (g *Group) Start(name string, cmd *exec.Cmd) (*Process, error) {
	logPath := filepath.Join(g.Dir, fileName(name)+".log")
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer f.Close() // the child has its own copy of the descriptor
	if cmd.Stdout == nil {
		cmd.Stdout = f
	}
	if cmd.Stderr == nil {
		cmd.Stderr = f
	}
	cmd.SysProcAttr = childAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &Process{name: name, logPath: logPath, cmd: cmd, stopWithin: g.StopWithin, exited: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	g.list = append(g.list, p)
	return p, nil
}

// StopAll stops the processes, last started first.
func (g *Group) StopAll() {
	for i := len(g.list) - 1; i >= 0; i-- {
		_ = g.list[i].Stop()
	}
	g.list = nil
}

// Name returns the name the process was started as.
func (p *Process) Name() string { return p.name }

// Pid returns the process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Exited returns a channel that is closed once the process has exited and been reaped.
func (p *Process) Exited() <-chan struct{} { return p.exited }

func (p *Process) alive() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// Check returns nil while the process runs. Once it has exited, for whatever reason, Check
// returns an error saying so, with the end of its output.
func (p *Process) Check() error {
	if p.alive() {
		return nil
	}
	return p.diedError()
}

// Stop asks the process to shut down with SIGTERM and kills it when it has not exited within
// the Group's StopWithin. It returns an error, with the end of the process's output, when the
// process did not exit with status 0, whether it ended before Stop was called or because of it.
func (p *Process) Stop() error {
	if p.alive() {
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			_ = p.cmd.Process.Kill()
		}
		select {
		case <-p.exited:
		case <-time.After(p.stopWithin):
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	}
	if p.waitErr != nil {
		return p.diedError()
	}
	return nil
}

func (p *Process) diedError() error {
	return fmt.Errorf("%s exited: %v%s", p.name, p.waitErr, Indented(p.Tail(20)))
}

// Tail returns the last n lines of the process's output, nil when there are none.
func (p *Process) Tail(n int) []byte {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return nil
	}
	return LastLines(b, n)
}

// WaitReady polls http://addr/readyz, at intervals of poll, until it answers 200 and returns
// when it did. It gives up when the process exits, or after within.
func (p *Process) WaitReady(ctx context.Context, addr string, within, poll time.Duration) (time.Time, error) {
	tr := &http.Transport{MaxIdleConnsPerHost: 1}
	defer tr.CloseIdleConnections()
	client := &http.Client{Timeout: time.Second, Transport: tr}
	deadline := time.Now().Add(within)
	url := "http://" + addr + "/readyz"
	for {
		if err := p.Check(); err != nil {
			return time.Time{}, err
		}
		resp, err := get(ctx, client, url)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Now(), nil
			}
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		if time.Now().After(deadline) {
			return time.Time{}, fmt.Errorf("%s not ready within %s (last answer: %v)%s", p.name, within, err,
				Indented(p.Tail(20)))
		}
		select {
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		case <-time.After(poll):
		}
	}
}

// get is client.Get within ctx.
func get(ctx context.Context, client *http.Client, url string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	return client.Do(req)
}

// Run runs bin with args to completion, for at most within, in a process group of its own as
// Start's processes are. The error names the command by bin's file name and args, and ends with
// the last lines of its output.
func Run(ctx context.Context, within time.Duration, bin string, env []string, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	cmd.SysProcAttr = childAttr()
	out, err := cmd.CombinedOutput()
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			err = fmt.Errorf("did not finish within %s", within)
		}
		name := strings.Join(append([]string{filepath.Base(bin)}, args...), " ")
		return fmt.Errorf("%s: %w%s", name, err, Indented(LastLines(out, 20)))
	}
	return nil
}

// FreeAddr returns a loopback address nothing listens on at the moment of the call.
func FreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	return addr, ln.Close()
}

// ChildEnv returns the environment for a process a benchmark starts: the benchmark's own, with
// LOG_LEVEL=warn, so that the process logs only what goes wrong, and the benchmark's
// GOMAXPROCS, so that none of the processes sharing the cores is favoured in how it may use
// them; rate limits off, since the load comes from one address at rates no client reaches,
// and a cache encryption key generated by the process, as in any local run; then the
// NAME=value variables of set. Each replaces any inherited value of its name.
func ChildEnv(set ...string) []string {
	set = append([]string{"LOG_LEVEL=warn", "GOMAXPROCS=" + strconv.Itoa(runtime.GOMAXPROCS(0)),
		"RATE_LIMIT_ENABLED=false", "CACHE_ENCRYPTION_KEY=generate"}, set...)
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

// LastLines returns the last n lines of b, without the final newline.
func LastLines(b []byte, n int) []byte {
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

// Indented formats a process's output for the end of an error message: on lines of its own,
// indented, or "" when there is none.
func Indented(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return "\n    " + strings.ReplaceAll(string(b), "\n", "\n    ")
}

// fileName turns a process name such as "ceiling (net/http)" into "ceiling-net-http".
func fileName(name string) string {
	f := strings.FieldsFunc(strings.ToLower(name), func(r rune) bool {
		return (r < 'a' || r > 'z') && (r < '0' || r > '9')
	})
	return strings.Join(f, "-")
}
