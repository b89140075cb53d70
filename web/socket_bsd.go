//go:build unix && !linux

package web

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// unixSocket makes a stream unix socket, close-on-exec. Without SOCK_CLOEXEC, it is made and marked under
// syscall.ForkLock, as package net does, so that no fork in between inherits it.
func unixSocket() (int, error) {
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		return -1, err
	}
	unix.CloseOnExec(fd)
	return fd, nil
}
