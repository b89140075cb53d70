//go:build unix

package platform

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// Start starts c as the leader of a new process group, so that a signal to the group reaches every child the app
// forks. It returns the pid; the caller must collect the exit through a Reaper.
func Start(c *Cmd) (int, error) {
	attr := &syscall.SysProcAttr{Setpgid: true}
	setDeathSignal(attr)
	setCgroup(attr, c.Cgroup)
	if c.UID >= 0 {
		groups := make([]uint32, 0, len(c.Groups)) // empty, not nil: nil would keep the daemon's (root's) groups
		for _, g := range c.Groups {
			groups = append(groups, uint32(g))
		}
		attr.Credential = &syscall.Credential{Uid: uint32(c.UID), Gid: uint32(c.GID), Groups: groups}
	}
	stdin := c.Stdin
	if stdin == nil {
		f, err := os.Open(os.DevNull)
		if err != nil {
			return 0, fmt.Errorf("start %s: %w", c.Path, err)
		}
		defer f.Close()
		stdin = f
	}
	// Descriptors for the child. The extra files are listening sockets shared with every worker: reading their
	// number through Fd() would switch the shared file description to blocking mode (os.StartProcess does that),
	// and then a worker blocked in accept(2) never sees its stop signal. SyscallConn().Control leaves the mode alone.
	fds := []uintptr{stdin.Fd(), c.Stdout.Fd(), c.Stderr.Fd()}
	for _, f := range c.ExtraFiles {
		rc, err := f.SyscallConn()
		if err != nil {
			return 0, fmt.Errorf("start %s: %w", c.Path, err)
		}
		if err := rc.Control(func(fd uintptr) { fds = append(fds, fd) }); err != nil {
			return 0, fmt.Errorf("start %s: %w", c.Path, err)
		}
	}
	// Only fds reach the child: ForkExec closes nothing else, and a descriptor the daemon inherited without
	// close-on-exec (the CLI that spawned it inherits the invoking shell's) would reach every app, those running
	// as another user too. ForkExec clears the flag on the descriptors it passes.
	closeOnExecFrom(3)
	pid, err := syscall.ForkExec(c.Path, c.Args, &syscall.ProcAttr{Dir: c.Dir, Env: c.Env, Files: fds, Sys: attr})
	// The files must stay open until the child has its copies.
	runtime.KeepAlive(c.ExtraFiles)
	runtime.KeepAlive(stdin)
	runtime.KeepAlive(c.Stdout)
	runtime.KeepAlive(c.Stderr)
	if err != nil {
		return 0, &os.PathError{Op: "fork/exec", Path: c.Path, Err: fdLimitCause(err, fds)}
	}
	return pid, nil
}

// fdLimitCause names what an EBADF from ForkExec means when the daemon is out of descriptors. The child first moves
// its error pipe above the highest descriptor it is given (syscall's forkAndExecInChild); with that number at or
// past RLIMIT_NOFILE, dup3 fails with EBADF, and the start would be refused for a "bad file descriptor" that is in
// fact the daemon's descriptor limit (seen in TestStartEMFILE_Issue11Item7, about one run in four).
func fdLimitCause(err error, fds []uintptr) error {
	if !errors.Is(err, syscall.EBADF) {
		return err
	}
	var lim unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_NOFILE, &lim) != nil {
		return err
	}
	high := uint64(slices.Max(fds))
	if high+2 < lim.Cur {
		return err
	}
	return fmt.Errorf("%w: too many open files (the child's descriptors reach the daemon's RLIMIT_NOFILE of %d)", err, lim.Cur)
}

// CloseOnExecInherited marks every descriptor of this process from 3 on close-on-exec: those it inherited without
// the flag (from the shell or the tool that ran it) then reach no program it starts. The CLI does it before it
// spawns a daemon, which would otherwise hold them as long as it runs (a tool's pipe that never sees its end).
func CloseOnExecInherited() { closeOnExecFrom(3) }

