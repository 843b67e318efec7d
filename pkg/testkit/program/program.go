// Package program finds the programs tests start (redis-server, chromium) and runs them for no
// longer than the test (Command). A program that is missing skips the test on a developer's
// machine, so the rest can run without it, but fails it under CI=true, where a skip would pass
// for a green run.
package program

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// Find returns the path of the program name, looked up on PATH, or stops the test: skipped,
// or failed under CI=true, with install saying how to get it (e.g. "the redis-server
// package").
func Find(t testing.TB, name, install string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	msg := fmt.Sprintf("%s not found; install %s: %v", name, install, err)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}
