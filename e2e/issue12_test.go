package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gpmd/gpm/api"
	"golang.org/x/sys/unix"
)

// Issue 12, containment: each test runs against both containments, a cgroup per process (where this host has a
// writable cgroup v2 hierarchy: root here) and the fallback (process group and tracked members, forced with
// GPM_CGROUP=off).

// containments are the modes a test runs in: the env given to the command that starts the daemon, and the
// containment jlist must then report.
var containments = []struct {
	name, env, want string
}{
	{"cgroup", "GPM_CGROUP=on", "cgroup"},
	{"fallback", "GPM_CGROUP=off", "process-group"},
}

// startIn starts the daemon of home in the containment of env (the daemon inherits the first command's
// environment), skipping when cgroup mode is wanted and the host has none.
func startIn(t *testing.T, home, env, want string) {
	t.Helper()
	mustRunWith(t, home, opts{env: []string{env}}, "ls")
	mustRun(t, home, "start", "sleep", "--name", "probe", "--", "1000")
	p := waitOnline(t, home, "probe")
	mustRun(t, home, "delete", "probe")
	if p.Containment != want {
		if want == "cgroup" {
			t.Skipf("no cgroup containment on this host: %s", p.ContainmentReason)
		}
		t.Fatalf("containment %q (%s), want %q", p.Containment, p.ContainmentReason, want)
	}
}

// hog is a script whose child (not the leader) takes mb MiB and holds them.
func hog(t *testing.T, dir string, mb int) string {
	return writeFile(t, dir, "hog.sh", `#!/bin/sh
python3 -c 'import time
b = bytearray(`+strconv.Itoa(mb)+` << 20)
for i in range(0, len(b), 4096): b[i] = 1
print("allocated", flush=True)
time.sleep(1000)'
`)
}

// TestTreeMaxMemoryRestart_Issue12: an app whose child, not its leader, grows past max_memory_restart is
// restarted (before: the leader's 3 MB was all gpm measured, and it never was).
func TestTreeMaxMemoryRestart_Issue12(t *testing.T) {
	t.Parallel()
	for _, c := range containments {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			home := newHome(t)
			startIn(t, home, c.env, c.want)
			script := hog(t, t.TempDir(), 80)
			mustRun(t, home, "start", "sh", "--name", "hog", "--max-memory-restart", "40M", "--", script)
			p := waitProc(t, home, "hog", patient(20*time.Second), "restarted for its child's memory", func(p api.Process) bool {
				return p.Restarts >= 1
			})
			if p.Reason != "" && !strings.Contains(p.Reason, "max_memory_restart") && p.Status != api.StatusOnline {
				t.Errorf("reason %q", p.Reason)
			}
		})
	}
}

// TestLsShowsTreeMemory_Issue12: gpm ls and jlist show the memory of the whole tree (a 60 MiB child of a shell).
func TestLsShowsTreeMemory_Issue12(t *testing.T) {
	t.Parallel()
	for _, c := range containments {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			home := newHome(t)
			startIn(t, home, c.env, c.want)
			script := hog(t, t.TempDir(), 60)
			mustRun(t, home, "start", "sh", "--name", "tree", "--", script)
			waitFileContains(t, outLog(home, "tree"), "allocated")
			waitProc(t, home, "tree", patient(10*time.Second), "jlist memory >= 60 MiB", func(p api.Process) bool {
				return p.Memory >= 60<<20
			})
			var row string
			for _, l := range strings.Split(mustRun(t, home, "ls"), "\n") {
				if strings.Contains(l, " tree ") {
					row = l
				}
			}
			found := false
			for _, f := range strings.Fields(strings.ReplaceAll(row, "│", " ")) {
				if v, ok := strings.CutSuffix(f, "mb"); ok {
					if n, err := strconv.ParseFloat(v, 64); err == nil && n >= 60 {
						found = true
					}
				}
			}
			if !found {
				t.Errorf("gpm ls does not show the tree's 60+ MiB: %q", row)
			}
		})
	}
}