// strayOnce marks the inherited descriptors close-on-exec once where close_range(2) is missing: everything the daemon
// opens itself is opened close-on-exec already (Go does so), so only what it inherited needs the flag.
var strayOnce sync.Once

// closeOnExecByDir sets close-on-exec on every descriptor from first on, listed in dir (/proc/self/fd, /dev/fd).
func closeOnExecByDir(dir string, first int) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		if fd, err := strconv.Atoi(e.Name()); err == nil && fd >= first {
			unix.CloseOnExec(fd)
		}
	}
}

// ParseSignal turns "SIGTERM", "TERM", "term" or "15" into a signal of this OS.
func ParseSignal(s string) (syscall.Signal, error) {
	u := strings.ToUpper(strings.TrimSpace(s))
	if n, err := strconv.Atoi(u); err == nil && n > 0 && n < 65 {
		return syscall.Signal(n), nil
	}
	if !strings.HasPrefix(u, "SIG") {
		u = "SIG" + u
	}
	if sig := unix.SignalNum(u); sig != 0 {
		return sig, nil
	}
	return 0, fmt.Errorf("unknown signal %q", s)
}

// SignalName is the "SIGTERM" name of sig.
func SignalName(sig syscall.Signal) string {
	if n := unix.SignalName(sig); n != "" {
		return n
	}
	return strconv.Itoa(int(sig))
}

// errNoPID refuses a pid that kill(2) reads as many processes: 0 is the caller's own group, -1 every process it
// may signal, and a group of pid 1 is init's. A zero pid reaching here is a bug of the caller; a root daemon must
// not turn it into a signal to the whole machine.
var errNoPID = errors.New("not a process: pid <= 1")

// Signal sends sig to one process.
func Signal(pid int, sig syscall.Signal) error {
	if pid <= 1 {
		return fmt.Errorf("signal %s to %d: %w", SignalName(sig), pid, errNoPID)
	}
	if err := unix.Kill(pid, sig); err != nil {
		return fmt.Errorf("signal %s to %d: %w", SignalName(sig), pid, err)
	}
	return nil
}

// SignalGroup sends sig to the process group led by pid (every app is started as a group leader).
// A group that is already gone is not an error.
func SignalGroup(pid int, sig syscall.Signal) error {
	if pid <= 1 {
		return fmt.Errorf("signal %s to group %d: %w", SignalName(sig), pid, errNoPID)
	}
	err := unix.Kill(-pid, sig)
	if err == unix.ESRCH {
		return nil
	}
	if err != nil {
		return fmt.Errorf("signal %s to group %d: %w", SignalName(sig), pid, err)
	}
	return nil
}

// GroupAlive reports whether any process is left in the group led by pid (zombies included until reaped).
func GroupAlive(pid int) bool {
	return pid > 1 && unix.Kill(-pid, 0) == nil
}

// Alive reports whether pid exists.
func Alive(pid int) bool { return pid > 1 && unix.Kill(pid, 0) == nil }

// Reap collects exited children until ctx ends and reports them on out. It reaps every child, the daemon's own and
// the orphans it adopted as a subreaper, so nothing in the daemon may use os/exec's Wait (it would race this loop).
func Reap(ctx context.Context, out chan<- Exit) {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGCHLD)
	defer signal.Stop(sigs)
	for {
		// Drain first: a SIGCHLD may have arrived before Notify.
		for {
			var ws unix.WaitStatus
			pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
			if err == unix.EINTR {
				continue
			}
			if pid <= 0 || err != nil {
				break
			}
			e := Exit{PID: pid, Code: ws.ExitStatus()}
			if ws.Signaled() {
				e.Code, e.Signal = -1, SignalName(ws.Signal())
			}
			select {
			case out <- e:
			case <-ctx.Done():
				return
			}
		}
		select {
		case <-sigs:
		case <-ctx.Done():
			return
		}
	}
}

// DetachedAttr is what the CLI uses to start the daemon: a new session, so it outlives the terminal and the shell.
func DetachedAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setsid: true} }
