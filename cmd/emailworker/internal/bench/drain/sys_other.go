//go:build !linux

package main

import (
	"errors"
	"syscall"
	"time"
)

// errNoProc reports that process figures come from Linux's /proc and are not measured here.
var errNoProc = errors.New("needs Linux /proc")

// childAttr has no portable way to tie a process's life to drain's; drain stops its
// processes itself when it ends.
func childAttr() *syscall.SysProcAttr { return nil }

func cpuTime(pid int) (time.Duration, error) { return 0, errNoProc }

func busyTime() (time.Duration, error) { return 0, errNoProc }