// TestStopKillsEscapees_Issue12: a double-forked setsid daemon and a child that left the process group (setpgid)
// die with stop, in both containments; in cgroup mode they were in the process's own cgroup.
func TestStopKillsEscapees_Issue12(t *testing.T) {
	t.Parallel()
	for _, c := range containments {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			home := newHome(t)
			startIn(t, home, c.env, c.want)
			dir := t.TempDir()
			marker := sleepMarker()
			script := writeFile(t, dir, "escape.sh", `#!/bin/sh
( setsid sh -c 'echo $$ > "$0.tmp"; mv "$0.tmp" "$0"; exec sleep `+marker+`' "$1" & )
python3 -c 'import os, sys, time
os.setpgid(0, 0)
open(sys.argv[1] + ".tmp", "w").write(str(os.getpid()) + "\n")
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
time.sleep(1000)' "$2" &
while :; do sleep 0.2; done
`)
			daemonized, regrouped := filepath.Join(dir, "daemonized"), filepath.Join(dir, "regrouped")
			mustRun(t, home, "start", "sh", "--name", "escape", "-k", "500", "--", script, daemonized, regrouped)
			a, b := readPids(t, daemonized)[0], readPids(t, regrouped)[0]
			p := waitOnline(t, home, "escape")
			if pg, _ := unix.Getpgid(b); pg == p.PID {
				t.Fatalf("the regrouped child %d is still in the app's group", b)
			}
			if c.want == "cgroup" {
				if p.Cgroup == "" {
					t.Fatalf("no cgroup in jlist: %+v", p)
				}
				procs, err := os.ReadFile(filepath.Join(p.Cgroup, "cgroup.procs"))
				if err != nil {
					t.Fatal(err)
				}
				for _, pid := range []int{p.PID, a, b} {
					if !strings.Contains("\n"+string(procs), "\n"+strconv.Itoa(pid)+"\n") {
						t.Errorf("pid %d not in %s/cgroup.procs: %q", pid, p.Cgroup, procs)
					}
				}
			}
			mustRun(t, home, "stop", "escape")
			for _, pid := range []int{a, b} {
				if alive(pid) {
					t.Errorf("%d survived gpm stop (state %s)", pid, procState(pid))
				}
			}
			waitNone(t, "sleep "+marker, "after gpm stop")
		})
	}
}

// TestStopKillsClearedEnvOrphan_Issue12: in cgroup mode, even the fallback's known gap dies with stop: an orphan
// that exec'd with GPM_ID cleared from its environment (env -i) before its parent died.
func TestStopKillsClearedEnvOrphan_Issue12(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	startIn(t, home, "GPM_CGROUP=on", "cgroup")
	dir := t.TempDir()
	marker := sleepMarker()
	script := writeFile(t, dir, "hide.sh", `#!/bin/sh
( env -i setsid sh -c 'echo $$ > "$0.tmp"; mv "$0.tmp" "$0"; exec sleep `+marker+`' "$1" & )
while :; do sleep 0.2; done
`)
	pidfile := filepath.Join(dir, "hidden")
	mustRun(t, home, "start", "sh", "--name", "hide", "-k", "300", "--", script, pidfile)
	orphan := readPids(t, pidfile)[0]
	waitOnline(t, home, "hide")
	mustRun(t, home, "stop", "hide")
	if alive(orphan) {
		t.Errorf("orphan %d with a cleared environment survived gpm stop", orphan)
		unix.Kill(orphan, unix.SIGKILL)
	}
}

// TestPidReuseNeverSignalled_Issue12: a member of a run that exits during the stop's grace and whose pid is then
// reused by an unrelated process: the SIGKILL at kill_timeout never reaches that process. The run is a reload's
// drain (before: the drain SIGKILLed the raw pids of its descendants).
func TestPidReuseNeverSignalled_Issue12(t *testing.T) {
	t.Parallel()
	for _, c := range containments {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			home := newHome(t)
			startIn(t, home, c.env, c.want)
			dir := t.TempDir()
			script := writeFile(t, dir, "worker.sh", `#!/bin/sh
trap 'true' TERM
sh -c 'trap "exit 0" TERM; echo $$ > "$0.tmp"; mv "$0.tmp" "$0"; while :; do sleep 0.05; done' "$1.$$" &
while :; do sleep 0.1; done
`)
			base := filepath.Join(dir, "child")
			mustRun(t, home, "start", "sh", "--name", "reuse", "--listen", "tcp://127.0.0.1:0", "--kill-signal", "SIGTERM",
				"-k", "4000", "--", script, base)
			leader := waitOnline(t, home, "reuse").PID
			child := readPids(t, base+"."+strconv.Itoa(leader))[0]
			mustRun(t, home, "reload", "reuse")
			waitFor(t, 10*time.Second, func() bool { return !exists(child) }, "the drain's child exited on SIGTERM and was reaped")
			victim := reusePid(child)
			if victim == nil {
				t.Skipf("could not get pid %d again (other processes took it first)", child)
			}
			defer func() { victim.Process.Kill(); victim.Wait() }()
			// At kill_timeout the drain's leader (it traps SIGTERM) and its members are SIGKILLed in one turn of the
			// loop: once the leader is gone, a request answered by the loop comes after that turn.
			waitFor(t, patient(10*time.Second), func() bool { return !alive(leader) }, "the drain's leader killed at kill_timeout")
			mustRun(t, home, "ls")
			if !alive(victim.Process.Pid) {
				t.Errorf("process %d, which reused the pid of the drain's child, was killed", victim.Process.Pid)
			}
		})
	}
}

