package handoff

import (
	"runtime"
	"unsafe"
)

// The hand-off runs before package syscall is initialised, through rawSyscall (sys_linux_*.go): as a package that
// imports no other (runtime aside), this one is initialised right after the runtime, before internal/godebug,
// syscall (which raises RLIMIT_NOFILE, to be restored before an exec) and the rest, about 0.35 ms of every `gpm run`
// and `gpm daemon` start-up otherwise spent for nothing (issue 10). The command line and the environment come from
// /proc, as the kernel gave them to this process.

const (
	atFdcwd  = ^uintptr(99) // AT_FDCWD, -100
	oRdonly  = 0x0          // O_RDONLY
	oCloexec = 0x80000      // O_CLOEXEC
	enoent   = 2            // ENOENT
	eintr    = 4            // EINTR
)

// entered is set by the ELF entry point (entry_linux_amd64.s) when the program started there: it has decided
// already, and the hand-off in init would read /proc for nothing on every CLI call (0.1-0.3 ms of gpm --version).
var entered bool

func init() {
	if entered {
		return
	}
	cmd := readProc("/proc/self/cmdline\x00")
	args := split(cmd)
	if len(args) < 2 || !Needed(args[1:]) {
		return
	}
	exe := executable()
	if exe == "" {
		return
	}
	env := readProc("/proc/self/environ\x00")
	dir := parent(exe)
	for _, p := range []string{dir + "/" + fullName, parent(dir) + "/libexec/gpm/" + fullName} {
		if p == exe {
			continue
		}
		// It returns only when it failed (no such file: the next place; anything else, main's hand-off tries
		// again and reports the error).
		if errno := execve(p, cmd, env); errno != enoent {
			return
		}
	}
}

// sysErr is the errno of a raw system call's result, 0 when it succeeded.
func sysErr(r uintptr) uintptr {
	if r > ^uintptr(4095) { // -4095..-1
		return -r
	}
	return 0
}

// readProc is the whole content of a /proc file (path ends with a NUL); nil when it cannot be read.
func readProc(path string) []byte {
	fd := rawSyscall(sysOpenat, atFdcwd, uintptr(unsafe.Pointer(unsafe.StringData(path))), oRdonly|oCloexec, 0)
	if sysErr(fd) != 0 {
		return nil
	}
	defer rawSyscall(sysClose, fd, 0, 0, 0)
	b := make([]byte, 0, 4096)
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		free := b[len(b):cap(b)]
		n := rawSyscall(sysRead, fd, uintptr(unsafe.Pointer(&free[0])), uintptr(len(free)), 0)
		if e := sysErr(n); e == eintr {
			continue
		} else if e != 0 {
			return nil
		}
		if n == 0 {
			return b
		}
		b = b[:len(b)+int(n)]
	}
}

// split is the NUL-terminated strings of b (each argument ends with a NUL, an empty one included).
func split(b []byte) []string {
	var args []string
	for start, i := 0, 0; i < len(b); i++ {
		if b[i] == 0 {
			args = append(args, string(b[start:i]))
			start = i + 1
		}
	}
	return args
}

// pointers is the address of each NUL-terminated string of b, then a nil one: execve's argv and envp.
func pointers(b []byte) []uintptr {
	var p []uintptr
	for start, i := 0, 0; i < len(b); i++ {
		if b[i] == 0 {
			p = append(p, uintptr(unsafe.Pointer(&b[start])))
			start = i + 1
		}
	}
	return append(p, 0)
}

// execve runs path with the arguments and environment of cmd and env (NUL-terminated strings, as /proc has them);
// it returns only when it failed, with the errno.
func execve(path string, cmd, env []byte) uintptr {
	p := append([]byte(path), 0)
	argv, envp := pointers(cmd), pointers(env)
	r := rawSyscall(sysExecve, uintptr(unsafe.Pointer(&p[0])), uintptr(unsafe.Pointer(&argv[0])), uintptr(unsafe.Pointer(&envp[0])), 0)
	// argv and envp hold cmd's and env's addresses as integers: they must outlive the call.
	runtime.KeepAlive(cmd)
	runtime.KeepAlive(env)
	runtime.KeepAlive(p)
	runtime.KeepAlive(argv)
	runtime.KeepAlive(envp)
	return sysErr(r)
}

// executable is this program's path as the kernel resolved it (links followed, as cmd/gpm's programPath does);
// "" when unknown or when the file was deleted or replaced since (the kernel then appends " (deleted)").
func executable() string {
	const path = "/proc/self/exe\x00"
	buf := make([]byte, 4096)
	r := rawSyscall(sysReadlinkat, atFdcwd, uintptr(unsafe.Pointer(unsafe.StringData(path))), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)))
	n := int(r)
	if sysErr(r) != 0 || n <= 0 || n == len(buf) || buf[0] != '/' {
		return ""
	}
	p := string(buf[:n])
	if len(p) > len(" (deleted)") && p[len(p)-len(" (deleted)"):] == " (deleted)" {
		return ""
	}
	return p
}

// parent is the directory of an absolute, clean path ("/" for "/x" and for "/").
func parent(p string) string {
	for i := len(p) - 1; i > 0; i-- {
		if p[i] == '/' {
			return p[:i]
		}
	}
	return "/"
}
