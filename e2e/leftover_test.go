//go:build linux

package e2e

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gpmd/gpm/api"
	"golang.org/x/sys/unix"
)

// Issue 11, item 11: no process that gpm started outlives its supervision. Each test marks what it starts with a
// unique `sleep N` (or a script in its own temp dir) and scans /proc for it, so that it sees processes that left
// the app's group, its session and the daemon's knowledge.

// sleepMarker returns a `sleep` argument no other test or process uses.
func sleepMarker() string { return strconv.FormatUint(7_000_000_000+uint64(rand.Uint32()), 10) }

// cmdlineProcs returns the live (non-zombie) processes whose command line holds s.
func cmdlineProcs(s string) []int {
	return liveProcs("cmdline", func(b []byte) bool { return strings.Contains(string(bytes.ReplaceAll(b, []byte{0}, []byte{' '})), s) })
}

// alive reports whether pid runs (a zombie has ended).
func alive(pid int) bool { return exists(pid) && !zombie(pid) }

// parentOf is the ppid of pid from /proc/PID/stat, 0 when unknown.
func parentOf(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 2 {
		return 0
	}
	n, _ := strconv.Atoi(f[1])
	return n
}

func daemonPid(t *testing.T, home string) int {
	t.Helper()
	pid, err := strconv.Atoi(strings.TrimSpace(readFile(t, filepath.Join(home, api.PidName))))
	if err != nil {
		t.Fatalf("daemon pid file: %v", err)
	}
	return pid
}

