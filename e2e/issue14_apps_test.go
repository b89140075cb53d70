//go:build linux

package e2e

// Issue 14, what apps see (items 10 to 14): PM2's variables in the environment, partial lines in the logs, pid
// files and ids, restart counts, how a script is run.

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gpmd/gpm/api"
)

// TestPM2Env_Issue14Item10: an app finds PM2's variables (pm_id, name, ... unique_id) beside GPM_*; unique_id is
// kept across a restart, restart_time follows the count.
func TestPM2Env_Issue14Item10(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	mustRun(t, home, "start", fixture("echo.sh"), "--name", "envy", "-i", "2", "--namespace", "ns1")
	ps := waitInstances(t, home, "envy", 2)
	p := ps[1]
	env := envOf(t, home, p.ID)
	want := map[string]string{
		"pm_id": strconv.Itoa(p.ID), "name": "envy", "namespace": "ns1", "restart_time": "0", "instances": "2",
		"exec_mode": "fork_mode", "pm_exec_path": fixture("echo.sh"), "pm_cwd": home,
		"pm_out_log_path": filepath.Join(home, api.LogsDir, "envy-out-"+strconv.Itoa(p.ID)+".log"),
		"pm_err_log_path": filepath.Join(home, api.LogsDir, "envy-error-"+strconv.Itoa(p.ID)+".log"),
		"GPM_ID":          strconv.Itoa(p.ID),
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("%s=%q, want %q", k, env[k], v)
		}
	}
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	if !uuid.MatchString(env["unique_id"]) {
		t.Errorf("unique_id=%q, want a UUID", env["unique_id"])
	}
	if other := envOf(t, home, ps[0].ID)["unique_id"]; other == env["unique_id"] {
		t.Errorf("both instances have unique_id %s", other)
	}
	mustRun(t, home, "restart", strconv.Itoa(p.ID))
	waitFor(t, 10*time.Second, func() bool { return envOf(t, home, p.ID)["restart_time"] == "1" }, "restart_time=1 after a restart")
	if got := envOf(t, home, p.ID)["unique_id"]; got != env["unique_id"] {
		t.Errorf("unique_id changed across a restart: %s -> %s", env["unique_id"], got)
	}
}

// TestPidFileSuffix_Issue14Item12: -p echo.pid -i 2 writes echo-0.pid and echo-1.pid (both instances wrote
// echo.pid).
func TestPidFileSuffix_Issue14Item12(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	dir := t.TempDir()
	mustRun(t, home, "start", fixture("echo.sh"), "--name", "pf", "-i", "2", "-p", filepath.Join(dir, "echo.pid"))
	ps := waitInstances(t, home, "pf", 2)
	for _, p := range ps {
		f := filepath.Join(dir, "echo-"+strconv.Itoa(p.ID)+".pid")
		waitFor(t, 10*time.Second, func() bool {
			return readFile(t, f) == strconv.Itoa(p.PID)+"\n" || readFile(t, f) == strconv.Itoa(p.PID)
		},
			f+" holding pid "+strconv.Itoa(p.PID))
	}
	if _, err := os.Stat(filepath.Join(dir, "echo.pid")); err == nil {
		t.Errorf("echo.pid written for an app with 2 instances")
	}
}

// TestIDsRestartAtZero_Issue14Item12: ids start again at 0 once the list is empty, so `delete all; start ...;
// restart 0` works, as with PM2.
func TestIDsRestartAtZero_Issue14Item12(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	mustRun(t, home, "start", fixture("echo.sh"), "--name", "first", "-i", "2")
	mustRun(t, home, "delete", "all")
	out := mustRun(t, home, "start", fixture("echo.sh"), "--name", "again")
	if p := one(t, home, "again"); p.ID != 0 {
		t.Fatalf("after delete all, the next app got id %d, want 0\n%s", p.ID, out)
	}
	mustRun(t, home, "restart", "0")
}

