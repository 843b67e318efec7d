package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"time"

	"github.com/oeshq/oes/bench/internal/benchkit"
)

const (
	// readyWithin bounds a process's start-up: /readyz answering 200, or a sender saying
	// ready (which includes composing its messages).
	readyWithin = 60 * time.Second
	// readyPoll is how often /readyz is asked: every few milliseconds, since the time of
	// readiness starts a measurement.
	readyPoll = 2 * time.Millisecond
	// stopWithin is how long a process has to exit after SIGTERM before it is killed.
	stopWithin = 15 * time.Second
	// toolWithin bounds creating and migrating the bench database.
	toolWithin = 5 * time.Minute
)

// senderProcess is a reference sender, which drain talks to: it writes lines to the sender's
// stdin and reads those the sender writes on stdout. Its stderr goes to its log file.
type senderProcess struct {
	proc  *benchkit.Process
	stdin io.WriteCloser
	lines chan string // what the sender writes on stdout, a line at a time; closed at EOF
}

// startSender runs bin with args and env as the sender called name.
func startSender(procs *benchkit.Group, name, bin string, args, env []string) (*senderProcess, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	// The sender's stdout is a pipe of drain's own rather than cmd.StdoutPipe, which the
	// Group closes when it reaps the process, maybe before its last line has been read.
	out, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer w.Close() // the child has its own copy; the pipe ends when the process does
	cmd.Stdout = w
	stdin, err := cmd.StdinPipe()
	if err != nil {
		out.Close()
		return nil, err
	}
	p, err := procs.Start(name, cmd)
	if err != nil {
		out.Close()
		return nil, err
	}
	s := &senderProcess{proc: p, stdin: stdin, lines: make(chan string, 4)}
	go func() {
		defer out.Close()
		// A sender writes only its few protocol lines: more than the buffer holds means it is
		// confused, and a line that nobody reads must not hold up the ones after it.
		in := bufio.NewScanner(out)
		for in.Scan() {
			select {
			case s.lines <- in.Text():
			default:
			}
		}
		close(s.lines)
	}()
	return s, nil
}

// stop closes the sender's stdin, which ends a sender waiting for its next line, and stops
// it as any other process.
func (s *senderProcess) stop() {
	_ = s.stdin.Close()
	_ = s.proc.Stop()
}

// wait waits for the sender to exit by itself and returns its error with its last lines.
func (s *senderProcess) wait(timeout time.Duration) error {
	select {
	case <-s.proc.Exited():
		// Stop only reports how a process that has exited ended.
		return s.proc.Stop()
	case <-time.After(timeout):
		s.stop()
		return fmt.Errorf("%s did not exit within %s", s.proc.Name(), timeout)
	}
}

// expectLine waits for the sender to write want on its own line.
func (s *senderProcess) expectLine(ctx context.Context, want string, timeout time.Duration) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	select {
	case line, ok := <-s.lines:
		switch {
		case !ok:
			if err := s.wait(stopWithin); err != nil {
				return err
			}
			return fmt.Errorf("%s closed its output before saying %q", s.proc.Name(), want)
		case line != want:
			return fmt.Errorf("%s said %q, want %q", s.proc.Name(), line, want)
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-deadline.C:
		return fmt.Errorf("%s did not say %q within %s%s", s.proc.Name(), want, timeout, benchkit.Indented(s.proc.Tail(20)))
	}
}

// say writes line to the sender's stdin.
func (s *senderProcess) say(line string) error {
	_, err := io.WriteString(s.stdin, line+"\n")
	return err
}

func splitHostPort(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	return host, port, err
}
