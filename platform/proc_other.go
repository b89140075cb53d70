//go:build unix && !linux

package platform

import "syscall"

// SetSubreaper is Linux-only; elsewhere orphans go to init and only the process group is tracked.
func SetSubreaper() error { return nil }

func setDeathSignal(*syscall.SysProcAttr) {}

// Descendants is only implemented on Linux; elsewhere the process group is what gets signalled.
func Descendants(pid int) []int { return nil }

// ParentPID is only implemented on Linux.
func ParentPID(pid int) int { return 0 }
