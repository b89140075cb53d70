package platform

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/gpmd/gpm/internal/rawfile"
)

// Identities of processes across pid reuse, their environments, and signals that cannot reach a reused pid. The
// daemon's fallback containment (no cgroup) finds an app's processes with these: the descendants of its leader, the
// orphans the daemon adopted that carry the app's GPM_ID, and, at start, what an earlier daemon of the same
// GPM_HOME left running.

// MaxEnvironBytes bounds how much of a process's environment Environ reads: the kernel's own limit on argv and
// envp together is ARG_MAX-like (a quarter of the stack limit, 2 MiB by default), so a larger one is not an
// environment that exec produced.
const MaxEnvironBytes = 4 << 20

// ProcID names one process for as long as it lives: its pid and its start time (clock ticks after boot,
// /proc/PID/stat field 22). A pid is reused once its process is reaped; the pair is not, within one boot.
type ProcID struct {
	PID   int
	Start uint64
}

// Identify returns the identity of the process pid now; false when there is none (a zombie is not alive: it
// has ended and waits for its parent).
func Identify(pid int) (ProcID, bool) {
	var buf [512]byte
	start, state, ok := readStat(pid, buf[:])
	if !ok || state == 'Z' || state == 'X' {
		return ProcID{}, false
	}
	return ProcID{PID: pid, Start: start}, true
}

// Running reports whether the process id names is alive: same pid, same start time, not a zombie.
func Running(id ProcID) bool {
	now, ok := Identify(id.PID)
	return ok && now.Start == id.Start
}

// Kill sends sig to the process id names, and only to it. Through a pidfd (Linux 5.3+): the descriptor is opened,
// the start time checked, and the signal sent to what the descriptor holds, so a pid reused between the check and
// the signal is never hit. Without pidfds the check and kill(2) are microseconds apart. A process that is gone (or
// is another one now) is not an error.
func Kill(id ProcID, sig syscall.Signal) error {
	fd, err := unix.PidfdOpen(id.PID, 0)
	if err == nil {
		defer unix.Close(fd)
		if !Running(id) {
			return nil
		}
		err = unix.PidfdSendSignal(fd, sig, nil, 0)
		if err == nil || err == unix.ESRCH {
			return nil
		}
		return fmt.Errorf("signal %s to %d: %w", SignalName(sig), id.PID, err)
	}
	if err == unix.ESRCH {
		return nil
	}
	if !Running(id) {
		return nil
	}
	if err := unix.Kill(id.PID, sig); err != nil && err != unix.ESRCH {
		return fmt.Errorf("signal %s to %d: %w", SignalName(sig), id.PID, err)
	}
	return nil
}

// Environ returns the environment pid was exec'd with (/proc/PID/environ: what the program may have changed
// since is not seen). It needs the right to ptrace pid: root, or the same uid.
func Environ(pid int) ([]string, error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/environ")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxEnvironBytes+1))
	if err != nil {
		return nil, fmt.Errorf("environ of %d: %w", pid, err)
	}
	if len(b) > MaxEnvironBytes {
		return nil, fmt.Errorf("environ of %d: larger than MaxEnvironBytes (%d)", pid, MaxEnvironBytes)
	}
	var out []string
	for _, kv := range bytes.Split(b, []byte{0}) {
		if len(kv) > 0 {
			out = append(out, string(kv))
		}
	}
	return out, nil
}

// WithEnv returns the live processes (zombies excluded) whose environment holds the exact entry kv ("KEY=value").
// Processes whose environment cannot be read (other users, when not root) are not returned.
func WithEnv(kv string) []int {
	want := []byte(kv)
	var out []int
	ents, _ := os.ReadDir("/proc")
	// One buffer for every process; a larger environment is read up to MaxEnvironBytes and no further (any user
	// can give a process one of several MB, and this reads every process's).
	buf := make([]byte, 64<<10)
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := rawfile.Read("/proc/"+e.Name()+"/environ", buf, MaxEnvironBytes)
		if err != nil {
			continue
		}
		if cap(b) > cap(buf) {
			buf = b[:0]
		}
		for _, got := range bytes.Split(b, []byte{0}) {
			if bytes.Equal(got, want) {
				if _, ok := Identify(pid); ok {
					out = append(out, pid)
				}
				break
			}
		}
	}
	return out
}

// BootID is the kernel's random id of this boot ("" when unknown): start times count from boot, so a record of
// them is only meaningful in the boot that wrote it.
func BootID() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// maxCommandLine bounds the command line CommandLine returns (it is for log lines).
const maxCommandLine = 200

// CommandLine returns pid's argv joined with spaces, cut at maxCommandLine bytes, for a log line; "" when unknown.
func CommandLine(pid int) string {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return ""
	}
	defer f.Close()
	b, _ := io.ReadAll(io.LimitReader(f, maxCommandLine))
	return strings.TrimSpace(string(bytes.ReplaceAll(b, []byte{0}, []byte{' '})))
}

