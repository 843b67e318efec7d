//go:build !linux

package benchkit

import "syscall"

// childAttr has no portable way to tie a process's life to the benchmark's; the benchmark
// stops its processes itself when it ends.
func childAttr() *syscall.SysProcAttr { return nil }
