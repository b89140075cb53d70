//go:build linux

package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gpmd/gpm/api"
	"github.com/gpmd/gpm/client"
)

// Issue 13, "Faults": each fault an automated test. Covered elsewhere, not repeated here:
//   - a corrupt dump.json: TestResurrectFallsBackToBak (dump_test.go) resurrects from the .bak and checks that the
//     user is told (".bak" in the output);
//   - disk full while saving, the dump itself: TestDumpFullDisk (dump_test.go); TestFaultDiskFull/save below adds
//     the .bak and the message;
//   - a double-forked setsid daemon and a child that left the group, once: TestStopKillsEscapees_Issue12; the
//     loops of them are TestFaultForkLoopContained below;
//   - a `logs` stream that is never read (RSS bounded, lines dropped and counted):
//     TestSubscriberMemory_Issue11Item9; a `subscribe` stream beside `gpm ls` is TestFaultSubscriberNeverReads;
//   - kill -9 of the daemon under systemd: e2e/systemd TestKill9BringsItBack.

// percentile returns the p-th percentile (0 < p <= 100) of ds, nearest rank.
func percentile(ds []time.Duration, p float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(float64(len(s))*p/100+0.999999) - 1
	return s[min(max(i, 0), len(s)-1)]
}

// timedRun runs gpm once and returns how long it took; it fails the test unless gpm exits 0.
func timedRun(t *testing.T, home string, args ...string) time.Duration {
	t.Helper()
	t0 := time.Now()
	mustRun(t, home, args...)
	return time.Since(t0)
}

// descendantOf reports whether pid is one of roots or has one of them among its ancestors.
func descendantOf(pid int, roots map[int]bool) bool {
	for i := 0; pid > 1 && i < 64; i++ {
		if roots[pid] {
			return true
		}
		pid = parentOf(pid)
	}
	return false
}

