// Package handoff hands a command line that needs gpmd, gpm's whole program, over to it from the thin CLI's first
// package initialisation, before the thin CLI's own (time, os, net, flags, the client: 1.5-2.5 ms of a `gpm run`
// start-up, issue 10) runs for nothing. Only the thin CLI (cmd/gpm -tags gpmthin) imports it, for its init alone.
//
// It decides from the command name alone (FullCommands), on Linux, where /proc gives the command line and the
// executable before package os is initialised. What it does not decide (a process file as an argument,
// --no-daemon, another OS, gpmd not beside gpm nor in ../libexec/gpm, an exec that failed) main's hand-off does,
// as before, and says why when it fails. Go initialises a package as soon as its imports are (in import-path
// order among those ready): this one imports syscall alone, so it runs right after it.
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
