package api

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/gpmd/gpm/platform/safefs"
)

// The system daemon: one gpm for the whole machine, run by the packaged gpm.service as root, reached by root and the
// members of group gpm through a socket that systemd holds (gpm.socket). `gpm --system ...` (or GPM_SYSTEM=1)
// selects it.
const (
	// SystemEnv set to "1" selects the system daemon (see UseSystem).
	SystemEnv = "GPM_SYSTEM"
	// SocketEnv overrides the control socket path of this process's GPM_HOME.
	SocketEnv = "GPM_SOCKET"
	// SystemHome is the system daemon's GPM_HOME (StateDirectory=gpm in gpm.service).
	SystemHome = "/var/lib/gpm"
	// SystemSocket is the system daemon's control socket: ListenStream= of gpm.socket, mode 0660, group gpm.
	SystemSocket = "/run/gpm/gpm.sock"
)

// Home returns GPM_HOME, or ~/.gpm when it is unset, as an absolute path.
func Home() (string, error) {
	if h := os.Getenv(HomeEnv); h != "" {
		abs, err := filepath.Abs(h)
		if err != nil {
			return "", fmt.Errorf("%s: %w", HomeEnv, err)
		}
		return abs, nil
	}
	u, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("no %s and no home directory: %w", HomeEnv, err)
	}
	return filepath.Join(u, DefaultHomeD), nil
}

// SocketPath is the control socket of the daemon that owns home: GPM_SOCKET when it is set and home is this
// process's GPM_HOME, otherwise home/gpm.sock. The override follows the home so that a program talking to several
// homes (gpm startup handing a user's daemon over) still finds each one.
func SocketPath(home string) string {
	if s := os.Getenv(SocketEnv); s != "" {
		if h, err := Home(); err == nil && h == home {
			return s
		}
	}
	return filepath.Join(home, SocketName)
}

// System reports whether this process works with the system daemon (GPM_SYSTEM=1).
func System() bool { return os.Getenv(SystemEnv) == "1" }

// UseSystem selects the system daemon for this process and every program it starts: it sets GPM_SYSTEM=1,
// GPM_HOME=SystemHome and GPM_SOCKET=SystemSocket, replacing what the caller's environment said. A daemon started
// this way admits every client that the socket's file mode lets connect (root and group gpm with gpm.socket).
func UseSystem() error {
	for k, v := range map[string]string{SystemEnv: "1", HomeEnv: SystemHome, SocketEnv: SystemSocket} {
		if err := os.Setenv(k, v); err != nil {
			return fmt.Errorf("system mode: %w", err)
		}
	}
	return nil
}

// homeParts are the entries of a GPM_HOME that a daemon trusts as its own: what it runs (the dump and its .bak, as
// service/dump names it, and the modules' directory: module.start runs a manifest's command from there), where it
// writes (logs, pids, its log), what it listens on and locks.
var homeParts = []string{LogsDir, PidsDir, SocketName, DumpName, DumpName + ".bak", DaemonLog, PidName, LockName,
	SpawnLock, SettingsName, SettingsName + ".bak", ModulesDir}

// CheckHome refuses a GPM_HOME that another user prepared or can change, as ssh refuses such a ~/.ssh: home and
// the entries of it that a daemon trusts (logs, pids and modules directories, control socket, dump files, locks)
// must be owned by the calling user and not writable by group or others, and the directories above home must follow
// safefs's rules (a link there is followed only if root alone can write its directory). Otherwise a daemon would
// run the commands of a dump.json or a module and write through the log links that someone else left there. A missing
// home or entry passes: gpm creates them, home with mode 0700. The error wraps safefs.ErrUnsafe and says how to
// fix the ownership or modes.
func CheckHome(home string) error {
	if err := safefs.CheckPrivate(home); err != nil {
		return fmt.Errorf("%s %s: %w", HomeEnv, home, err)
	}
	// A home not made yet (a new container's gpm run) holds nothing to check: one lstat instead of a walk from /
	// for each part, each of which would find nothing either (a home someone makes after this check escapes both).
	if _, err := os.Lstat(home); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	for _, name := range homeParts {
		if err := safefs.CheckPrivate(filepath.Join(home, name)); err != nil {
			return fmt.Errorf("%s %s: %w", HomeEnv, home, err)
		}
	}
	return nil
}
