// Package logtest collects what goroutines and processes log while a test reads it.
package logtest

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
)

// Buffer is an io.Writer that any number of goroutines may write to while the test reads it:
// a slog handler's output, or a child process's stdout and stderr.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Lines returns the lines written so far that contain substr.
func (b *Buffer) Lines(substr string) []string {
	var out []string
	for _, line := range strings.Split(b.String(), "\n") {
		if line != "" && strings.Contains(line, substr) {
			out = append(out, line)
		}
	}
	return out
}

// RequireLine waits up to within for a line holding substr, and fails the test without one. A
// program often logs what it did just after doing it, so a test that saw the effect may look
// before the line is written.
func (b *Buffer) RequireLine(t testing.TB, substr string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for len(b.Lines(substr)) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no line holding %q within %s; the log:\n%s", substr, within, b.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
