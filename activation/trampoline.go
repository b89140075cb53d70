package activation

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// TrampolineArg, as argv[1] of the supervisor's own binary, makes it a trampoline: RunTrampoline sets LISTEN_PID
// to its own pid and execs argv[2:]. exec keeps the pid, so the worker finds LISTEN_PID equal to getpid() as
// sd_listen_fds(3) requires. (systemd-socket-activate does the same between its fork and exec, which Go cannot.)
const TrampolineArg = "__gpm_listen_exec"

// TrampolineArgs returns the argv that runs path with argv through the trampoline at self.
func TrampolineArgs(self, path string, argv []string) []string {
	return append([]string{self, TrampolineArg, path}, argv...)
}

// RunTrampoline is called by main when os.Args[1] == TrampolineArg. It only returns on error.
func RunTrampoline(args []string) error {
	if len(args) < 2 {
		return fmt.Errorf("trampoline: expected a path and an argv")
	}
	// Replaced, not appended: getenv finds the first of two, and a LISTEN_PID already there (an app's own env)
	// would be the one the worker sees.
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "LISTEN_PID=") })
	env = append(env, "LISTEN_PID="+strconv.Itoa(os.Getpid()))
	if err := syscall.Exec(args[0], args[1:], env); err != nil {
		return fmt.Errorf("trampoline: exec %s: %w", args[0], err)
	}
	return nil
}