// TestFaultKill9UnderLoad: the user daemon is killed with SIGKILL while clients call it (gpm ls, control calls on
// the socket) and an HTTP load runs against a cluster app. An app that ignores the death signal outlives it; the
// next daemon's sweep stops it, so that afterwards every process carrying this GPM_HOME is the daemon or belongs to
// an app it lists, and `gpm resurrect` brings back exactly the saved list.
func TestFaultKill9UnderLoad(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	dir := t.TempDir()
	marker := sleepMarker()
	stubborn := writeFile(t, dir, "stubborn.sh", `#!/bin/sh
trap '' TERM INT
sleep `+marker+` &
echo $$ $! > "$1.tmp"; mv "$1.tmp" "$1"
while :; do sleep 0.2; done
`)
	pidfile := filepath.Join(dir, "pids")
	port := clusterPort(t)
	mustRun(t, home, "start", clusterGoWorker(t), "--name", "web", "--listen", fmt.Sprintf("tcp://127.0.0.1:%d", port),
		"-i", "2", "--wait-ready", "--listen-timeout", slowStart)
	mustRun(t, home, "start", "sh", "--name", "stubborn", "-k", "500", "--", stubborn, pidfile)
	mustRun(t, home, "start", "sleep", "--name", "nap", "-i", "3", "--", "1000")
	mustRun(t, home, "start", fixture("echo.sh"), "--name", "held")
	waitInstances(t, home, "nap", 3)
	waitOnline(t, home, "held")
	mustRun(t, home, "stop", "held")
	old := readPids(t, pidfile)
	waitOnline(t, home, "stubborn")
	mustRun(t, home, "save")
	saved := state(jlist(t, home))

	// The load: HTTP on the cluster app, `gpm ls` in a loop, and list calls on one long-lived and on fresh control
	// connections (client.Dial never starts a daemon).
	httpLoad := startClusterLoad(t, fmt.Sprintf("http://127.0.0.1:%d/", port), 4)
	httpLoad.waitRequests(t, 50, 10*time.Second)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var lsCalls, ctlCalls, ctlErrs atomic.Int64
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
				// A `gpm ls` after the kill may start a daemon itself: the invariant below holds either way.
				gpmCmd(ctx, home, opts{}, "ls").Run()
				cancel()
				lsCalls.Add(1)
			}
		})
	}
	wg.Go(func() {
		var c *client.Client
		for {
			select {
			case <-stop:
				if c != nil {
					c.Close()
				}
				return
			default:
			}
			if c == nil {
				var err error
				if c, err = client.Dial(context.Background(), home); err != nil {
					ctlErrs.Add(1)
					time.Sleep(20 * time.Millisecond)
					continue
				}
			}
			if _, err := c.List(context.Background()); err != nil {
				ctlErrs.Add(1)
				c.Close()
				c = nil
			}
			ctlCalls.Add(1)
		}
	})
	waitFor(t, 20*time.Second, func() bool { return lsCalls.Load() >= 4 && ctlCalls.Load() >= 20 }, "the control load to run")

	daemon := daemonPid(t, home)
	if err := syscall.Kill(daemon, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	waitFor(t, 10*time.Second, func() bool { return !alive(daemon) }, "the daemon gone after kill -9")
	waitFor(t, 10*time.Second, func() bool { return parentOf(old[0]) != daemon }, "the stubborn app reparented")
	// A few more calls against the dead daemon (or one a `gpm ls` started meanwhile).
	after := lsCalls.Load()
	waitFor(t, 30*time.Second, func() bool { return lsCalls.Load() >= after+2 }, "gpm ls calls after the kill")
	close(stop)
	wg.Wait()
	httpLoad.halt()
	failed, _ := httpLoad.failures()
	t.Logf("load: %d gpm ls, %d control calls (%d failed), %d HTTP requests ok and %d failed (the workers die with the daemon in user mode)",
		lsCalls.Load(), ctlCalls.Load(), ctlErrs.Load(), httpLoad.ok.Load(), failed)

	t0 := time.Now()
	out := mustRun(t, home, "resurrect")
	waitInstances(t, home, "nap", 3)
	waitInstances(t, home, "web", 2)
	waitOnline(t, home, "stubborn")
	t.Logf("kill -9 → resurrect returned in %v, all online %v after the kill", time.Since(t0), time.Since(killed))
	if got := state(jlist(t, home)); !slices.Equal(got, saved) {
		t.Errorf("after kill -9 and resurrect: %v, want the saved list %v\n%s", got, saved, out)
	}
	for _, pid := range old {
		if alive(pid) {
			t.Errorf("%s, left by the killed daemon, still runs after resurrect", describePids([]int{pid}))
		}
	}
	// Nothing orphaned and unmanaged: every process of this home is the daemon or in the tree of a listed app.
	managed := map[int]bool{daemonPid(t, home): true}
	for _, p := range jlist(t, home) {
		if p.PID != 0 {
			managed[p.PID] = true
		}
	}
	waitFor(t, 10*time.Second, func() bool {
		for _, pid := range leftovers([]string{home}) {
			if !descendantOf(pid, managed) {
				return false
			}
		}
		return true
	}, "every process of the home managed")
	if copies := cmdlineProcs("sleep " + marker); len(copies) != 1 {
		t.Errorf("%d copies of the stubborn app's child after resurrect, want 1: %s", len(copies), describePids(copies))
	}
	clusterServe(t, fmt.Sprintf("http://127.0.0.1:%d/", port), 20)
}

// mountTmpfs mounts a tmpfs of size on a new directory and returns it; the test is skipped when it cannot (not
// root, or no permission to mount). The cleanup unmounts it.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a size-limited tmpfs")
	}
	dir, err := os.MkdirTemp("", "gpm-e2e-full-")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0700", "tmpfs", dir).CombinedOutput(); err != nil {
		os.Remove(dir)
		t.Skipf("cannot mount a tmpfs (%v: %s)", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
		os.Remove(dir)
	})
	return dir
}

