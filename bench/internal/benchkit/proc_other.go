//go:build !linux

package benchkit

import (
	"errors"
	"time"
)

// errNoProc reports that process figures come from Linux's /proc and are not measured here.
var errNoProc = errors.New("needs Linux /proc")

// CPUTime returns the CPU time of the process pid; only on Linux.
func CPUTime(pid int) (time.Duration, error) { return 0, errNoProc }

// Memory returns the resident set size of the process pid and its peak; only on Linux.
func Memory(pid int) (rss, peak int64, err error) { return 0, 0, errNoProc }

// BusyTime returns the CPU time the machine has spent outside idle; only on Linux.
func BusyTime() (time.Duration, error) { return 0, errNoProc }
