package platform

import "os"

// Cmd describes a process to start. Unlike os/exec, nothing waits for it: exits are reported by a Reaper, because
// the daemon is a subreaper and must collect every child, its own and adopted ones alike.
type Cmd struct {
	Path   string   // executable, already resolved
	Args   []string // argv, including argv[0]
	Env    []string
	Dir    string
	Stdin  *os.File // nil: /dev/null
	Stdout *os.File
	Stderr *os.File
	// ExtraFiles become fds 3, 4, ... in the child.
	ExtraFiles []*os.File
	// UID and GID, when >= 0, switch the child to that user (the daemon must be root).
	UID, GID int
	// Groups are the supplementary groups the child gets with UID (none if empty).
	Groups []int
	// Cgroup, when > 0, is a descriptor of the cgroup v2 directory the child starts in (Linux: clone3 with
	// CLONE_INTO_CGROUP, so there is no moment when the child or a process it forks is outside). Elsewhere ignored.
	Cgroup int
}

// Exit is a reaped child.
type Exit struct {
	PID    int
	Code   int    // exit status, or -1 when killed by a signal
	Signal string // "SIGKILL" when killed by a signal, else ""
}
