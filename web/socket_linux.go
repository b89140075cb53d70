package web

import "golang.org/x/sys/unix"

// unixSocket makes a stream unix socket, close-on-exec from the start (apps are forked meanwhile).
func unixSocket() (int, error) {
	return unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
}
