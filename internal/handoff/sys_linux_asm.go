//go:build linux && (amd64 || arm64)

package handoff

// rawSyscall is the system call trap with four arguments, without the runtime's knowledge (as syscall.RawSyscall6;
// these calls do not block for long): its result, or -errno (sysErr). In sys_linux_$GOARCH.s.
func rawSyscall(trap, a1, a2, a3, a4 uintptr) (r uintptr)
