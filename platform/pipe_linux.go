package platform

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// OutputPipe returns a pipe for a child's stdout or stderr: r for the daemon, non-blocking and read through Go's
// poller; w for the child, blocking, and never registered with the poller. os.Pipe registers both ends, and handing
// its write end to a child then costs two fcntl to make it blocking again (Fd() does that) and two epoll_ctl: ten
// syscalls per app, in the burst of a 50-app start where the daemon shares 2 cores with the apps starting.
func OutputPipe() (r, w *os.File, err error) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		return nil, nil, fmt.Errorf("pipe: %w", err)
	}
	// O_NONBLOCK belongs to each end's own open file description: clearing it on w leaves r non-blocking.
	if _, err := unix.FcntlInt(uintptr(p[1]), unix.F_SETFL, 0); err != nil {
		unix.Close(p[0])
		unix.Close(p[1])
		return nil, nil, fmt.Errorf("pipe: %w", err)
	}
	// NewFile sees O_NONBLOCK on r (pollable) and not on w (a plain descriptor).
	return os.NewFile(uintptr(p[0]), "|0"), os.NewFile(uintptr(p[1]), "|1"), nil
}
