package platform

import (
	"fmt"
	"os"
	"strconv"
	"strings"

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

// GrowPipe asks the kernel to make the pipe of f hold size bytes (F_SETPIPE_SZ), at most
// /proc/sys/fs/pipe-max-size (1 MiB by default), and returns the size it has now. f is either end of the pipe; it
// stays non-blocking (SyscallConn, not Fd, which would make it blocking). An error leaves the pipe as it was: an
// unprivileged user past /proc/sys/fs/pipe-user-pages-soft gets EPERM, which is why gpm grows a pipe only once its
// app has shown itself chatty rather than at creation: 1 MiB on every pipe of 1000 apps would take a user's whole
// allowance, and the kernel then gives that user's new pipes (the apps' own too) 2 pages each.
func GrowPipe(f *os.File, size int) (int, error) {
	if b, err := os.ReadFile("/proc/sys/fs/pipe-max-size"); err == nil {
		if max, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && max > 0 && size > max {
			size = max
		}
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return 0, fmt.Errorf("grow pipe: %w", err)
	}
	var got int
	var serr error
	if err := rc.Control(func(fd uintptr) {
		if got, serr = unix.FcntlInt(fd, unix.F_SETPIPE_SZ, size); serr != nil {
			got, _ = unix.FcntlInt(fd, unix.F_GETPIPE_SZ, 0)
		}
	}); err != nil {
		return 0, fmt.Errorf("grow pipe: %w", err)
	}
	if serr != nil {
		return got, fmt.Errorf("grow pipe: %w", serr)
	}
	return got, nil
}
