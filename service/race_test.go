package service

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gpmd/gpm/api"
	"github.com/gpmd/gpm/config"
)

// pidLogApp is an app that appends the pid of each of its runs to pids, ignores SIGINT (its kill signal), so that
// each stop takes its whole kill_timeout, and runs until killed.
func pidLogApp(t *testing.T, name, pids string, killTimeout time.Duration) config.App {
	t.Helper()
	a := config.New()
	a.Name, a.Script = name, "/bin/sh"
	a.Args = []string{"-c", `echo $$ >> "$0"; trap '' INT; exec sleep 600`, pids}
	a.KillTimeout = config.Millis(killTimeout.Milliseconds())
	if err := a.Normalize("/"); err != nil {
		t.Fatal(err)
	}
	return a
}

// loggedPIDs reads the pids a pidLogApp wrote.
func loggedPIDs(t *testing.T, pids string) []int {
	t.Helper()
	b, err := os.ReadFile(pids)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []int
	for _, f := range strings.Fields(string(b)) {
		n, err := strconv.Atoi(f)
		if err != nil {
			t.Fatalf("%s: %q", pids, b)
		}
		out = append(out, n)
	}
	return out
}

// alive reports whether pid runs (a zombie does not: the daemon reaps its children).
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	if i := strings.LastIndexByte(string(b), ')'); i >= 0 && i+2 < len(b) {
		return b[i+2] != 'Z'
	}
	return syscall.Kill(pid, 0) == nil
}

// runsOf lists the live processes whose environment names d's home and process id (GPM_HOME, GPM_ID).
func runsOf(d *Daemon, id int) []int {
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || !alive(pid) {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/environ")
		if err != nil {
			continue
		}
		vars := strings.Split(string(b), "\x00")
		if slices.Contains(vars, "GPM_HOME="+d.opts.Home) && slices.Contains(vars, "GPM_ID="+strconv.Itoa(id)) {
			out = append(out, pid)
		}
	}
	return out
}

