// Package nettest gives tests addresses on the loopback interface.
package nettest

import (
	"net"
	"testing"
)

// FreeAddr returns a 127.0.0.1 address on which nothing listens right now: for a server the
// test is about to start there, or for a dependency that must be unreachable. Another process
// could take the port in between; on a test machine that is rare enough to accept.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("nettest: %v", err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatalf("nettest: %v", err)
	}
	return addr
}
