//go:build unix

package activation

import (
	"os"
	"strconv"
	"strings"
	"syscall"
)

// Inherited returns the files passed to this process with sd_listen_fds(3)'s protocol, named from LISTEN_FDNAMES
// (os.File.Name), and unsets LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES so that nothing started later believes they
// are its own. It returns nil when LISTEN_PID is not this process. Call it once, early: the fds are only valid
// until something else opens files.
//
// go-systemd's activation.Files does the same, but its package also holds TLS listeners and so links crypto/tls
// and math/big into the daemon: about 1.5 MB more resident memory for a daemon whose budget is 12 MB with 50 apps.
func Inherited() []*os.File {
	defer func() {
		os.Unsetenv("LISTEN_PID")
		os.Unsetenv("LISTEN_FDS")
		os.Unsetenv("LISTEN_FDNAMES")
	}()
	if pid, err := strconv.Atoi(os.Getenv("LISTEN_PID")); err != nil || pid != os.Getpid() {
		return nil
	}
	n, err := strconv.Atoi(os.Getenv("LISTEN_FDS"))
	if err != nil || n <= 0 {
		return nil
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
	return files
}