// fill writes into dir/filler until the filesystem is full.
func fill(t *testing.T, dir string) {
	t.Helper()
	f, err := os.Create(filepath.Join(dir, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 4096)
	for {
		if _, err := f.Write(chunk); err != nil {
			break
		}
	}
	for { // the last pages, a byte at a time
		if _, err := f.Write(chunk[:1]); err != nil {
			return
		}
	}
}

// TestFaultDiskFull: a full filesystem under gpm.
//   - save: GPM_HOME on a full tmpfs; `gpm save` fails with one line that says why, and both dump.json and its
//     .bak are left as they were (TestDumpFullDisk checks dump.json alone).
//   - logging: the app's log files on a full tmpfs (GPM_HOME elsewhere, so that gpm.log can be written); the app
//     never blocks on its pipe: a counter it writes to another filesystem keeps advancing long after the disk
//     filled, and the daemon reports the loss once in gpm.log.
func TestFaultDiskFull(t *testing.T) {
	t.Parallel()
	t.Run("save", func(t *testing.T) {
		t.Parallel()
		home := mountTmpfs(t, "256k")
		useHome(t, home) // registered after the umount, so its gpm kill runs first
		dump := filepath.Join(home, api.DumpName)
		mustRun(t, home, "start", fixture("echo.sh"), "--name", "first", "-o", "NULL", "-e", "NULL")
		mustRun(t, home, "save")
		mustRun(t, home, "start", fixture("echo.sh"), "--name", "second", "-o", "NULL", "-e", "NULL")
		mustRun(t, home, "save") // .bak holds [first], dump.json [first second]
		good, bak := readFile(t, dump), readFile(t, dump+".bak")
		if !strings.Contains(bak, "first") || strings.Contains(bak, "second") || !strings.Contains(good, "second") {
			t.Fatalf("after two saves: dump.json %q, .bak %q", good, bak)
		}
		mustRun(t, home, "start", fixture("echo.sh"), "--name", "third", "-o", "NULL", "-e", "NULL")
		fill(t, home)
		_, stderr, code := run(t, home, "save")
		t.Logf("gpm save on a full disk: exit %d: %s", code, strings.TrimSpace(stderr))
		if code == 0 {
			t.Errorf("save on a full disk: exit 0")
		} else if len(lines(stderr)) != 1 || !strings.Contains(stderr, "no space left on device") {
			t.Errorf("save on a full disk: want one line naming the cause (no space left on device), got %q", stderr)
		}
		if got := readFile(t, dump); got != good {
			t.Errorf("a failed save changed dump.json:\nbefore: %s\nafter: %s", good, got)
		}
		if got := readFile(t, dump+".bak"); got != bak {
			t.Errorf("a failed save changed dump.json.bak:\nbefore: %s\nafter: %s", bak, got)
		}
		// Nothing half-written left behind to fill the disk further.
		ents, _ := os.ReadDir(home)
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), api.DumpName) && e.Name() != api.DumpName && e.Name() != api.DumpName+".bak" {
				t.Errorf("a failed save left %s", e.Name())
			}
		}
		os.Remove(filepath.Join(home, "filler"))
		mustRun(t, home, "save")
		if !strings.Contains(readFile(t, dump), "third") {
			t.Errorf("save after freeing space does not hold the new app")
		}
	})

	t.Run("logging", func(t *testing.T) {
		t.Parallel()
		logs := mountTmpfs(t, "512k")
		// After mountTmpfs: the home's cleanup (gpm kill) runs before the umount. The counter is not on the tmpfs.
		home := newHome(t)
		counter := filepath.Join(t.TempDir(), "counter")
		script := writeFile(t, t.TempDir(), "writer.sh", `#!/bin/sh
line=$(printf '%0200d' 0)
i=0
while :; do
	i=$((i+1))
	echo "$i $line"
	echo "$i $line" >&2
	echo $i > "$1"
done
`)
		mustRun(t, home, "start", "sh", "--name", "writer", "-o", filepath.Join(logs, "out.log"),
			"-e", filepath.Join(logs, "err.log"), "--", script, counter)
		waitOnline(t, home, "writer")
		gpmLog := filepath.Join(home, api.DaemonLog)
		// reports returns the lines of gpm.log about the writer's logs.
		reports := func() []string {
			var out []string
			for _, l := range lines(readFile(t, gpmLog)) {
				if strings.Contains(l, "writer[") && strings.Contains(l, " log: ") {
					out = append(out, l)
				}
			}
			return out
		}
		waitFor(t, 30*time.Second, func() bool { return len(reports()) >= 2 }, "the loss reported in gpm.log (out and err)")
		full := time.Now()
		// count is the counter's last value (the app truncates the file before it writes: an empty read is retried).
		count := func() int {
			var n int
			waitFor(t, 10*time.Second, func() bool {
				var err error
				n, err = strconv.Atoi(strings.TrimSpace(readFile(t, counter)))
				return err == nil
			}, "a value in the counter")
			return n
		}
		c0 := count()
		// A pipe holds 64 KiB, about 300 of these lines a stream: an app blocked on it would stop far sooner.
		waitFor(t, 30*time.Second, func() bool { return count() >= c0+5000 }, fmt.Sprintf("the counter past %d (at %d)", c0+5000, count()))
		t.Logf("disk full at line %d; %d more lines %v later", c0, count()-c0, time.Since(full))
		if p := one(t, home, "writer"); !isOnline(p) || p.Restarts != 0 {
			t.Errorf("the writer is %s with %d restarts, want online and never restarted", p.Status, p.Restarts)
		}
		r := reports()
		t.Logf("gpm.log:\n%s", strings.Join(r, "\n"))
		if len(r) != 2 {
			t.Errorf("the loss reported %d times in gpm.log, want once per stream (2)", len(r))
		}
		for _, l := range r {
			if !strings.Contains(l, "no space left on device") {
				t.Errorf("the report does not name the cause: %q", l)
			}
		}
		// The writer writes its counter into a t.TempDir made after the home: its removal runs before the home's
		// cleanup, and would find the counter written again by a writer still running.
		mustRun(t, home, "delete", "writer")
	})
}

