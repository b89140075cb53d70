package platform

import (
	"bytes"
	"os"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// SetSubreaper makes orphaned descendants of the daemon's children re-parent to the daemon instead of PID 1, so apps
// that daemonize (double fork) stay visible and killable.
func SetSubreaper() error {
	return unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
}

// setDeathSignal asks the kernel to SIGTERM the app if the daemon dies: an unsupervised app would hold its port
// while a new daemon resurrects a second copy. (The signal follows the forking OS thread; Go keeps its threads
// alive unless a locked goroutine exits, and the daemon's only locked goroutine, the pid file writer, never forks.)
func setDeathSignal(a *syscall.SysProcAttr) { a.Pdeathsig = syscall.SIGTERM }

// setCgroup starts the child in the cgroup whose directory fd is open (clone3 CLONE_INTO_CGROUP); fd <= 0: the
// daemon's own.
func setCgroup(a *syscall.SysProcAttr, fd int) {
	if fd > 0 {
		a.UseCgroupFD, a.CgroupFD = true, fd
	}
}

// closeOnExecFrom sets close-on-exec on every descriptor from first on: one close_range(2) (Linux 5.11), else
// once, through /proc/self/fd.
func closeOnExecFrom(first int) {
	if unix.CloseRange(uint(first), ^uint(0), unix.CLOSE_RANGE_CLOEXEC) != nil {
		strayOnce.Do(func() { closeOnExecByDir("/proc/self/fd", first) })
	}
}

// Tree is a snapshot of the parent links of every process, to find many processes' descendants with one scan of
// /proc (a scan per process made `delete all` of 50 apps cost 150 ms).
type Tree struct{ children map[int][]int }

// Snapshot reads the parent of every process now. One buffer serves every /proc/PID/stat: the daemon takes a
// snapshot per loop turn while apps stop, and reading each file with os.ReadFile made it the daemon's first
// allocator (three quarters of what `delete all` of 50 apps allocated, in a Go allocation profile).
func Snapshot() *Tree {
	t := &Tree{children: map[int][]int{}}
	ents, _ := os.ReadDir("/proc")
	var buf [256]byte
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if pp := readParent(p, buf[:]); pp > 0 {
			t.children[pp] = append(t.children[pp], p)
		}
	}
	return t
}

// Descendants returns every process below pid in the snapshot.
func (t *Tree) Descendants(pid int) []int {
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range t.children[p] {
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	return out
}

// Descendants returns every live process below pid, found through /proc parent links.
func Descendants(pid int) []int { return Snapshot().Descendants(pid) }

// readParent reads the ppid of pid from /proc/PID/stat into buf; 0 when the process is gone. The ppid comes right
// after the command name, so the start of the file is enough (the name is at most 64 bytes).
func readParent(pid int, buf []byte) int {
	fd, err := unix.Open("/proc/"+strconv.Itoa(pid)+"/stat", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0
	}
	n, err := unix.Read(fd, buf)
	unix.Close(fd)
	if err != nil || n <= 0 {
		return 0
	}
	return statParent(buf[:n])
}

// statParent parses the ppid out of the start of a /proc/PID/stat line, "PID (COMM) STATE PPID ...". The command
// name may hold spaces and parentheses, so parsing starts after the last ')'. It returns 0 when the line is not one.
func statParent(b []byte) int {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || len(b) < i+5 || b[i+1] != ' ' || b[i+3] != ' ' {
		return 0
	}
	pp := 0
	for _, c := range b[i+4:] {
		if c < '0' || c > '9' {
			if c != ' ' && c != '\n' {
				return 0
			}
			return pp
		}
		pp = pp*10 + int(c-'0')
	}
	return 0 // cut before the ppid ended
}

// ParentPID returns the parent of pid, or 0 when unknown.
func ParentPID(pid int) int {
	var buf [256]byte
	return readParent(pid, buf[:])
}

// Background lowers the scheduling priority of the calling OS thread by 10 nice levels (Linux nice is per thread), so
// that the bookkeeping it does yields the CPU to the work the daemon is waiting for: spawning 50 apps on 2 cores
// competes with the apps' own start-up, and the pid files can be written a moment later. The caller locks its
// goroutine to the thread first and never unlocks it, so the thread ends with the goroutine; the Go runtime never
// clones new threads from a locked one, so the lower priority spreads nowhere else.
func Background() error {
	tid := unix.Gettid()
	// getpriority(2) returns 20-nice in the raw syscall.
	prio, err := unix.Getpriority(unix.PRIO_PROCESS, tid)
	if err != nil {
		return err
	}
	return unix.Setpriority(unix.PRIO_PROCESS, tid, min(20-prio+10, 19))
}

// ExecPath is a path that executes f whatever the directories above it allow: /proc/self/fd/N, a link that the
// kernel follows without a path walk. The daemon runs socket apps through its own binary (the LISTEN_PID
// trampoline), and an app running as another user may not be able to reach that binary by name (a gpm in a 0700
// home). f must stay open until the child has exec'd; close-on-exec is fine, as exec opens the file first.
func ExecPath(f *os.File) string { return "/proc/self/fd/" + strconv.Itoa(int(f.Fd())) }
