//go:build linux

package e2e

import (
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gpmd/gpm/api"
)

func TestKeepAliveAfterKill9(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	mustRun(t, home, "start", fixture("echo.sh"), "--name", "alive")
	p := waitOnline(t, home, "alive")
	if err := syscall.Kill(p.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	q := waitProc(t, home, "alive", 10*time.Second, "a new pid online after kill -9", func(q api.Process) bool {
		return isOnline(q) && q.PID != p.PID
	})
	if q.Restarts != 1 {
		t.Errorf("restarts = %d after one kill -9, want 1", q.Restarts)
	}
	if exists(p.PID) && !zombie(p.PID) {
		t.Errorf("old pid %d still alive", p.PID)
	}
}

// processFile writes a JSON process file with one app into dir and returns its path.
func processFile(t *testing.T, dir, name string, app map[string]any) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("{ apps: [ {")
	for k, v := range app {
		fmt.Fprintf(&b, " %q: %s,", k, jsonValue(v))
	}
	b.WriteString(" } ] }\n")
	return writeFile(t, dir, name, b.String())
}

func jsonValue(v any) string {
	switch v := v.(type) {
	case string:
		return strconv.Quote(v)
	case []string:
		q := make([]string, len(v))
		for i, s := range v {
			q[i] = strconv.Quote(s)
		}
		return "[" + strings.Join(q, ", ") + "]"
	case map[string]string:
		var parts []string
		for k, s := range v {
			parts = append(parts, strconv.Quote(k)+": "+strconv.Quote(s))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return fmt.Sprint(v)
}

func TestCrashLoopErrored(t *testing.T) {
	t.Parallel()
	// errored checks that name reached errored after max exits in a row within min_uptime, stays there, and says why.
	errored := func(t *testing.T, home, name, stamps string, max int) {
		t.Helper()
		p := waitProc(t, home, name, 20*time.Second, name+" errored", func(p api.Process) bool { return p.Status == api.StatusErrored })
		if p.UnstableRestarts != max {
			t.Errorf("unstable_restarts = %d, want %d (max_restarts)", p.UnstableRestarts, max)
		}
		if p.PID != 0 {
			t.Errorf("errored process has pid %d", p.PID)
		}
		starts := countLines(t, stamps)
		time.Sleep(500 * time.Millisecond)
		q := one(t, home, name)
		if q.Status != api.StatusErrored || q.Restarts != p.Restarts || q.UnstableRestarts != p.UnstableRestarts {
			t.Errorf("errored app kept changing: status %s→%s restarts %d→%d unstable %d→%d", p.Status, q.Status,
				p.Restarts, q.Restarts, p.UnstableRestarts, q.UnstableRestarts)
		}
		if n := countLines(t, stamps); n != starts {
			t.Errorf("errored app was started again: %d starts, then %d", starts, n)
		}
		desc := mustRun(t, home, "describe", name)
		if !strings.Contains(desc, "max_restarts") {
			t.Errorf("describe does not give the reason (max_restarts):\n%s", desc)
		}
	}

	t.Run("immediate", func(t *testing.T) {
		t.Parallel()
		home := newHome(t)
		stamps := filepath.Join(home, "stamps")
		mustRun(t, home, "start", fixture("crash.sh"), "--name", "loop", "--", "1", stamps)
		errored(t, home, "loop", stamps, 16)
		if n := countLines(t, stamps); n != 16 {
			t.Errorf("the app was started %d times, want 16 (max_restarts)", n)
		}

		// reset zeroes the counters; restart starts it again (it crashes again: it only has to have started).
		mustRun(t, home, "reset", "loop")
		p := one(t, home, "loop")
		if p.Restarts != 0 || p.UnstableRestarts != 0 {
			t.Errorf("after reset: restarts=%d unstable_restarts=%d, want 0 and 0", p.Restarts, p.UnstableRestarts)
		}
		before := countLines(t, stamps)
		run(t, home, "restart", "loop") // it may report that the app failed right away; its status is what counts
		waitFor(t, 10*time.Second, func() bool { return countLines(t, stamps) > before }, "the app to start again after reset and restart")
		waitProc(t, home, "loop", 10*time.Second, "restart counters to move after reset", func(p api.Process) bool {
			return p.Restarts > 0 || p.UnstableRestarts > 0
		})
	})

	t.Run("with restart delay", func(t *testing.T) {
		t.Parallel()
		home := newHome(t)
		stamps := filepath.Join(home, "stamps")
		mustRun(t, home, "start", fixture("crash.sh"), "--name", "delayed", "--restart-delay", "50", "--", "1", stamps)
		// PM2 stays "waiting restart" forever here; the end state must be errored.
		errored(t, home, "delayed", stamps, 16)
	})

	t.Run("late", func(t *testing.T) {
		t.Parallel()
		home := newHome(t)
		stamps, marker := filepath.Join(home, "stamps"), filepath.Join(home, "marker")
		// PM2 counts unstable exits only in the first min_uptime*max_restarts = 3 s of the app's life; the
		// first run lasts 3.5 s, so the loop that follows would never end there. min_uptime is 1 s so that a run
		// that crashes at once stays under it on a loaded machine (a shell's start took over 300 ms there).
		file := processFile(t, home, "late.json", map[string]any{
			"name": "late", "script": fixture("late_crash.sh"), "args": []string{marker, stamps},
			"min_uptime": 1000, "max_restarts": 3,
		})
		mustRun(t, home, "start", file)
		p := waitProc(t, home, "late", 20*time.Second, "late crash loop errored", func(p api.Process) bool {
			return p.Status == api.StatusErrored
		})
		if p.UnstableRestarts != 3 {
			t.Errorf("unstable_restarts = %d, want 3", p.UnstableRestarts)
		}
		if n := countLines(t, stamps); n != 4 {
			t.Errorf("started %d times, want 4 (one stable run, then 3 unstable)", n)
		}
		time.Sleep(500 * time.Millisecond)
		if q := one(t, home, "late"); q.Status != api.StatusErrored || q.Restarts != p.Restarts {
			t.Errorf("errored app kept changing: status %s, restarts %d→%d", q.Status, p.Restarts, q.Restarts)
		}
	})
}

func TestStopExitCodes(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	stamps3, stamps4 := filepath.Join(home, "stamps3"), filepath.Join(home, "stamps4")
	mustRun(t, home, "start", fixture("crash.sh"), "--name", "code3", "--stop-exit-codes", "3", "--", "3", stamps3)
	mustRun(t, home, "start", fixture("crash.sh"), "--name", "code4", "--stop-exit-codes", "3", "--", "4", stamps4)

	p := waitProc(t, home, "code3", 10*time.Second, "code3 stopped", func(p api.Process) bool { return p.Status == api.StatusStopped })
	if p.Restarts != 0 {
		t.Errorf("exit code in stop_exit_codes: restarts = %d, want 0", p.Restarts)
	}
	if p.ExitCode == nil || *p.ExitCode != 3 {
		t.Errorf("exit_code = %v, want 3", exitCode(p))
	}
	time.Sleep(300 * time.Millisecond)
	if n := countLines(t, stamps3); n != 1 {
		t.Errorf("code3 started %d times, want 1", n)
	}
	if q := one(t, home, "code3"); q.Status != api.StatusStopped {
		t.Errorf("code3 status %s, want stopped", q.Status)
	}

	waitProc(t, home, "code4", 10*time.Second, "code4 (exit 4, not a stop code) restarted", func(p api.Process) bool { return p.Restarts >= 1 })
	if n := countLines(t, stamps4); n < 2 {
		t.Errorf("code4 started %d times, want a restart", n)
	}
}

func TestNoAutorestart(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	stamps := filepath.Join(home, "stamps")
	mustRun(t, home, "start", fixture("crash.sh"), "--name", "once", "--no-autorestart", "--", "1", stamps)
	p := waitProc(t, home, "once", 10*time.Second, "once stopped", func(p api.Process) bool { return p.Status == api.StatusStopped })
	if p.Restarts != 0 || p.PID != 0 {
		t.Errorf("restarts=%d pid=%d, want 0 and 0", p.Restarts, p.PID)
	}
	if p.ExitCode == nil || *p.ExitCode != 1 {
		t.Errorf("exit_code = %v, want 1", exitCode(p))
	}
	time.Sleep(300 * time.Millisecond)
	if n := countLines(t, stamps); n != 1 {
		t.Errorf("started %d times, want 1", n)
	}
	if q := one(t, home, "once"); q.Status != api.StatusStopped {
		t.Errorf("status %s, want stopped", q.Status)
	}
}

// TestExpBackoff compares wall-clock gaps, so it does not run in parallel: top-level tests without t.Parallel run
// before the parallel ones start, on a machine that is otherwise idle.
func TestExpBackoff(t *testing.T) {
	home := newHome(t)
	stamps := filepath.Join(home, "stamps")
	file := processFile(t, home, "backoff.json", map[string]any{
		"name": "backoff", "script": fixture("crash.sh"), "args": []string{"1", stamps},
		"exp_backoff_restart_delay": 100, "max_restarts": 100,
	})
	mustRun(t, home, "start", file)
	w := waitProc(t, home, "backoff", 10*time.Second, "status waiting between restarts", func(p api.Process) bool {
		return p.Status == api.StatusWaiting
	})
	if w.NextRestart == nil {
		t.Errorf("a waiting process has no next_restart in jlist (reason %q)", w.Reason)
	}
	// Delays 100, 150, 225, 337, 506 ms: six starts give five gaps.
	waitFor(t, 20*time.Second, func() bool { return countLines(t, stamps) >= 6 }, "six starts")
	mustRun(t, home, "stop", "backoff")
	var ts []int64
	for _, l := range lines(readFile(t, stamps))[:6] {
		n, err := strconv.ParseInt(l, 10, 64)
		if err != nil {
			t.Fatalf("stamp %q: %v", l, err)
		}
		ts = append(ts, n)
	}
	var gaps []time.Duration
	for i := 1; i < len(ts); i++ {
		gaps = append(gaps, time.Duration(ts[i]-ts[i-1]))
	}
	t.Logf("gaps between starts: %v", gaps)
	// Only the ordering is asserted, with pairs far enough apart to survive a loaded machine.
	if gaps[0] < 100*time.Millisecond {
		t.Errorf("first gap %v is shorter than the configured 100 ms", gaps[0])
	}
	if !(gaps[3] > gaps[0] && gaps[4] > gaps[1] && gaps[3]+gaps[4] > gaps[0]+gaps[1]+gaps[2]) {
		t.Errorf("gaps between restarts do not grow: %v", gaps)
	}
}

func TestKillTimeoutKillsTree(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	pidfile := filepath.Join(home, "app-pids")
	mustRun(t, home, "start", fixture("ignore_int.sh"), "--name", "stubborn", "-k", "500", "--", pidfile)
	pids := readPids(t, pidfile)
	leader, child := pids[0], pids[1]
	if p := waitOnline(t, home, "stubborn"); p.PID != leader {
		t.Fatalf("gpm pid %d, the app says %d", p.PID, leader)
	}
	mustRun(t, home, "stop", "stubborn")
	for _, pid := range []int{leader, child} {
		if alive(pid) { // a zombie is dead: the cgroup empties at exit, a moment before the reap
			t.Errorf("pid %d (state %s) still exists after gpm stop returned", pid, procState(pid))
		}
	}
	p := one(t, home, "stubborn")
	if p.Status != api.StatusStopped || p.PID != 0 {
		t.Errorf("after stop: status %s pid %d", p.Status, p.PID)
	}
	if p.Restarts != 0 {
		t.Errorf("a requested stop counted as a restart: %d", p.Restarts)
	}
	// The leader ignored SIGINT: only the SIGKILL after kill_timeout could end it.
	if p.ExitSignal != "SIGKILL" {
		t.Errorf("exit_signal %q, want SIGKILL (the app ignores SIGINT)", p.ExitSignal)
	}
}

func TestStopWhileWaiting(t *testing.T) {
	t.Parallel()
	for _, action := range []string{"stop", "delete"} {
		t.Run(action, func(t *testing.T) {
			t.Parallel()
			home := newHome(t)
			stamps := filepath.Join(home, "stamps")
			// A 2 s delay, so that the stop lands while the restart is pending even on a loaded machine; the starts
			// are counted once the stop has returned (a restart that ran before it is not what this test is about).
			mustRun(t, home, "start", fixture("crash.sh"), "--name", "pending", "--restart-delay", "2000", "--", "1", stamps)
			waitProc(t, home, "pending", 10*time.Second, "waiting for its restart", func(p api.Process) bool {
				return p.Status == api.StatusWaiting
			})
			mustRun(t, home, action, "pending")
			n := countLines(t, stamps)
			time.Sleep(2500 * time.Millisecond) // past the restart that was pending
			if got := countLines(t, stamps); got != n {
				t.Errorf("the pending restart still ran after gpm %s: %d starts, then %d", action, n, got)
			}
			ps := procs(t, home, "pending")
			switch {
			case action == "delete" && len(ps) != 0:
				t.Errorf("after delete: %+v", ps)
			case action == "stop" && (len(ps) != 1 || ps[0].Status != api.StatusStopped):
				t.Errorf("after stop: %+v", ps)
			}
		})
	}
}

func TestExitZeroRestarts(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	stamps := filepath.Join(home, "stamps")
	// Any exit restarts, a clean one too.
	mustRun(t, home, "start", fixture("crash.sh"), "--name", "clean", "--max-restarts", "3", "--", "0", stamps)
	p := waitProc(t, home, "clean", 10*time.Second, "errored after 3 quick clean exits", func(p api.Process) bool {
		return p.Status == api.StatusErrored
	})
	if p.Restarts != 2 || countLines(t, stamps) != 3 {
		t.Errorf("clean exits: restarts %d, starts %d; want 2 and 3", p.Restarts, countLines(t, stamps))
	}
}

func TestStopKillsSetsidGrandchild(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	pidfile := filepath.Join(home, "grandchild")
	mustRun(t, home, "start", fixture("daemonize.sh"), "--name", "daemonizer", "-k", "300", "--", pidfile)
	gc := readPids(t, pidfile)[0]
	p := waitOnline(t, home, "daemonizer")
	if sid, _ := unix.Getsid(gc); sid == p.PID {
		t.Fatalf("the grandchild %d did not leave the app's session", gc)
	}
	mustRun(t, home, "stop", "daemonizer")
	if alive(gc) {
		t.Errorf("grandchild %d (its own session, still in the tree at stop) survived gpm stop (state %s)", gc, procState(gc))
	}
}

func TestStopAndDeleteFreeThePort(t *testing.T) {
	t.Parallel()
	for _, action := range []string{"stop", "delete"} {
		t.Run(action, func(t *testing.T) {
			t.Parallel()
			home := newHome(t)
			info := filepath.Join(home, "listener")
			mustRun(t, home, "start", listenerBin, "--name", "srv", "-k", "300", "--", info)
			f := readPids(t, info)
			port, child := f[0], f[2]
			addr := "127.0.0.1:" + strconv.Itoa(port)
			if ln, err := net.Listen("tcp", addr); err == nil {
				ln.Close()
				t.Fatalf("port %d is free while the app runs: the fixture is broken", port)
			}
			mustRun(t, home, action, "srv")
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				t.Fatalf("after gpm %s the port is still held (worker %d state %q): %v", action, child, procState(child), err)
			}
			ln.Close()
			// Dead is what counts: in cgroup mode the stop ends when the cgroup is empty, which a process leaves at
			// its exit, a moment before the daemon (its subreaper) reaps the zombie.
			if alive(child) {
				t.Errorf("worker %d survived gpm %s", child, action)
			}
		})
	}
}

// TestPidFiles: each app's pid file (PM2's place, GPM_HOME/pids/<name>-<id>.pid, or --pid) follows its pid through a
// restart after kill -9, and goes away when the app stops and when it is deleted. The files are written off the
// supervision loop, so each check waits for them.
func TestPidFiles(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	custom := filepath.Join(t.TempDir(), "run", "custom.pid")
	mustRun(t, home, "start", fixture("echo.sh"), "--name", "pidded")
	mustRun(t, home, "start", fixture("echo.sh"), "--name", "custom", "--pid", custom)
	p := waitOnline(t, home, "pidded")
	c := waitOnline(t, home, "custom")
	def := filepath.Join(home, "pids", fmt.Sprintf("pidded-%d.pid", p.ID))
	holds := func(path string, pid int) func() bool {
		return func() bool {
			b, err := os.ReadFile(path)
			return err == nil && strings.TrimSpace(string(b)) == strconv.Itoa(pid)
		}
	}
	gone := func(path string) func() bool {
		return func() bool { _, err := os.Stat(path); return os.IsNotExist(err) }
	}
	waitFor(t, 5*time.Second, holds(def, p.PID), def+" holding the app's pid")
	waitFor(t, 5*time.Second, holds(custom, c.PID), custom+" (--pid, in a directory created for it) holding the app's pid")

	if err := syscall.Kill(p.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	q := waitProc(t, home, "pidded", 10*time.Second, "a new pid online after kill -9", func(q api.Process) bool {
		return isOnline(q) && q.PID != p.PID
	})
	waitFor(t, 5*time.Second, holds(def, q.PID), def+" holding the restarted app's new pid")

	mustRun(t, home, "stop", "pidded")
	waitFor(t, 5*time.Second, gone(def), def+" removed after stop")
	mustRun(t, home, "delete", "custom")
	waitFor(t, 5*time.Second, gone(custom), custom+" removed after delete")

	// Started again, it gets a pid file again (the daemon reuses the removed file).
	mustRun(t, home, "restart", "pidded")
	r := waitProc(t, home, "pidded", 10*time.Second, "online again after stop and restart", func(r api.Process) bool {
		return isOnline(r) && r.PID != q.PID
	})
	waitFor(t, 5*time.Second, holds(def, r.PID), def+" holding the pid after stop and restart")
	mustRun(t, home, "delete", "all")
	waitFor(t, 5*time.Second, gone(def), def+" removed after delete")
	entries, err := os.ReadDir(filepath.Join(home, "pids"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), ".") {
			t.Errorf("pids/%s left after delete all", e.Name())
		}
	}
}

// TestCronRestart: cron_restart restarts a running app at its times, starts again a job that exited on its own
// (autorestart: false, PM2's way of running scheduled jobs), and leaves alone an app a user stopped.
func TestCronRestart(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	const every2s = "*/2 * * * * *"
	mustRun(t, home, "start", fixture("echo.sh"), "--name", "cronned", "--cron-restart", every2s)
	first := waitOnline(t, home, "cronned")
	second := waitProc(t, home, "cronned", 10*time.Second, "restarted by cron", func(p api.Process) bool {
		return isOnline(p) && p.PID != first.PID
	})
	if second.Restarts < 1 {
		t.Errorf("restarts %d after a cron restart, want >= 1", second.Restarts)
	}
	if desc := mustRun(t, home, "describe", "cronned"); !regexp.MustCompile(`cron restart +\*/2 \* \* \* \* \*`).MatchString(desc) {
		t.Errorf("describe does not show the cron restart:\n%s", desc)
	}

	dir := t.TempDir()
	job := writeFile(t, dir, "job.yml", fmt.Sprintf(`apps:
  - name: job
    script: sh
    args: ["-c", "echo run"]
    autorestart: false
    cron_restart: %q
`, every2s))
	mustRun(t, home, "start", job)
	waitFor(t, 10*time.Second, func() bool {
		b, _ := os.ReadFile(outLog(home, "job"))
		return strings.Count(string(b), "run\n") >= 3
	}, "the job run three times (it exits; cron starts it again)")

	mustRun(t, home, "stop", "cronned")
	stopped := waitProc(t, home, "cronned", 5*time.Second, "stopped", func(p api.Process) bool { return p.Status == api.StatusStopped })
	time.Sleep(2500 * time.Millisecond) // past the next cron time
	if p := waitProc(t, home, "cronned", time.Second, "still stopped", func(api.Process) bool { return true }); p.Status != api.StatusStopped || p.Restarts != stopped.Restarts {
		t.Errorf("after gpm stop, cron restarted it: %s, %d restarts (had %d)", p.Status, p.Restarts, stopped.Restarts)
	}

	_, stderr, code := run(t, home, "start", fixture("echo.sh"), "--name", "badcron", "--cron-restart", "61 * * * *")
	if code == 0 || !strings.Contains(stderr, "--cron-restart: must be a cron expression") {
		t.Errorf("a bad cron expression: exit %d, %q; want a failure that says what is expected", code, stderr)
	}
}

// TestWatch: a change under an app's watched paths restarts it; changes that are ignored (dot files and
// node_modules by default, ignore_watch when given, paths outside the watch, the app's own log file) do not; a
// directory created later is watched too; an app a user stopped stays stopped.
func TestWatch(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	dir := t.TempDir()
	for _, d := range []string{"src", "node_modules", "other"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	script := writeFile(t, dir, "app.sh", "echo started\nexec sleep 1000\n")
	write := func(rel string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, rel), []byte(rel), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// restarted waits for name to run with a pid other than pid; kept checks that it still runs as pid.
	restarted := func(name string, pid int, what string) int {
		t.Helper()
		return waitProc(t, home, name, 10*time.Second, what, func(p api.Process) bool { return isOnline(p) && p.PID != pid }).PID
	}
	// changed writes rel until name restarts: the daemon adds the watched trees just after the start, off its loop,
	// so a change made at once may come before the watch.
	changed := func(rel, name string, pid int, what string) int {
		t.Helper()
		for i := 0; i < 10; i++ {
			write(rel)
			deadline := time.Now().Add(time.Second)
			for time.Now().Before(deadline) {
				if p := waitOnline(t, home, name); p.PID != pid {
					return p.PID
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
		t.Fatalf("%s: not restarted", what)
		return 0
	}
	kept := func(name string, pid int, what string) {
		t.Helper()
		time.Sleep(700 * time.Millisecond) // the restart would have come by now (100 ms debounce)
		if p := waitOnline(t, home, name); p.PID != pid {
			t.Errorf("%s: restarted (pid %d -> %d); want no restart", what, pid, p.PID)
		}
	}

	mustRun(t, home, "start", script, "--name", "w", "--watch", "--cwd", dir)
	pid := waitOnline(t, home, "w").PID
	if desc := mustRun(t, home, "describe", "w"); !regexp.MustCompile(`(?m)^watch +\.$`).MatchString(desc) {
		t.Errorf("describe does not show the watch:\n%s", desc)
	}
	pid = changed("src/a.txt", "w", pid, "restarted after src/a.txt changed")
	write("node_modules/b.txt")
	write(".hidden")
	kept("w", pid, "node_modules/b.txt and .hidden (ignored by default)")
	if err := os.Mkdir(filepath.Join(dir, "src", "new"), 0o755); err != nil {
		t.Fatal(err)
	}
	pid = restarted("w", pid, "restarted after src/new was created")
	// changed, not write then restarted: the new directory is added to the watch off the loop, and on a loaded
	// machine a single write may come before it (TestWatch failed so once at load 14).
	changed("src/new/c.txt", "w", pid, "restarted after a file changed in a directory created after the start")
	mustRun(t, home, "stop", "w")
	write("src/a.txt")
	time.Sleep(700 * time.Millisecond)
	if p := waitProc(t, home, "w", time.Second, "stopped", func(api.Process) bool { return true }); p.Status != api.StatusStopped {
		t.Errorf("after gpm stop, a change started it: %s", p.Status)
	}

	// From a process file: only src counts, *.log is ignored, and the app's own log file inside the tree is not a
	// change (it would restart the app for ever).
	file := writeFile(t, dir, "watch.yml", fmt.Sprintf(`apps:
  - name: f
    script: %q
    cwd: %q
    watch: [src]
    ignore_watch: ["*.log"]
    watch_delay: 200
    out_file: src/f-out.log
`, script, dir))
	mustRun(t, home, "start", file)
	pid = waitOnline(t, home, "f").PID
	waitFileContains(t, filepath.Join(dir, "src", "f-out.log"), "started")
	pid = changed("src/y.txt", "f", pid, "restarted after src/y.txt changed")
	write("src/x.log")
	write("other/z.txt")
	kept("f", pid, "src/x.log (ignore_watch), other/z.txt (not watched) and the app's own log")

	// Two instances, each with its own log in the watched tree: neither log restarts anything.
	mustRun(t, home, "start", script, "--name", "g", "-i", "2", "--watch", "--cwd", dir, "-o", filepath.Join(dir, "g.log"))
	pids := func() map[int]bool {
		out := map[int]bool{}
		for _, p := range jlist(t, home) {
			if p.Name == "g" && isOnline(p) {
				out[p.PID] = true
			}
		}
		return out
	}
	waitFor(t, 10*time.Second, func() bool { return len(pids()) == 2 }, "2 instances of g online")
	for _, p := range jlist(t, home) {
		if p.Name == "g" {
			waitFileContains(t, filepath.Join(dir, fmt.Sprintf("g-%d.log", p.ID)), "started") // -<id>, as PM2 names them
		}
	}
	first := pids()
	time.Sleep(time.Second)
	if now := pids(); !maps.Equal(now, first) {
		t.Errorf("g's instances restarted (pids %v -> %v): their own logs in the watched tree must not count", first, now)
	}
}
