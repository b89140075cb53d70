//go:build linux && !amd64 && !arm64

package handoff

import "syscall"

// On the other Linux architectures the hand-off goes through package syscall (initialised first, then).
const (
	sysRead       = syscall.SYS_READ
	sysClose      = syscall.SYS_CLOSE
	sysExecve     = syscall.SYS_EXECVE
	sysOpenat     = syscall.SYS_OPENAT
	sysReadlinkat = syscall.SYS_READLINKAT
)

// rawSyscall is the system call trap with four arguments: its result, or -errno (sysErr).
func rawSyscall(trap, a1, a2, a3, a4 uintptr) uintptr {
	r, _, errno := syscall.RawSyscall6(trap, a1, a2, a3, a4, 0, 0)
	if errno != 0 {
		return -uintptr(errno)
	}
	return r
}
