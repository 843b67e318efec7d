package program_test

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/testkit/program"
)

// A process started with Command is sent SIGTERM when its test ends.
func TestCommandEndsWithItsTest(t *testing.T) {
	t.Parallel()
	sleep := program.Find(t, "sleep", "coreutils")
	var cmd *exec.Cmd
	t.Run("starts sleep", func(t *testing.T) {
		cmd = program.Command(t, 5*time.Second, sleep, "60")
		require.NoError(t, cmd.Start())
	})
	err := cmd.Wait()
	require.Error(t, err, "sleep 60 cannot have finished by itself")
	status := cmd.ProcessState.Sys().(syscall.WaitStatus)
	require.True(t, status.Signaled(), "ended by a signal: %v", err)
	require.Equal(t, syscall.SIGTERM, status.Signal())
}

// A process started with Command dies with the test process, even one killed before its test
// could end (a timeout's panic, a SIGKILL).
func TestCommandDiesWithAKilledTestProcess(t *testing.T) {
	if os.Getenv("PROGRAM_TEST_CHILD") == "1" {
		cmd := program.Command(t, time.Second, program.Find(t, "sleep", "coreutils"), "60")
		require.NoError(t, cmd.Start())
		fmt.Printf("pid %d\n", cmd.Process.Pid)
		time.Sleep(time.Minute) // until the parent kills this process
		return
	}
	if runtime.GOOS != "linux" {
		t.Skip("the parent-death signal is Linux's")
	}
	t.Parallel()
	child := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestCommandDiesWithAKilledTestProcess$", "-test.v")
	child.Env = append(os.Environ(), "PROGRAM_TEST_CHILD=1")
	out, err := child.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, child.Start())
	t.Cleanup(func() { _ = child.Process.Kill(); _ = child.Wait() })

	pid := 0
	sc := bufio.NewScanner(out)
	for pid == 0 && sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "pid "); ok {
			pid, err = strconv.Atoi(rest)
			require.NoError(t, err)
		}
	}
	require.NotZero(t, pid, "the child test never started sleep")
	require.True(t, alive(pid), "sleep runs while its test does")

	require.NoError(t, child.Process.Kill())
	require.Eventually(t, func() bool { return !alive(pid) }, 5*time.Second, 10*time.Millisecond,
		"sleep %d outlived the killed test process", pid)
}

// alive says whether pid is a process that has not exited (a zombie has).
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the command name, which is in parentheses.
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	return len(fields) > 0 && fields[0] != "Z"
}
