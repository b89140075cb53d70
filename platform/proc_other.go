//go:build unix && !linux

package platform

import (
	"os"
	"syscall"
)

// SetSubreaper is Linux-only; elsewhere orphans go to init and only the process group is tracked.
func SetSubreaper() error { return nil }

func setDeathSignal(*syscall.SysProcAttr) {}

func setCgroup(*syscall.SysProcAttr, int) {}

// closeOnExecFrom sets close-on-exec on every descriptor from first on, once, through /dev/fd: no close_range(2)
// with CLOSE_RANGE_CLOEXEC here.
func closeOnExecFrom(first int) { strayOnce.Do(func() { closeOnExecByDir("/dev/fd", first) }) }

// Tree is a snapshot of parent links; only Linux has one, elsewhere the process group is what gets signalled.
type Tree struct{}

// Snapshot returns an empty tree.
func Snapshot() *Tree { return &Tree{} }

// Descendants finds nothing outside Linux.
func (t *Tree) Descendants(pid int) []int { return nil }

// Descendants is only implemented on Linux; elsewhere the process group is what gets signalled.
func Descendants(pid int) []int { return nil }

// ParentPID is only implemented on Linux.
func ParentPID(pid int) int { return 0 }

// Background does nothing outside Linux: elsewhere the priority of one thread is not the nice value.
func Background() error { return nil }

// ExecPath is f's name: without /proc there is no path that bypasses the directories above a file.
func ExecPath(f *os.File) string { return f.Name() }
