package program

import (
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// Command returns the command that runs name with args for the length of the test, bound to
// t.Context(): when the test ends (before its cleanups run) the process is sent SIGTERM and
// killed if it has not exited within grace. Where the system allows, it is also killed when
// the test process dies without ending the test (a timeout's panic, a SIGKILL), so that no
// server a test started outlives it. The caller starts it and waits for it.
func Command(t testing.TB, grace time.Duration, name string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), name, args...)
	cmd.Cancel = func() error {
		_ = cmd.Process.Signal(syscall.SIGCONT) // a paused process would not see the SIGTERM
		return cmd.Process.Signal(syscall.SIGTERM)
	}
	cmd.WaitDelay = grace
	dieWithParent(cmd)
	return cmd
}
