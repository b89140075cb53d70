//go:build unix

package activation

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Inherited returns the files passed to this process with sd_listen_fds(3)'s protocol, named from LISTEN_FDNAMES
// (os.File.Name), and unsets LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES so that nothing started later believes they
// are its own. It returns nil when LISTEN_PID is not this process, or when LISTEN_FDS counts descriptors that were
// not passed (InheritedFiles says why). Call it once, early: the fds are only valid until something else opens
// files.
//
// go-systemd's activation.Files does the same, but its package also holds TLS listeners and so links crypto/tls
// and math/big into the daemon: about 1.5 MB more resident memory for a daemon whose budget is 12 MB with 50 apps.
func Inherited() []*os.File {
	files, _ := InheritedFiles()
	return files
}

// InheritedFiles is Inherited with the reason it took nothing: (nil, nil) when LISTEN_PID is not this process or
// LISTEN_FDS is not a positive count, (nil, err) when LISTEN_FDS counts more descriptors than RLIMIT_NOFILE allows
// or a descriptor that was not passed, and (files, nil) otherwise.
//
// Each counted descriptor must be open and not close-on-exec: whatever crossed exec is not close-on-exec, and
// whatever this process opened itself is (Go opens everything with O_CLOEXEC). A count that overstates what was
// passed would otherwise take the process's own descriptors (a log file, the runtime's epoll) as sockets, to be
// set to blocking mode and handed to apps; and a huge count made the daemon die at start, out of memory.
func InheritedFiles() ([]*os.File, error) {
	defer func() {
		os.Unsetenv("LISTEN_PID")
		os.Unsetenv("LISTEN_FDS")
		os.Unsetenv("LISTEN_FDNAMES")
	}()
	if pid, err := strconv.Atoi(os.Getenv("LISTEN_PID")); err != nil || pid != os.Getpid() {
		return nil, nil
	}
	n, err := strconv.Atoi(os.Getenv("LISTEN_FDS"))
	if err != nil || n <= 0 {
		return nil, nil
	}
	var lim unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_NOFILE, &lim) == nil && uint64(n)+ListenFDsStart > uint64(lim.Cur) {
		return nil, fmt.Errorf("LISTEN_FDS=%d: more descriptors than RLIMIT_NOFILE (%d) allows from fd %d; no socket taken",
			n, lim.Cur, ListenFDsStart)
	}
	for fd := ListenFDsStart; fd < ListenFDsStart+n; fd++ {
		flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
		if err != nil || flags&unix.FD_CLOEXEC != 0 {
			return nil, fmt.Errorf("LISTEN_FDS=%d: descriptor %d was not passed (it is closed, or this process's own); no socket taken", n, fd)
		}
	}
	names := strings.Split(os.Getenv("LISTEN_FDNAMES"), ":")
	files := make([]*os.File, 0, n)
	for fd := ListenFDsStart; fd < ListenFDsStart+n; fd++ {
		syscall.CloseOnExec(fd)
		// Blocking before os.NewFile, which would otherwise put a non-blocking socket (NonBlocking=yes, or the
		// fd store of a daemon whose workers set it) on Go's poller: see socketFile. The mode workers get is set
		// again before they are started (SetNonblock).
		syscall.SetNonblock(fd, false)
		name := "LISTEN_FD_" + strconv.Itoa(fd)
		if i := fd - ListenFDsStart; i < len(names) && names[i] != "" {
			name = names[i]
		}
		files = append(files, os.NewFile(uintptr(fd), name))
	}
	return files, nil
}