// TestPartialLineFlushed_Issue14Item11: output without a newline (a progress line of dots) reaches the log while
// the app runs (it waited for a newline, 64 KiB or exit), with the date prefix once; a line written in two pieces
// stays one line.
func TestPartialLineFlushed_Issue14Item11(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	script := writeFile(t, t.TempDir(), "dots.sh", `printf 'half'; sleep 0.01; echo ' line'
printf 'progress '
while :; do printf .; sleep 0.05; done
`)
	mustRun(t, home, "start", script, "--interpreter", "sh", "--name", "dots", "--log-date-format", "YYYY")
	year := time.Now().Format("2006")
	var log string
	deadline := time.Now().Add(patient(10 * time.Second))
	for log = readFile(t, outLog(home, "dots")); !strings.Contains(log, "progress "+strings.Repeat(".", 15)); log = readFile(t, outLog(home, "dots")) {
		if time.Now().After(deadline) {
			p := one(t, home, "dots")
			t.Fatalf("the dots did not reach the log (app %s pid %d ↺ %d); log:\n%q", p.Status, p.PID, p.Restarts, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
	ls := lines(log)
	if len(ls) != 2 || ls[0] != year+": half line" || !strings.HasPrefix(ls[1], year+": progress ...") ||
		strings.Count(ls[1], year) != 1 {
		t.Errorf("log:\n%s\nwant %q and one %q line of dots, prefixed once", log, year+": half line", year+": progress ")
	}
}

// TestExtensionlessNodeScript_Issue14Item14: a file without extension and without exec bits runs with node when
// node is installed (PM2's binary.sh); it was refused as not executable.
func TestExtensionlessNodeScript_Issue14Item14(t *testing.T) {
	node := nodeOrSkip(t)
	t.Parallel()
	home := newHome(t)
	dir := t.TempDir()
	writeFile(t, dir, "nodeapp", "console.log('from node'); setInterval(() => {}, 1000);\n")
	mustRunWith(t, home, opts{dir: dir}, "start", "nodeapp")
	waitFileContains(t, outLog(home, "nodeapp"), "from node")
	if p := one(t, home, "nodeapp"); filepath.Base(p.Config.Interpreter) != filepath.Base(node) {
		t.Errorf("interpreter %q, want node", p.Config.Interpreter)
	}
}

// TestCommandRecordedByPath_Issue14Item14: `gpm start sleep` records the program's path, as PM2 does for `start
// ls`.
func TestCommandRecordedByPath_Issue14Item14(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	want, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep in PATH")
	}
	mustRun(t, home, "start", "sleep", "--", "1000")
	if p := waitOnline(t, home, "sleep"); p.Config.Script != want {
		t.Errorf("script %q, want %q", p.Config.Script, want)
	}
}

// TestFileWithInvalidApp_Issue14Item14: a process file with one app whose script is missing starts the others and
// exits 1 naming the invalid one, as PM2 does (nothing started).
func TestFileWithInvalidApp_Issue14Item14(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	dir := t.TempDir()
	eco := writeEco(t, dir,
		map[string]any{"name": "good", "script": fixture("echo.sh")},
		map[string]any{"name": "broken", "script": "missing.sh"},
		map[string]any{"name": "good2", "script": fixture("echo.sh")})
	_, errOut, code := run(t, home, "start", eco)
	if code != 1 || !strings.Contains(errOut, `"broken"`) || !strings.Contains(errOut, "missing.sh") {
		t.Errorf("start: exit %d, stderr %q; want 1 naming broken and its script", code, errOut)
	}
	waitOnline(t, home, "good")
	waitOnline(t, home, "good2")
	if ps := procs(t, home, "broken"); len(ps) != 0 {
		t.Errorf("broken registered: %+v", ps)
	}
}

// TestRestartCounts_Issue14Item13: restarts counted as PM2 counts them: restarting or starting (by its process
// file) a stopped app is a start, not a restart; a crash waiting out its restart_delay shows the restarts done so
// far, and one more once it restarted. Restarting an online app counts one.
func TestRestartCounts_Issue14Item13(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	dir := t.TempDir()
	eco := writeEco(t, dir, map[string]any{"name": "cnt", "script": fixture("echo.sh")})
	mustRun(t, home, "start", eco)
	waitOnline(t, home, "cnt")
	mustRun(t, home, "restart", "cnt")
	if p := waitOnline(t, home, "cnt"); p.Restarts != 1 {
		t.Errorf("restart of an online app: ↺ %d, want 1", p.Restarts)
	}
	mustRun(t, home, "stop", "cnt")
	mustRun(t, home, "restart", "cnt")
	if p := waitOnline(t, home, "cnt"); p.Restarts != 1 {
		t.Errorf("restart of a stopped app: ↺ %d, want 1 (a start)", p.Restarts)
	}
	mustRun(t, home, "stop", "cnt")
	mustRun(t, home, "start", eco)
	if p := waitOnline(t, home, "cnt"); p.Restarts != 1 {
		t.Errorf("start of a stopped app by its file: ↺ %d, want 1 (a start)", p.Restarts)
	}

	crash := writeFile(t, dir, "crash.sh", "echo up; sleep 0.3; exit 3\n")
	mustRun(t, home, "start", crash, "--interpreter", "sh", "--name", "late", "--restart-delay", "1500")
	p := waitProc(t, home, "late", 10*time.Second, "late waiting for its restart", func(p api.Process) bool {
		return p.Status == api.StatusWaiting
	})
	if p.Restarts != 0 {
		t.Errorf("waiting after the first crash: ↺ %d, want 0 (PM2 counts the restart when it happens)", p.Restarts)
	}
	waitProc(t, home, "late", 10*time.Second, "late restarted once", func(p api.Process) bool { return p.Restarts >= 1 })
}