// waitUntil polls cond every 20 ms until it holds or timeout passes.
func waitUntil(timeout time.Duration, cond func() bool) bool {
	for deadline := time.Now().Add(timeout); ; time.Sleep(20 * time.Millisecond) {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

// statusOf returns the status of process id ("" when it is not in the table).
func statusOf(t *testing.T, ctx context.Context, c api.Caller, id int) string {
	t.Helper()
	var list []api.Process
	if err := c.Call(ctx, api.MethodList, nil, &list); err != nil {
		t.Fatalf("list: %v", err)
	}
	for _, p := range list {
		if p.ID == id {
			return p.Status
		}
	}
	return ""
}

// TestRestartDuringDelete: a restart that arrives while a delete of the same process is stopping it must not start
// the process again once it has left the table: the run it started was supervised by nothing, and ran until the
// daemon exited.
func TestRestartDuringDelete(t *testing.T) {
	d := runDaemon(t, Options{})
	c := d.Caller()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	pids := filepath.Join(t.TempDir(), "pids")
	var started []api.Process
	if err := c.Call(ctx, api.MethodStart, api.StartParams{Apps: []api.StartApp{{App: pidLogApp(t, "doomed", pids, 2*time.Second)}}}, &started); err != nil || len(started) != 1 {
		t.Fatalf("start: %v %+v", err, started)
	}
	id := started[0].ID
	if !waitUntil(30*time.Second, func() bool { return len(loggedPIDs(t, pids)) == 1 }) {
		t.Fatal("the app never wrote its pid")
	}
	target := []string{strconv.Itoa(id)}
	deleted := make(chan error, 1)
	go func() { deleted <- c.Call(ctx, api.MethodDelete, api.Targets{Targets: target}, nil) }()
	if !waitUntil(30*time.Second, func() bool { return statusOf(t, ctx, c, id) == api.StatusStopping }) {
		t.Fatal("the delete never began to stop the process")
	}
	// The restart waits for the stop under way, then would start the process; by then it was deleted.
	c.Call(ctx, api.MethodRestart, api.RestartParams{Targets: target}, nil)
	if err := <-deleted; err != nil {
		t.Fatalf("delete: %v", err)
	}
	if s := statusOf(t, ctx, c, id); s != "" {
		t.Fatalf("process %d is in the table (%s) after its delete", id, s)
	}
	if !waitUntil(10*time.Second, func() bool { return len(runsOf(d, id)) == 0 }) {
		t.Fatalf("processes of the deleted process %d still alive 10 s after delete and restart returned (pids %v): "+
			"a restart started it again once it had left the table", id, runsOf(d, id))
	}
}

// readyWorker is a socket app with wait_ready that says READY=1 only while the file flag exists, and runs until
// killed; it ignores SIGINT (its kill signal) if the file deaf exists when it starts.
func readyWorker(t *testing.T, name, flag string, deaf ...string) config.App {
	t.Helper()
	a := config.New()
	a.Name, a.Script = name, "/usr/bin/python3"
	if _, err := os.Stat(a.Script); err != nil {
		t.Skipf("no %s for the worker: %v", a.Script, err)
	}
	a.Args = []string{"-c", `import os, signal, socket, sys, time
if len(sys.argv) > 2 and os.path.exists(sys.argv[2]):
    signal.signal(signal.SIGINT, signal.SIG_IGN)
if os.path.exists(sys.argv[1]):
    socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).sendto(b"READY=1", os.environ["NOTIFY_SOCKET"])
time.sleep(600)`, flag}
	a.Args = append(a.Args, deaf...)
	a.Listen = []string{"tcp://127.0.0.1:0"}
	a.WaitReady = true
	a.ListenTimeout = config.Millis(60_000)
	a.KillTimeout = config.Millis(2_000)
	if err := a.Normalize("/"); err != nil {
		t.Fatal(err)
	}
	return a
}

// TestStopDuringReload: a stop or a delete of a process whose reload waits for its new worker to be ready ends both
// workers. The reload's end used to put the old worker back in place (as for a new worker that failed): a stopped
// process then showed online with the old worker, and a deleted one left it running outside the table.
func TestStopDuringReload(t *testing.T) {
	for _, method := range []string{api.MethodStop, api.MethodDelete} {
		t.Run(method, func(t *testing.T) {
			d := runDaemon(t, Options{})
			c := d.Caller()
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			flag := filepath.Join(t.TempDir(), "ready")
			if err := os.WriteFile(flag, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			var started []api.Process
			if err := c.Call(ctx, api.MethodStart, api.StartParams{Apps: []api.StartApp{{App: readyWorker(t, "web", flag)}}}, &started); err != nil || len(started) != 1 {
				t.Fatalf("start: %v %+v", err, started)
			}
			id, old := started[0].ID, started[0].PID
			// The new worker will not be ready: the reload waits for it (listen_timeout is long).
			os.Remove(flag)
			target := []string{strconv.Itoa(id)}
			reloaded := make(chan error, 1)
			go func() { reloaded <- c.Call(ctx, api.MethodReload, api.ReloadParams{Targets: target}, nil) }()
			if !waitUntil(30*time.Second, func() bool {
				var list []api.Process
				c.Call(ctx, api.MethodList, nil, &list)
				return len(list) == 1 && list[0].PID != 0 && list[0].PID != old && list[0].Status == api.StatusLaunching
			}) {
				t.Fatal("the reload never started a new worker")
			}
			var out []api.Process
			if err := c.Call(ctx, method, api.Targets{Targets: target}, &out); err != nil {
				t.Fatalf("%s: %v", method, err)
			}
			if err := <-reloaded; err == nil {
				t.Errorf("the reload succeeded, though its process was stopped before its new worker was ready")
			}
			if method == api.MethodStop {
				if len(out) != 1 || out[0].Status != api.StatusStopped || out[0].PID != 0 {
					t.Errorf("stop answered %+v; want process %d stopped", out, id)
				}
				if s := statusOf(t, ctx, c, id); s != api.StatusStopped {
					t.Errorf("process %d is %s after its stop; want stopped", id, s)
				}
			}
			if !waitUntil(10*time.Second, func() bool { return len(runsOf(d, id)) == 0 }) {
				t.Fatalf("after %s during a reload, processes of %d still run (pids %v; the old worker was %d)",
					method, id, runsOf(d, id), old)
			}
		})
	}
}

// TestReloadOldWorkerDied: when the worker a reload replaces dies while its successor starts, and the successor
// then fails (not ready within listen_timeout), there is no worker to put back. The process used to show online
// with the dead worker's pid, for ever: nothing would reap that pid again, and a stop signalled whatever process
// got the pid next.
func TestReloadOldWorkerDied(t *testing.T) {
	d := runDaemon(t, Options{})
	c := d.Caller()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	flag := filepath.Join(t.TempDir(), "ready")
	if err := os.WriteFile(flag, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	app := readyWorker(t, "web", flag)
	app.ListenTimeout = config.Millis(3_000)
	var started []api.Process
	if err := c.Call(ctx, api.MethodStart, api.StartParams{Apps: []api.StartApp{{App: app}}}, &started); err != nil || len(started) != 1 {
		t.Fatalf("start: %v %+v", err, started)
	}
	id, old := started[0].ID, started[0].PID
	os.Remove(flag) // the new worker will not be ready
	reloaded := make(chan error, 1)
	go func() {
		reloaded <- c.Call(ctx, api.MethodReload, api.ReloadParams{Targets: []string{strconv.Itoa(id)}}, nil)
	}()
	if !waitUntil(30*time.Second, func() bool {
		var list []api.Process
		c.Call(ctx, api.MethodList, nil, &list)
		return len(list) == 1 && list[0].PID != 0 && list[0].PID != old
	}) {
		t.Fatal("the reload never started a new worker")
	}
	if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := <-reloaded; err == nil {
		t.Fatal("the reload succeeded, though its new worker never said READY=1")
	}
	var list []api.Process
	if err := c.Call(ctx, api.MethodList, nil, &list); err != nil || len(list) != 1 {
		t.Fatalf("list: %v %+v", err, list)
	}
	if p := list[0]; p.PID == old || p.Status == api.StatusOnline && !alive(p.PID) {
		t.Fatalf("after a failed reload whose old worker (pid %d) had died, the process is %s with pid %d (alive: %v)",
			old, p.Status, p.PID, alive(p.PID))
	}
}

// TestReloadBadAppChangesNothing: a reload with a process file whose app cannot run (its script is missing) is
// refused before anything changes, as a start is: it used to stop the running app and leave it errored.
func TestReloadBadAppChangesNothing(t *testing.T) {
	d := runDaemon(t, Options{})
	c := d.Caller()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	app := pidLogApp(t, "steady", filepath.Join(t.TempDir(), "pids"), 2*time.Second)
	var started []api.Process
	if err := c.Call(ctx, api.MethodStart, api.StartParams{Apps: []api.StartApp{{App: app}}}, &started); err != nil || len(started) != 1 {
		t.Fatalf("start: %v %+v", err, started)
	}
	bad := app.Clone()
	bad.Script = filepath.Join(t.TempDir(), "missing")
	bad.Args = nil
	var bae *api.Error
	err := c.Call(ctx, api.MethodReload, api.ReloadParams{Apps: []config.App{bad}}, nil)
	if !errors.As(err, &bae) || bae.Code != api.CodeInvalid || !strings.Contains(bae.Message, "missing") {
		t.Errorf("reload with a missing script: %v; want an invalid-request error naming it", err)
	}
	var list []api.Process
	if err := c.Call(ctx, api.MethodList, nil, &list); err != nil || len(list) != 1 {
		t.Fatalf("list: %v %+v", err, list)
	}
	if p := list[0]; p.Status != api.StatusOnline || p.PID != started[0].PID || p.Config.Script != app.Script {
		t.Fatalf("after a refused reload the app is %s, pid %d (was %d), script %s; want it untouched", p.Status, p.PID,
			started[0].PID, p.Config.Script)
	}
}

// TestExitWaitsForDrain: a daemon that stops waits for the old workers of reloads still draining, as for every
// process: each gets the rest of its kill_timeout, then SIGKILL. Run used to return while they ran, unsupervised
// (the next daemon's sweep found them, or nothing did).
func TestExitWaitsForDrain(t *testing.T) {
	home := t.TempDir()
	d := New(Options{Home: home, Socket: filepath.Join(home, api.SocketName)})
	runCtx, stop := context.WithCancel(context.Background())
	defer stop()
	ran := make(chan error, 1)
	go func() { ran <- d.Run(runCtx) }()
	c := d.Caller()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if !waitUntil(30*time.Second, func() bool { return c.Call(ctx, api.MethodPing, nil, nil) == nil }) {
		t.Fatal("the daemon never answered")
	}
	dir := t.TempDir()
	flag, deaf := filepath.Join(dir, "ready"), filepath.Join(dir, "deaf")
	for _, f := range []string{flag, deaf} {
		if err := os.WriteFile(f, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	app := readyWorker(t, "web", flag, deaf)
	app.KillTimeout = config.Millis(15_000) // longer than Run's wait for the apps' output (maxOutputDrain)
	var started []api.Process
	if err := c.Call(ctx, api.MethodStart, api.StartParams{Apps: []api.StartApp{{App: app}}}, &started); err != nil || len(started) != 1 {
		t.Fatalf("start: %v %+v", err, started)
	}
	old := started[0].PID
	os.Remove(deaf) // the new worker stops at once; the old one drains for its whole kill_timeout
	if err := c.Call(ctx, api.MethodReload, api.ReloadParams{Targets: []string{"web"}}, nil); err != nil {
		t.Fatalf("reload: %v", err)
	}
	stop()
	select {
	case err := <-ran:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("Run did not return within 60 s")
	}
	if alive(old) {
		syscall.Kill(old, syscall.SIGKILL)
		t.Fatalf("the old worker of a reload (pid %d), still draining when the daemon stopped, outlived Run", old)
	}
}

// TestReloadFailedKeepsWatchdog: the worker a failed reload puts back is watched again. Its watchdog belonged to
// the run the reload began to replace; restored without it, a worker that hung during the reload was never
// restarted.
func TestReloadFailedKeepsWatchdog(t *testing.T) {
	d := runDaemon(t, Options{})
	c := d.Caller()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	dir := t.TempDir()
	ready, ping := filepath.Join(dir, "ready"), filepath.Join(dir, "ping")
	for _, f := range []string{ready, ping} {
		if err := os.WriteFile(f, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	app := readyWorker(t, "web", ready)
	// It says READY=1 while ready exists, and WATCHDOG=1 every 200 ms while ping exists.
	app.Args = []string{"-c", `import os, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
if os.path.exists(sys.argv[1]):
    s.sendto(b"READY=1", os.environ["NOTIFY_SOCKET"])
while True:
    if os.path.exists(sys.argv[2]):
        s.sendto(b"WATCHDOG=1", os.environ["NOTIFY_SOCKET"])
    time.sleep(0.2)`, ready, ping}
	app.Watchdog = config.Millis(3_000)
	app.ListenTimeout = config.Millis(1_500)
	var started []api.Process
	if err := c.Call(ctx, api.MethodStart, api.StartParams{Apps: []api.StartApp{{App: app}}}, &started); err != nil || len(started) != 1 {
		t.Fatalf("start: %v %+v", err, started)
	}
	old := started[0].PID
	// The worker hangs (no more WATCHDOG=1), and the reload's new worker is never ready.
	os.Remove(ping)
	os.Remove(ready)
	if err := c.Call(ctx, api.MethodReload, api.ReloadParams{Targets: []string{"web"}}, nil); err == nil {
		t.Fatal("the reload succeeded, though its new worker never said READY=1")
	}
	if !waitUntil(30*time.Second, func() bool {
		var list []api.Process
		c.Call(ctx, api.MethodList, nil, &list)
		return len(list) == 1 && list[0].PID != old
	}) {
		t.Fatalf("the hung worker (pid %d) put back by a failed reload was not restarted by its watchdog (3 s) within 30 s", old)
	}
}

// TestSignalAfterLeaderReaped: a signal asked for a process whose leader has exited while its stop waits for the
// rest of its tree is not sent to the leader's pid: the daemon reaped it, and the pid may be another process's by
// now (a root daemon would signal it).
func TestSignalAfterLeaderReaped(t *testing.T) {
	d := runDaemon(t, Options{})
	c := d.Caller()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	a := config.New()
	// The leader ends on SIGINT (its kill signal); its child ignores it and lives until the SIGKILL.
	a.Name, a.Script = "lingers", "/bin/sh"
	a.Args = []string{"-c", `(trap '' INT; exec sleep 600) & wait`}
	a.KillTimeout = config.Millis(8000)
	if err := a.Normalize("/"); err != nil {
		t.Fatal(err)
	}
	var started []api.Process
	if err := c.Call(ctx, api.MethodStart, api.StartParams{Apps: []api.StartApp{{App: a}}}, &started); err != nil || len(started) != 1 {
		t.Fatalf("start: %v %+v", err, started)
	}
	id, leader := started[0].ID, started[0].PID
	if !waitUntil(30*time.Second, func() bool { return len(runsOf(d, id)) == 2 }) {
		t.Fatalf("the app's child never started: runs %v", runsOf(d, id))
	}
	target := []string{strconv.Itoa(id)}
	stopped := make(chan error, 1)
	go func() { stopped <- c.Call(ctx, api.MethodStop, api.Targets{Targets: target}, nil) }()
	if !waitUntil(30*time.Second, func() bool { return !alive(leader) && statusOf(t, ctx, c, id) == api.StatusStopping }) {
		t.Fatal("the leader never exited while its stop went on")
	}
	err := c.Call(ctx, api.MethodSignal, api.SignalParams{Signal: "SIGUSR1", Targets: target}, nil)
	if err == nil || strings.Contains(err.Error(), "no such process") {
		t.Errorf("signal with the leader reaped: %v, want it refused as not running (not sent to pid %d)", err, leader)
	}
	c.Call(ctx, api.MethodDelete, api.Targets{Targets: target}, nil)
	<-stopped
}

// TestAppsGetDefaultSIGPIPE: the daemon survives writes to closed pipes without passing that on: an app starts
// with SIGPIPE at its default action, as under a shell or PM2 (an ignored signal stays ignored across exec).
func TestAppsGetDefaultSIGPIPE(t *testing.T) {
	d := runDaemon(t, Options{})
	c := d.Caller()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out := filepath.Join(t.TempDir(), "sigign")
	a := config.New()
	a.Name, a.Script, a.Autorestart = "sigpipe", "/bin/sh", false
	a.Args = []string{"-c", `grep SigIgn /proc/self/status > "$0"`, out}
	if err := a.Normalize("/"); err != nil {
		t.Fatal(err)
	}
	if err := c.Call(ctx, api.MethodStart, api.StartParams{Apps: []api.StartApp{{App: a}}}, nil); err != nil {
		t.Fatalf("start: %v", err)
	}
	defer c.Call(ctx, api.MethodDelete, api.Targets{Targets: []string{"sigpipe"}}, nil)
	var line string
	if !waitUntil(30*time.Second, func() bool {
		b, _ := os.ReadFile(out)
		line = string(b)
		return strings.HasSuffix(line, "\n")
	}) {
		t.Fatal("the app never wrote its SigIgn")
	}
	mask, err := strconv.ParseUint(strings.TrimSpace(strings.TrimPrefix(line, "SigIgn:")), 16, 64)
	if err != nil {
		t.Fatalf("SigIgn line %q: %v", line, err)
	}
	if mask&(1<<(syscall.SIGPIPE-1)) != 0 {
		t.Errorf("the app starts with SIGPIPE ignored (SigIgn %016x)", mask)
	}
}