// TestFaultCrashStormLsFast: 50 apps crash-looping at once (restarted at once, forever) while `gpm ls` is called
// 50 times: its p99 stays under a bound a loaded machine meets, and the storm is real (restarts counted). The same
// ls calls before the storm, and list calls on the socket (the daemon's own share, without the CLI's start-up)
// during it, are printed beside it.
func TestFaultCrashStormLsFast(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	const n = 50
	var apps []map[string]any
	for i := range n {
		apps = append(apps, map[string]any{
			"name": fmt.Sprintf("crash%02d", i), "script": fixture("crash.sh"), "args": []string{"3"},
			"interpreter": "sh", "min_uptime": 0, "restart_delay": 0, "out_file": "NULL", "error_file": "NULL",
		})
	}
	b, err := json.Marshal(map[string]any{"apps": apps})
	if err != nil {
		t.Fatal(err)
	}
	file := writeFile(t, home, "storm.json", string(b))
	restarts := func() int {
		sum := 0
		for _, p := range jlist(t, home) {
			sum += p.Restarts
		}
		return sum
	}
	var calm []time.Duration
	for range 10 {
		calm = append(calm, timedRun(t, home, "ls"))
	}
	mustRun(t, home, "start", file)
	waitFor(t, 20*time.Second, func() bool { return restarts() >= 2*n }, "the storm under way")
	c, err := client.Dial(context.Background(), home)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r0, t0 := restarts(), time.Now()
	var ds, calls []time.Duration
	for range 50 {
		ds = append(ds, timedRun(t, home, "ls"))
		t1 := time.Now()
		if _, err := c.List(context.Background()); err != nil {
			t.Fatalf("list: %v", err)
		}
		calls = append(calls, time.Since(t1))
	}
	elapsed := time.Since(t0)
	r1 := restarts()
	for _, p := range jlist(t, home) {
		if p.Status == api.StatusErrored || p.Status == api.StatusStopped {
			t.Errorf("%s is %s during the storm: %s", p.Name, p.Status, p.Reason)
		}
	}
	p99 := percentile(ds, 99)
	t.Logf("storm of %d crash-looping apps: %d restarts in %v (%.0f/s)", n, r1-r0, elapsed.Round(time.Millisecond),
		float64(r1-r0)/elapsed.Seconds())
	t.Logf("gpm ls before the storm: p50 %v, max %v; during it: p50 %v, p99 %v; list on the socket during it: p50 %v, p99 %v",
		percentile(calm, 50), slices.Max(calm), percentile(ds, 50), p99, percentile(calls, 50), percentile(calls, 99))
	if r1-r0 < n {
		t.Errorf("only %d restarts while ls ran: no storm", r1-r0)
	}
	// 2 s on a loaded machine, stretched as every wait here is (patient): with the suite's parallel tests beside
	// other work (load average 17 on 2 cores) a plain `gpm ls` took 1 s at the median before any storm.
	if bound := patient(2 * time.Second); p99 > bound {
		t.Errorf("gpm ls p99 %v during the storm, want under %v", p99, bound)
	}
	// The daemon's own share: a list on the socket waited behind the loop's queued cgroup events (p50 1.0-1.3 s in
	// cgroup mode, load average 20; 55-180 ms once requests had a channel of their own, service/daemon.go reqs).
	if bound := patient(250 * time.Millisecond); percentile(calls, 50) > bound {
		t.Errorf("list on the socket p50 %v during the storm, want under %v", percentile(calls, 50), bound)
	}
	t1 := time.Now()
	mustRun(t, home, "stop", "all")
	t.Logf("gpm stop all during the storm: %v", time.Since(t1))
}

