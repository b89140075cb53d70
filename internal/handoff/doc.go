// Package handoff hands a command line that needs gpmd, gpm's whole program, over to it before the thin CLI runs
// for nothing (issue 10: `gpm run`'s start-up). Only the thin CLI (cmd/gpm -tags gpmthin) imports it.
//
// On linux/amd64 make build links the thin CLI with this package's ELF entry point (entry_linux_amd64.s, -E
// _rt0_gpm_handoff), which execs gpmd before the Go runtime starts: a Go runtime's start-up alone costs 5-6 ms on
// the benchmarks' VM. Elsewhere, and in a build without it, this package's init does the same right after the
// runtime's: it imports no other package (raw system calls, sys_linux_*.go), so Go, which initialises a package as
// soon as its imports are (in import-path order among those ready), runs it before internal/godebug and syscall.
//
// Both decide from the command name alone (FullCommands, Needed), on Linux, where /proc (or the initial stack) gives
// the command line, the environment and the executable. What they do not decide (a process file as an argument,
// --no-daemon, another OS, gpmd not beside gpm nor in ../libexec/gpm, an exec that failed) main's hand-off does, as
// before, and says why when it fails.
package handoff

// FullCommands run in the whole program only: they are the daemon, or need the process-file parsers, the
// exporters or the module archives' readers.
var FullCommands = []string{"daemon", "run", "export", "import", "install"}

// fullName is the whole program's file name: beside gpm after make build, in ../libexec/gpm in the packages.
const fullName = "gpmd"

// Needed reports whether args (os.Args without the program name) name a command of FullCommands, after the
// options that come before the command as cmd/gpm's run reads them: --system, --timeout D, --timeout=D.
func Needed(args []string) bool {
	for len(args) > 0 {
		switch {
		case args[0] == "--system":
			args = args[1:]
		case args[0] == "--timeout" && len(args) > 1:
			args = args[2:]
		case len(args[0]) > len("--timeout=") && args[0][:len("--timeout=")] == "--timeout=":
			args = args[1:]
		default:
			for _, c := range FullCommands {
				if args[0] == c {
					return true
				}
			}
			return false
		}
	}
	return false
}