// reusePid starts a process (sleep) with pid pid through ns_last_pid (root), or returns nil after a few tries.
func reusePid(pid int) *exec.Cmd {
	for range 200 {
		if os.WriteFile("/proc/sys/kernel/ns_last_pid", []byte(strconv.Itoa(pid-1)), 0) != nil {
			return nil
		}
		cmd := exec.Command("sleep", "1000")
		if cmd.Start() != nil {
			return nil
		}
		if cmd.Process.Pid == pid {
			return cmd
		}
		cmd.Process.Kill()
		cmd.Wait()
	}
	return nil
}

// TestMemoryMaxKillsRunaway_Issue12: memory_max (memory.max) kills an app's runaway child where the memory
// controller exists; where it does not, or without cgroups, the start is refused with a message that names it.
func TestMemoryMaxKillsRunaway_Issue12(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	startIn(t, home, "GPM_CGROUP=off", "process-group")
	script := hog(t, t.TempDir(), 200)
	_, stderr, code := run(t, home, "start", "sh", "--name", "fb", "--memory-max", "50M", "--", script)
	if code == 0 || !strings.Contains(stderr, "memory_max needs cgroup containment") || !strings.Contains(stderr, "GPM_CGROUP=off") {
		t.Errorf("fallback mode: memory_max not refused clearly (exit %d): %s", code, stderr)
	}

	home = newHome(t)
	startIn(t, home, "GPM_CGROUP=on", "cgroup")
	_, stderr, code = run(t, home, "start", "sh", "--name", "runaway", "--memory-max", "50M", "--", script)
	if code != 0 {
		if strings.Contains(stderr, "memory controller is not enabled") {
			t.Skipf("no memory controller for gpm's cgroups on this host (hybrid cgroup v1/v2): %s", strings.TrimSpace(stderr))
		}
		t.Fatalf("start with --memory-max: exit %d: %s", code, stderr)
	}
	p := waitOnline(t, home, "runaway")
	events := filepath.Join(p.Cgroup, "memory.events")
	waitFor(t, patient(10*time.Second), func() bool {
		b, _ := os.ReadFile(events)
		return strings.Contains(string(b), "oom_kill ") && !strings.Contains(string(b), "oom_kill 0")
	}, "an oom_kill in "+events)
}

// TestDescribeShowsContainment_Issue12: describe and jlist say which containment is in effect and why, and jlist
// carries the tree's cpu seconds.
func TestDescribeShowsContainment_Issue12(t *testing.T) {
	t.Parallel()
	for _, c := range containments {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			home := newHome(t)
			startIn(t, home, c.env, c.want)
			script := writeFile(t, t.TempDir(), "busy.sh", "#!/bin/sh\nsh -c 'while :; do :; done' &\nwhile :; do sleep 1; done\n")
			mustRun(t, home, "start", "sh", "--name", "busy", "--", script)
			p := waitProc(t, home, "busy", patient(10*time.Second), "cpu_seconds of the tree > 0.2", func(p api.Process) bool {
				return p.CPUSeconds > 0.2
			})
			if p.Containment != c.want || p.ContainmentReason == "" {
				t.Errorf("jlist containment %q reason %q", p.Containment, p.ContainmentReason)
			}
			out := mustRun(t, home, "describe", "busy")
			if !strings.Contains(out, "containment") || !strings.Contains(out, c.want+": ") {
				t.Errorf("describe does not show the containment %q:\n%s", c.want, out)
			}
			if c.want == "process-group" && !strings.Contains(out, "GPM_CGROUP=off") {
				t.Errorf("describe does not say why:\n%s", out)
			}
		})
	}
}