// TestFaultForkLoopContained: an app that forks children in a loop and double-forks setsid daemons in a loop (each
// child ignores SIGINT, as background jobs of sh do) is contained by `stop`: once stop returns, nothing of it is
// left in /proc; in cgroup mode and in the fallback (GPM_CGROUP=off).
func TestFaultForkLoopContained(t *testing.T) {
	t.Parallel()
	for _, c := range containments {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			home := newHome(t)
			startIn(t, home, c.env, c.want)
			dir := t.TempDir()
			child, daemon := sleepMarker(), sleepMarker()
			script := writeFile(t, dir, "forker.sh", `#!/bin/sh
while :; do
	sleep `+child+` &
	( setsid sh -c 'exec sleep `+daemon+`' & )
	sleep 0.02
done
`)
			mustRun(t, home, "start", "sh", "--name", "forker", "-k", "500", "--", script)
			waitOnline(t, home, "forker")
			waitFor(t, 20*time.Second, func() bool {
				return len(cmdlineProcs("sleep "+child)) >= 20 && len(cmdlineProcs("sleep "+daemon)) >= 20
			}, "20 children and 20 daemons forked")
			t0 := time.Now()
			mustRun(t, home, "stop", "forker")
			took := time.Since(t0)
			left := append(cmdlineProcs("sleep "+child), cmdlineProcs("sleep "+daemon)...)
			left = append(left, cmdlineProcs(script)...)
			t.Logf("gpm stop of a fork loop (%s): %v", c.name, took)
			if len(left) > 0 {
				t.Errorf("gpm stop returned with %d processes of the app alive: %s", len(left), describePids(left))
			}
			if p := one(t, home, "forker"); p.Status != api.StatusStopped {
				t.Errorf("status %s after stop, want stopped", p.Status)
			}
			// Nothing comes back later either (a fork in flight when the stop ended).
			time.Sleep(200 * time.Millisecond)
			waitNone(t, "sleep "+child, "children after gpm stop")
			waitNone(t, "sleep "+daemon, "daemons after gpm stop")
		})
	}
}

// TestFaultSubscriberNeverReads: four raw control connections subscribe to events and logs and never read while
// an app writes 60 MB of lines: the daemon's RSS stays bounded and `gpm ls` answers meanwhile.
func TestFaultSubscriberNeverReads(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	const n = 1000 // lines of 60 KB
	script := writeFile(t, home, "wide.sh", fmt.Sprintf(`#!/bin/sh
read go < "$1"
line=$(printf '%%060000d' 0)
i=0
while [ $i -lt %d ]; do echo "$i $line"; i=$((i+1)); done
echo done
exec sleep 1000
`, n))
	fifo := filepath.Join(home, "go.fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	mustRun(t, home, "start", "sh", "--name", "wide", "--", script, fifo)
	waitOnline(t, home, "wide")
	before := daemonRSS(t, home)
	for i := range 4 {
		c := rawConn(t, home)
		c.SetDeadline(time.Now().Add(cmdTimeout))
		method := api.MethodSubscribe
		if i%2 == 1 {
			method = api.MethodLogs
		}
		fmt.Fprintf(c, `{"v":1,"id":1,"method":%q,"params":{"lines":0}}`+"\n", method)
		// The first answer only, then never read again.
		if line, err := bufio.NewReader(c).ReadBytes('\n'); err != nil || !strings.Contains(string(line), `"ok":true`) {
			t.Fatalf("%s: %q %v", method, line, err)
		}
	}
	if err := os.WriteFile(fifo, []byte("go\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var ds []time.Duration
	var peak int64
	deadline := time.Now().Add(patient(60 * time.Second))
	for {
		ds = append(ds, timedRun(t, home, "ls"))
		peak = max(peak, daemonRSS(t, home))
		b, _ := exec.Command("tail", "-c", "5", outLog(home, "wide")).Output()
		if string(b) == "done\n" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the app did not write its lines within %v", patient(60*time.Second))
		}
	}
	peak = max(peak, daemonRSS(t, home))
	t.Logf("daemon RSS %d MB before, peak %d MB while %d MB went to 4 subscribers that do not read; gpm ls ×%d p50 %v max %v",
		before>>20, peak>>20, n*60/1000, len(ds), percentile(ds, 50), slices.Max(ds))
	if peak-before > 64<<20 {
		t.Errorf("the daemon grew by %d MB for subscribers that do not read", (peak-before)>>20)
	}
	if m := slices.Max(ds); m > 5*time.Second {
		t.Errorf("gpm ls took %v while subscribers did not read", m)
	}
}
