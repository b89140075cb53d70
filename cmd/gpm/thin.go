//go:build gpmthin && unix

package main

// The thin CLI. `make build` and the packages build this package twice: gpmd, the whole program (the daemon, gpm
// run, export, the process-file parsers, and so net/http, crypto/tls, D-Bus, YAML, fsnotify), and gpm, with
// -tags gpmthin, the CLI users type, which links the client, its flags and the app model and little else. A CLI
// call pays for its binary's package initialisation and pages: `gpmd --version` takes 2.8× a static hello-world Go
// program's start-up, `gpm --version` 1.85× (BENCHMARKS.md, "Targets"). A command line that needs more is handed
// off before anything of it runs: this process becomes gpmd with the very same arguments, environment, descriptors
// and pid (execve), so that every command has one implementation, and a service unit's `gpm daemon` is still the
// unit's main process. Windows gets the whole program only (no execve there).

import (
	"context"
	"fmt"
	"os"
	"slices"
	"syscall"

	"github.com/gpmd/gpm/config"
	"github.com/gpmd/gpm/internal/handoff"
)

// fullName is the whole program, found by programPath: /usr/libexec/gpm/gpmd in the packages, beside gpm after
// make build.
const fullName = "gpmd"

// handOff execs gpmd when the command line needs it: a command of handoff.FullCommands (which, on Linux,
// handoff's init has already handed over before this program's own initialisation ran), --no-daemon (a daemon in
// this process), or an argument that names a process file ("-" is one read from stdin). Arguments after "--" are
// the app's own. It returns nil when the command line is the thin CLI's own, and an error only when the hand-off failed
// (it does not return when it succeeds).
func handOff(name string, args []string) error {
	if slices.Contains(handoff.FullCommands, name) {
		return execFull()
	}
	for _, a := range args {
		if a == "--" {
			break
		}
		if a == "-" || a == "--no-daemon" || config.IsProcessFile(a) {
			return execFull()
		}
	}
	return nil
}

// execFull replaces this process with gpmd running os.Args; it returns only when that failed.
func execFull() error {
	path, tried := programPath(fullName)
	if path == "" {
		return fmt.Errorf("this command needs %s, gpm's whole program, and it is not installed (looked at %v and in PATH)", fullName, tried)
	}
	err := syscall.Exec(path, os.Args, os.Environ()) // returns only when it failed
	return fmt.Errorf("run %s: %w", path, err)
}

// daemonExe is the program a CLI call runs as `PROGRAM daemon` when no daemon answers: gpmd.
func daemonExe() (string, error) {
	path, tried := programPath(fullName)
	if path == "" {
		return "", fmt.Errorf("the daemon is %s, gpm's whole program, and it is not installed (looked at %v and in PATH)", fullName, tried)
	}
	return path, nil
}

// The functions below stand for those of the whole program. handOff sends every command line that reaches them to
// gpmd before it runs, so they are a second guard: each hands off itself.

func cmdDaemon(context.Context, *cli, []string) error  { return execFull() }
func cmdRun(context.Context, *cli, []string) error     { return execFull() }
func cmdExport(context.Context, *cli, []string) error  { return execFull() }
func cmdImport(context.Context, *cli, []string) error  { return execFull() }
func cmdInstall(context.Context, *cli, []string) error { return execFull() }

// startup and unstartup render units and plists (package startup, with the quoting of unit files and os/user):
// 0.2 MB of the thin CLI's text and 0.3 MB of its mapped pages on every call, for two commands run once per
// machine. gpmd runs them, told this program's path (cliExeEnv): the service starts the daemon through gpm, as when
// the thin CLI rendered the unit itself. They are not handoff.FullCommands, whose init cannot set the variable.
func cmdStartup(context.Context, *cli, []string) error   { return execFullAsCLI() }
func cmdUnstartup(context.Context, *cli, []string) error { return execFullAsCLI() }

// execFullAsCLI is execFull with this program's path in cliExeEnv.
func execFullAsCLI() error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find the gpm binary: %w", err)
	}
	if err := os.Setenv(cliExeEnv, exe); err != nil {
		return fmt.Errorf("find the gpm binary: %w", err)
	}
	return execFull()
}

// localDaemon is the whole program's daemon in this process (foreground.go).
type localDaemon struct{}

func (*localDaemon) stop() error          { return nil }
func (*localDaemon) ended() (bool, error) { return false, nil }

func (c *cli) foreground(context.Context) (*localDaemon, error) { return nil, execFull() }

func (c *cli) loadFile(string, *startFlags) ([]config.App, error)     { return nil, execFull() }
func (c *cli) loadRunnable(string, *startFlags) ([]config.App, error) { return nil, execFull() }
