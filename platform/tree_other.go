//go:build !linux

package platform

import (
	"syscall"

	"github.com/shirou/gopsutil/v4/process"
)

// MaxEnvironBytes bounds how much of a process's environment Environ reads (Linux only).
const MaxEnvironBytes = 4 << 20

// ProcID names one process. Outside Linux there is no start time to read: Start is 0 and a reused pid is not told
// apart (the process group, or the Windows job, is what contains an app there).
type ProcID struct {
	PID   int
	Start uint64
}

// Identify returns pid's identity when it is alive.
func Identify(pid int) (ProcID, bool) { return ProcID{PID: pid}, Alive(pid) }

// Running reports whether id's pid is alive.
func Running(id ProcID) bool { return Alive(id.PID) }

// Kill sends sig to id's pid; a process that is gone is not an error.
func Kill(id ProcID, sig syscall.Signal) error {
	if !Alive(id.PID) {
		return nil
	}
	return Signal(id.PID, sig)
}

// Environ is only implemented on Linux.
func Environ(pid int) ([]string, error) { return nil, ErrUnsupported }

// WithEnv finds nothing outside Linux: no process environments to read.
func WithEnv(kv string) []int { return nil }

// BootID is unknown outside Linux.
func BootID() string { return "" }

// CommandLine is unknown outside Linux.
func CommandLine(pid int) string { return "" }

// ChildrenOf finds nothing outside Linux.
func ChildrenOf(pid int) []int { return nil }

// Children finds nothing outside Linux.
func (t *Tree) Children(pid int) []int { return nil }

// Usage returns the cpu time (user + system, seconds) and resident set (bytes) of pid through gopsutil (sysctl on
// macOS, the process APIs on Windows); false when it is gone. Linux reads /proc itself (tree_linux.go): gopsutil is
// linked only where there is no /proc to read, so the Linux binary does not pay for its package initialisation on
// every CLI call.
func Usage(pid int) (cpu float64, rss uint64, ok bool) {
	p, err := process.NewProcess(int32(pid))
	if err != nil {
		return 0, 0, false
	}
	times, err := p.Times()
	if err != nil {
		return 0, 0, false
	}
	mem, err := p.MemoryInfo()
	if err != nil {
		return 0, 0, false
	}
	return times.User + times.System, mem.RSS, true
}

// TreeUsage is the Usage of pid alone outside Linux (its descendants are not found).
func TreeUsage(pid, max int) (cpu float64, rss uint64, ok bool) { return Usage(pid) }
