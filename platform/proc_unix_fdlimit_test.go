//go:build unix

package platform

import (
	"errors"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// An EBADF from a fork whose descriptors reach RLIMIT_NOFILE names the limit; any other error, or an EBADF with
// descriptors well below it, is left as it is.
func TestFDLimitCause(t *testing.T) {
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	near := []uintptr{0, 1, uintptr(lim.Cur - 1)}
	err := fdLimitCause(syscall.EBADF, near)
	if !errors.Is(err, syscall.EBADF) || !strings.Contains(err.Error(), "too many open files") {
		t.Errorf("EBADF near the limit: %v; want EBADF wrapped with the cause", err)
	}
	if err := fdLimitCause(syscall.EBADF, []uintptr{0, 1, 2}); err != syscall.EBADF {
		t.Errorf("EBADF far from the limit: %v; want it unchanged", err)
	}
	if err := fdLimitCause(syscall.ENOENT, near); err != syscall.ENOENT {
		t.Errorf("ENOENT: %v; want it unchanged", err)
	}
}