// waitNone waits until no live process has marker in its command line.
func waitNone(t *testing.T, marker, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		left := cmdlineProcs(marker)
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still alive after 10 s: %s", what, describePids(left))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestIssue11Item11SetsidOrphan: a child that double-forks and calls setsid is reparented to the daemon (a
// subreaper): it is out of the app's group, session and tree, and still dies with stop, delete and kill.
func TestIssue11Item11SetsidOrphan(t *testing.T) {
	t.Parallel()
	for _, action := range []string{"stop", "delete", "kill"} {
		t.Run(action, func(t *testing.T) {
			t.Parallel()
			home := newHome(t)
			dir := t.TempDir()
			marker := sleepMarker()
			script := writeFile(t, dir, "orphaner.sh", `#!/bin/sh
( setsid sh -c 'echo $$ > "$0.tmp"; mv "$0.tmp" "$0"; exec sleep `+marker+`' "$1" & )
while :; do sleep 0.2; done
`)
			pidfile := filepath.Join(dir, "orphan")
			mustRun(t, home, "start", "sh", "--name", "orphaner", "-k", "300", "--", script, pidfile)
			orphan := readPids(t, pidfile)[0]
			daemon := daemonPid(t, home)
			waitFor(t, 10*time.Second, func() bool { return parentOf(orphan) == daemon }, "the orphan adopted by the daemon")
			p := waitOnline(t, home, "orphaner")
			if sid, _ := unix.Getsid(orphan); sid == p.PID {
				t.Fatalf("the orphan %d did not leave the app's session", orphan)
			}
			mustRun(t, home, action, "orphaner")
			waitFor(t, 5*time.Second, func() bool { return !alive(orphan) }, fmt.Sprintf("orphan %d gone after gpm %s", orphan, action))
			waitNone(t, "sleep "+marker, "after gpm "+action)
		})
	}
}

// TestIssue11Item11SetsidChildOnStopSignal: an app that forks a setsid child when it gets its kill signal leaves
// nothing behind once it shows stopped (the child was not there when the stop began).
func TestIssue11Item11SetsidChildOnStopSignal(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	dir := t.TempDir()
	marker := sleepMarker()
	script := writeFile(t, dir, "forker.sh", `#!/bin/sh
trap '( setsid sh -c "exec sleep `+marker+`" & ); exit 0' INT
echo ready
while :; do sleep 0.2; done
`)
	mustRun(t, home, "start", "sh", "--name", "forker", "-k", "500", "--", script)
	waitOnline(t, home, "forker")
	waitFileContains(t, outLog(home, "forker"), "ready")
	mustRun(t, home, "stop", "forker")
	if p := one(t, home, "forker"); p.Status != api.StatusStopped {
		t.Errorf("status %s after gpm stop, want stopped", p.Status)
	}
	left := cmdlineProcs("sleep " + marker)
	if len(left) > 0 {
		t.Errorf("gpm stop returned with the setsid child forked on SIGINT alive: %s", describePids(left))
	}
	waitNone(t, "sleep "+marker, "after gpm stop")
}

// TestIssue11Item11DaemonKill9Resurrect: after kill -9 of the daemon, an app that ignores SIGTERM (the death
// signal) and its child survive; the daemon that `gpm resurrect` starts stops them before it starts the saved
// list, so exactly one copy of each runs.
func TestIssue11Item11DaemonKill9Resurrect(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	dir := t.TempDir()
	marker := sleepMarker()
	script := writeFile(t, dir, "stubborn.sh", `#!/bin/sh
trap '' TERM INT
sleep `+marker+` &
echo $$ $! > "$1.tmp"; mv "$1.tmp" "$1"
while :; do sleep 0.2; done
`)
	pidfile := filepath.Join(dir, "pids")
	mustRun(t, home, "start", "sh", "--name", "stubborn", "-k", "500", "--", script, pidfile)
	old := readPids(t, pidfile)
	if p := waitOnline(t, home, "stubborn"); p.PID != old[0] {
		t.Fatalf("pid file says %d, gpm says %d", old[0], p.PID)
	}
	mustRun(t, home, "save")
	daemon := daemonPid(t, home)
	if err := syscall.Kill(daemon, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, func() bool { return !alive(daemon) }, "the daemon gone after kill -9")
	// The kernel sends the death signal (SIGTERM) as it reparents the leader, which ignores it: both outlive the
	// daemon.
	waitFor(t, 10*time.Second, func() bool { return parentOf(old[0]) != daemon }, "the leader reparented")
	for _, pid := range old {
		if !alive(pid) {
			t.Fatalf("%d died with the daemon: the fixture does not show the defect", pid)
		}
	}
	os.Remove(pidfile)

	out := mustRun(t, home, "resurrect")
	for _, pid := range old {
		if alive(pid) {
			t.Errorf("%d (%s), left by the killed daemon, still runs after gpm resurrect", pid, describePids([]int{pid}))
		}
	}
	now := readPids(t, pidfile)
	p := waitOnline(t, home, "stubborn")
	if p.PID != now[0] || p.PID == old[0] {
		t.Errorf("after resurrect gpm runs pid %d, the app wrote %v (old %v)\n%s", p.PID, now, old, out)
	}
	if copies := cmdlineProcs(script); len(copies) != 1 {
		t.Errorf("%d copies of the app run after resurrect, want 1: %s", len(copies), describePids(copies))
	}
	if copies := cmdlineProcs("sleep " + marker); len(copies) != 1 {
		t.Errorf("%d copies of the app's child run after resurrect, want 1: %s", len(copies), describePids(copies))
	}
	log := readFile(t, filepath.Join(home, api.DaemonLog))
	if !strings.Contains(log, "left by a previous daemon") {
		t.Errorf("the daemon's log does not say what it found and stopped:\n%s", log)
	}
}

// TestIssue11Item11StartSameAppTwice: a start request naming the same app twice (two scripts with one name) is
// refused with an error naming the app, and starts nothing: no process runs that gpm does not list.
func TestIssue11Item11StartSameAppTwice(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	marker := sleepMarker()
	var scripts []string
	for _, d := range []string{"a", "b"} {
		dir := filepath.Join(t.TempDir(), d)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		s := writeFile(t, dir, "dup.sh", "#!/bin/sh\nexec sleep "+marker+"\n")
		if err := os.Chmod(s, 0o755); err != nil {
			t.Fatal(err)
		}
		scripts = append(scripts, s)
	}
	_, stderr, code := run(t, home, append([]string{"start"}, scripts...)...)
	if code == 0 || !strings.Contains(stderr, `"dup"`) {
		t.Errorf("gpm start of two apps named dup: exit %d, stderr %q; want an error naming the app", code, stderr)
	}
	listed := map[int]bool{}
	for _, p := range jlist(t, home) {
		listed[p.PID] = true
	}
	for _, pid := range cmdlineProcs("sleep " + marker) {
		if !listed[pid] {
			t.Errorf("pid %d (%s) runs and gpm does not list it", pid, describePids([]int{pid}))
		}
	}
}

// TestIssue11Item16ResurrectedStoppedIgnoresWatch: an instance saved stopped comes back held (stopped by the user),
// so a watch event restarts the running instances of its app and leaves it stopped.
func TestIssue11Item16ResurrectedStoppedIgnoresWatch(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	dir := t.TempDir()
	script := writeFile(t, dir, "app.sh", "exec sleep "+sleepMarker()+"\n")
	mustRun(t, home, "start", "sh", "--name", "w", "-i", "2", "--watch", "--cwd", dir, "--", script)
	// byInstance returns the processes of w by instance number, once cond holds for them.
	byInstance := func(what string, cond func(ps map[int]api.Process) bool) map[int]api.Process {
		t.Helper()
		var ps map[int]api.Process
		waitFor(t, 10*time.Second, func() bool {
			ps = map[int]api.Process{}
			for _, p := range procs(t, home, "w") {
				ps[p.Instance] = p
			}
			return len(ps) == 2 && cond(ps)
		}, what)
		return ps
	}
	ps := byInstance("both instances online", func(ps map[int]api.Process) bool { return isOnline(ps[0]) && isOnline(ps[1]) })
	mustRun(t, home, "stop", strconv.Itoa(ps[1].ID))
	mustRun(t, home, "save")
	mustRun(t, home, "kill")
	mustRun(t, home, "resurrect")
	ps = byInstance("instance 0 online and 1 stopped after resurrect", func(ps map[int]api.Process) bool {
		return isOnline(ps[0]) && ps[1].Status == api.StatusStopped
	})
	pid := ps[0].PID
	// A change under the watched tree, written until instance 0 restarts: the daemon adds the watch just after the
	// start, off its loop, so a change made at once may come before it.
	restarted := false
	for i := 0; i < 10 && !restarted; i++ {
		writeFile(t, dir, "change.txt", strconv.Itoa(i))
		deadline := time.Now().Add(time.Second)
		for time.Now().Before(deadline) && !restarted {
			for _, p := range procs(t, home, "w") {
				if p.Instance == 0 && isOnline(p) && p.PID != pid {
					restarted = true
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	if !restarted {
		t.Fatalf("instance 0 was not restarted by the watch")
	}
	// The watch restarts every instance of the app in one loop turn: instance 1 would be running by now.
	for _, p := range procs(t, home, "w") {
		if p.Instance == 1 && p.Status != api.StatusStopped {
			t.Errorf("instance 1, saved stopped, is %s (pid %d) after a watch event; want stopped", p.Status, p.PID)
		}
	}
}