// ChildrenOf returns the children of pid now. It reads /proc/PID/task/*/children, a few small files (one per
// thread) instead of the stat of every process as a Snapshot does; without that interface (a kernel built without
// CONFIG_PROC_CHILDREN) it takes a snapshot. Like a snapshot, it may miss a child forked while it reads.
func ChildrenOf(pid int) []int {
	dir := "/proc/" + strconv.Itoa(pid) + "/task/"
	tasks, err := os.ReadDir(dir)
	if err != nil {
		return nil // no such process
	}
	var out []int
	for _, task := range tasks {
		var buf [256]byte
		b, err := rawfile.Read(dir+task.Name()+"/children", buf[:], MaxEnvironBytes)
		if errors.Is(err, fs.ErrNotExist) {
			if _, serr := os.Stat(dir + task.Name()); serr == nil {
				return Snapshot().Children(pid) // the interface is missing, not the thread
			}
			continue // the thread ended
		}
		for _, f := range bytes.Fields(b) {
			if c, err := strconv.Atoi(string(f)); err == nil {
				out = append(out, c)
			}
		}
	}
	return out
}

// Children returns the processes whose parent is pid in the snapshot.
func (t *Tree) Children(pid int) []int { return t.children[pid] }

// readStat reads pid's start time and state letter from /proc/PID/stat.
func readStat(pid int, buf []byte) (start uint64, state byte, ok bool) {
	fd, err := unix.Open("/proc/"+strconv.Itoa(pid)+"/stat", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, 0, false
	}
	n, err := unix.Read(fd, buf)
	unix.Close(fd)
	if err != nil || n <= 0 {
		return 0, 0, false
	}
	return statStart(buf[:n])
}

// statStart parses the state (field 3) and start time (field 22) of a /proc/PID/stat line. Fields are counted
// after the last ')': the command name may hold spaces and parentheses.
func statStart(b []byte) (start uint64, state byte, ok bool) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, false
	}
	f := bytes.Fields(b[i+1:])
	// f[0] is field 3 (state), so field 22 is f[19].
	if len(f) < 20 || len(f[0]) != 1 {
		return 0, 0, false
	}
	start, err := strconv.ParseUint(string(f[19]), 10, 64)
	if err != nil {
		return 0, 0, false
	}
	return start, f[0][0], true
}

// userHZ is the unit of the cpu times in /proc/PID/stat: USER_HZ, 100 on every architecture Go runs Linux on.
const userHZ = 100

// Usage returns the cpu time (user + system, seconds) and resident set (bytes) of pid, from one read of
// /proc/PID/stat; false when it is gone.
func Usage(pid int) (cpu float64, rss uint64, ok bool) {
	cpu, rss, _, ok = usage(pid)
	return cpu, rss, ok
}

// usage is Usage and pid's number of threads (field 20), parsed in place: no allocation but the path.
func usage(pid int) (cpu float64, rss uint64, threads int, ok bool) {
	var buf [512]byte
	b, err := rawfile.Read("/proc/"+strconv.Itoa(pid)+"/stat", buf[:], MaxEnvironBytes)
	if err != nil || len(b) == 0 {
		return 0, 0, 0, false
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, 0, false
	}
	// Fields from 3 (state) on are separated by one space: utime is field 14, stime 15, num_threads 20, rss 24
	// (pages).
	var ut, st, th, pages uint64
	field, seen := 2, 0
	for j := i + 1; j < len(b) && seen < 4; j++ {
		if b[j] != ' ' {
			continue
		}
		field++
		var v uint64
		for k := j + 1; k < len(b) && b[k] >= '0' && b[k] <= '9'; k++ {
			v = v*10 + uint64(b[k]-'0')
		}
		switch field {
		case 14:
			ut, seen = v, seen+1
		case 15:
			st, seen = v, seen+1
		case 20:
			th, seen = v, seen+1
		case 24:
			pages, seen = v, seen+1
		}
	}
	if seen < 4 {
		return 0, 0, 0, false
	}
	return float64(ut+st) / userHZ, pages * uint64(os.Getpagesize()), int(th), true
}

// TreeUsage sums Usage over pid and its descendants, max processes at most (pid included: a fork bomb must not
// hold the caller; the sum is then a lower bound), walking /proc/PID/task/*/children down from pid; false when pid
// is gone. The children of a single-threaded process (num_threads in the stat just read) are read from its one
// task's file, without listing /proc/PID/task: an open, a read and a close a file, two files a process. Like
// ChildrenOf, it may miss a child forked while it reads.
func TreeUsage(pid, max int) (cpu float64, rss uint64, ok bool) {
	var queue [16]int
	q := append(queue[:0], pid)
	for i := 0; i < len(q); i++ {
		c, r, threads, alive := usage(q[i])
		if !alive {
			if i == 0 {
				return 0, 0, false
			}
			continue
		}
		cpu, rss = cpu+c, rss+r
		if len(q) >= max {
			continue
		}
		if threads == 1 {
			var ok bool
			if q, ok = appendTaskChildren(q, q[i]); ok {
				q = q[:min(len(q), max)]
				continue
			}
		}
		q = append(q, ChildrenOf(q[i])...)
		q = q[:min(len(q), max)]
	}
	return cpu, rss, true
}

// appendTaskChildren appends the children of single-threaded pid, read from /proc/PID/task/PID/children; false
// when that file cannot be read (a thread started since, the interface missing): ChildrenOf then knows better.
func appendTaskChildren(q []int, pid int) ([]int, bool) {
	p := strconv.Itoa(pid)
	var buf [256]byte
	b, err := rawfile.Read("/proc/"+p+"/task/"+p+"/children", buf[:], MaxEnvironBytes)
	if err != nil {
		return q, false
	}
	c := -1
	for _, ch := range b {
		switch {
		case ch >= '0' && ch <= '9':
			c = max(c, 0)*10 + int(ch-'0')
		case c >= 0:
			q, c = append(q, c), -1
		}
	}
	if c >= 0 {
		q = append(q, c)
	}
	return q, true
}
