//go:build linux

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gpmd/gpm/api"
)

// Issue 14, "Commands and flags": a PM2 user's commands work unchanged. The fixtures are gpm's own sh scripts,
// equivalent to PM2's echo.js (a long-running app) and its stdin reader, written by the tests.

// appDir returns a directory for a test's scripts and relative paths, apart from GPM_HOME (whose logs would
// trigger a watch of ".").
func appDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, dir, "echo.sh", "#!/bin/sh\necho ready\nexec sleep 1000\n")
	return dir
}

// TestRestartOptions_Issue14Item1: options given to restart, reload or start of an existing app are applied to
// its configuration (or refused with an error), never ignored; without --update-env the app keeps its environment.
func TestRestartOptions_Issue14Item1(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	dir := appDir(t)
	os.Mkdir(filepath.Join(dir, "src"), 0o755)
	o := opts{dir: dir, env: []string{"ISSUE14=before"}}
	mustRunWith(t, home, o, "start", "echo.sh")
	waitOnline(t, home, "echo")

	o.env = []string{"ISSUE14=after"}
	mustRunWith(t, home, o, "restart", "echo", "--max-memory-restart", "300M", "--kill-timeout", "5000",
		"--restart-delay", "3000", "--cron-restart", "0 3 * * *", "--interpreter-args=--norc")
	p := waitOnline(t, home, "echo")
	c := p.Config
	if c.MaxMemoryRestart != 300<<20 || c.KillTimeout != 5000 || c.RestartDelay != 3000 || c.CronRestart != "0 3 * * *" ||
		!slices.Equal(c.InterpreterArgs, []string{"--norc"}) {
		t.Errorf("restart options not applied: %+v", c)
	}
	if p.Restarts != 1 {
		t.Errorf("restarts = %d, want 1", p.Restarts)
	}
	mustRunWith(t, home, o, "restart", "echo", "--watch=src")
	if p = waitOnline(t, home, "echo"); !slices.Equal(p.Config.Watch, []string{"src"}) {
		t.Errorf("restart --watch=src: watch %v", p.Config.Watch)
	}
	if v := envOf(t, home, p.ID)["ISSUE14"]; v != "before" {
		t.Errorf("restart with options but without --update-env: ISSUE14=%q, want the old environment's \"before\"", v)
	}

	mustRunWith(t, home, o, "restart", "echo", "--cron-restart", "0", "--watch=false", "--update-env")
	p = waitOnline(t, home, "echo")
	if p.Config.CronRestart != "" || len(p.Config.Watch) != 0 {
		t.Errorf("--cron-restart 0 / --watch=false did not remove them: cron %q watch %v", p.Config.CronRestart, p.Config.Watch)
	}
	if v := envOf(t, home, p.ID)["ISSUE14"]; v != "after" {
		t.Errorf("restart --update-env: ISSUE14=%q, want \"after\"", v)
	}

	mustRunWith(t, home, o, "reload", "echo", "--kill-timeout", "4000")
	if p = waitOnline(t, home, "echo"); p.Config.KillTimeout != 4000 {
		t.Errorf("reload --kill-timeout 4000: kill_timeout %d", p.Config.KillTimeout)
	}
	mustRunWith(t, home, o, "start", "echo", "--interpreter", "sh", "--interpreter-args=")
	if p = waitOnline(t, home, "echo"); p.Config.Interpreter != "sh" {
		t.Errorf("start of an existing app with --interpreter sh: interpreter %q", p.Config.Interpreter)
	}

	// Refused, with a reason, and nothing changed.
	for _, args := range [][]string{
		{"restart", "echo", "--name", "renamed"},
		{"stop", "echo", "--max-memory-restart", "1G"},
		{"restart", "echo", "--cron-restart", "not a cron"},
	} {
		_, stderr, code := runWith(t, home, o, args...)
		if code != 1 || stderr == "" {
			t.Errorf("gpm %s: exit %d, stderr %q; want a refusal", strings.Join(args, " "), code, stderr)
		}
	}
	if p := one(t, home, "echo"); p.Status != api.StatusOnline || p.Config.MaxMemoryRestart != 300<<20 {
		t.Errorf("a refused command changed the app: %s, max_memory_restart %d", p.Status, p.Config.MaxMemoryRestart)
	}
}

// TestOptionalValueFlags_Issue14Item2: -l FILE, --log FILE and --watch PATHS take the next word as PM2 does, and
// restart APP --watch turns watching on.
func TestOptionalValueFlags_Issue14Item2(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	dir := appDir(t)
	for _, d := range []string{"src", "lib"} {
		os.Mkdir(filepath.Join(dir, d), 0o755)
	}
	o := opts{dir: dir}
	mustRunWith(t, home, o, "start", "echo.sh", "-l", "comb.log")
	mustRunWith(t, home, o, "start", "echo.sh", "--name", "b", "--log", "b.log", "--watch", "src,lib")
	mustRunWith(t, home, o, "start", "echo.sh", "--name", "c", "--watch", "src")
	mustRunWith(t, home, o, "start", "echo.sh", "--name", "d", "--watch=src,lib")
	mustRunWith(t, home, o, "start", "--watch", "echo.sh", "--name", "e") // a script after --watch is the script
	mustRunWith(t, home, o, "start", "echo.sh", "--name", "f")
	if got := names(jlist(t, home)); !slices.Equal(got, []string{"b", "c", "d", "e", "echo", "f"}) {
		t.Fatalf("apps = %v, want echo b c d e f (a flag's value started as an app?)", got)
	}
	waitFileContains(t, filepath.Join(dir, "comb.log"), "ready")
	waitFileContains(t, filepath.Join(dir, "b.log"), "ready")
	for name, want := range map[string][]string{"b": {"src", "lib"}, "c": {"src"}, "d": {"src", "lib"}, "e": {"."}} {
		if got := one(t, home, name).Config.Watch; !slices.Equal(got, want) {
			t.Errorf("%s: watch %v, want %v", name, got, want)
		}
	}
	mustRunWith(t, home, o, "restart", "f", "--watch")
	if got := waitOnline(t, home, "f").Config.Watch; !slices.Equal(got, []string{"."}) {
		t.Errorf("restart f --watch: watch %v, want [.]", got)
	}
	mustRunWith(t, home, o, "restart", "--watch", "c") // a name after --watch is the target
	if got := one(t, home, "c").Config.Watch; !slices.Equal(got, []string{"."}) {
		t.Errorf("restart --watch c: watch %v, want [.]", got)
	}
}

// TestShellCommand_Issue14Item3: a command line with shell syntax that is not a file runs with bash -c, from the
// CLI and from a process file; a plain path, a plain command and the arguments after -- never go through a shell.
func TestShellCommand_Issue14Item3(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	dir := appDir(t)
	o := opts{dir: dir}
	mustRunWith(t, home, o, "start", "echo home=$HOME && echo one; echo two; sleep 1000", "--name", "sh1")
	out := waitFileContains(t, outLog(home, "sh1"), "two")
	if !strings.Contains(out, "home="+os.Getenv("HOME")) || strings.Contains(out, "$HOME") || !strings.Contains(out, "one") {
		t.Errorf("the command line did not run in a shell: log %q", out)
	}

	if _, err := exec.LookPath("node"); err == nil {
		writeFile(t, dir, "eco.json", `{"apps":[{"name":"nd","script":"node -e 'console.log(\"from node\"); setInterval(()=>{}, 1000)'"}]}`)
		mustRunWith(t, home, o, "start", "eco.json")
		waitFileContains(t, outLog(home, "nd"), "from node")
	}

	// A plain path whose name has shell characters is that file; the arguments after -- reach it verbatim.
	writeFile(t, dir, "a;b.sh", "#!/bin/sh\nfor a in \"$@\"; do echo \"arg=$a\"; done\nexec sleep 1000\n")
	mustRunWith(t, home, o, "start", "a;b.sh", "--name", "plain", "--", "$HOME", "x;y")
	out = waitFileContains(t, outLog(home, "plain"), "arg=x;y")
	if !strings.Contains(out, "arg=$HOME") {
		t.Errorf("arguments after -- went through a shell: %q", out)
	}
	if p := one(t, home, "plain"); p.Config.Script != filepath.Join(dir, "a;b.sh") {
		t.Errorf("plain path: script %q", p.Config.Script)
	}
	// A command without shell syntax is split, not given to a shell.
	mustRunWith(t, home, o, "start", "sleep 1000", "--name", "sl")
	if p := waitOnline(t, home, "sl"); p.Config.Script != "sleep" || !slices.Equal(p.Config.Args, []string{"1000"}) {
		t.Errorf("plain command: script %q args %v, want sleep [1000]", p.Config.Script, p.Config.Args)
	}
}

// TestTargets_Issue14Item4: a script's file name and /regex/ select apps, beside ids, names, namespaces and all;
// an all-digit name is refused (issue 11), so an id never hides a name.
func TestTargets_Issue14Item4(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	dir := appDir(t)
	writeFile(t, dir, "other.sh", "#!/bin/sh\nexec sleep 1000\n")
	o := opts{dir: dir}
	for _, n := range []string{"echo-1", "echo-2", "echo-3"} {
		mustRunWith(t, home, o, "start", "echo.sh", "--name", n)
	}
	mustRunWith(t, home, o, "start", "other.sh")
	for _, n := range []string{"echo-1", "echo-2", "echo-3", "other"} {
		waitOnline(t, home, n)
	}
	mustRunWith(t, home, o, "stop", "/echo-[1,2]/")
	for n, want := range map[string]string{"echo-1": api.StatusStopped, "echo-2": api.StatusStopped, "echo-3": api.StatusOnline} {
		if got := one(t, home, n).Status; got != want {
			t.Errorf("after stop /echo-[1,2]/: %s is %s, want %s", n, got, want)
		}
	}
	mustRunWith(t, home, o, "restart", "other.sh")
	if p := waitOnline(t, home, "other"); p.Restarts != 1 {
		t.Errorf("restart other.sh: restarts %d, want 1", p.Restarts)
	}
	mustRunWith(t, home, o, "delete", "./other.sh")
	if got := names(jlist(t, home)); slices.Contains(got, "other") {
		t.Errorf("delete ./other.sh left it: %v", got)
	}
	for _, bad := range []string{"/[/", "nosuch.sh"} {
		if _, stderr, code := runWith(t, home, o, "stop", bad); code != 1 || stderr == "" {
			t.Errorf("stop %s: exit %d %q, want a one-line error", bad, code, stderr)
		}
	}
	if _, stderr, code := runWith(t, home, o, "start", "echo.sh", "--name", "455"); code != 1 || !strings.Contains(stderr, "digits") {
		t.Errorf("an all-digit name: exit %d %q, want it refused", code, stderr)
	}
}

// TestForceCopies_Issue14Item5: start -f of a running script adds a copy (PM2: twice gives 3 processes); without
// -f it is refused.
func TestForceCopies_Issue14Item5(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	o := opts{dir: appDir(t)}
	mustRunWith(t, home, o, "start", "echo.sh")
	mustRunWith(t, home, o, "start", "echo.sh", "-f")
	mustRunWith(t, home, o, "start", "echo.sh", "--force")
	ps := procs(t, home, "echo")
	if len(ps) != 3 {
		t.Fatalf("start echo.sh, then twice with -f: %d processes, want 3", len(ps))
	}
	for _, p := range ps {
		if p.Restarts != 0 {
			t.Errorf("id %d restarted (%d): -f must add, not restart", p.ID, p.Restarts)
		}
	}
	if _, _, code := runWith(t, home, o, "start", "echo.sh"); code != 1 {
		t.Errorf("start echo.sh again without -f: exit %d, want 1", code)
	}
	if _, _, code := runWith(t, home, o, "start", "echo.sh", "-f", "--kill-timeout", "1"); code != 1 {
		t.Errorf("start -f with an option that changes the app: exit %d, want 1", code)
	}
}

// TestPM2Flags_Issue14Item6: the flags PM2 users pass are accepted, with their meaning or as no-ops with one
// notice; bare gpm exits 1 with the usage.
func TestPM2Flags_Issue14Item6(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	dir := appDir(t)
	o := opts{dir: dir, env: []string{"SECRET_TOKEN=x", "KEEP=y"}}

	stdout, stderr, code := runWith(t, home, o, "start", "echo.sh", "--cron", "0 3 * * *", "-s", "--no-color",
		"--no-pmx", "--no-automation", "--no-vizion", "--source-map-support", "--disable-source-map-support",
		"--trace", "--disable-trace", "--deep-monitoring", "-w", "--no-treekill", "--shutdown-with-message",
		"--ext", "js", "--filter-env", "SECRET")
	if code != 0 {
		t.Fatalf("start with PM2's flags: exit %d: %s", code, stderr)
	}
	if stdout != "" {
		t.Errorf("-s: stdout %q, want nothing", stdout)
	}
	if n := strings.Count(stderr, "--no-pmx"); n != 1 || !strings.Contains(stderr, "--deep-monitoring") {
		t.Errorf("want one notice naming the Node-only options, got %q", stderr)
	}
	if !strings.Contains(stderr, "--ext") {
		t.Errorf("no notice for --ext: %q", stderr)
	}
	p := waitOnline(t, home, "echo")
	// --no-treekill and --shutdown-with-message are the process-file keys treekill: false and
	// shutdown_with_message (issue 14 item 15).
	if !p.Config.NoTreekill || !p.Config.ShutdownWithMessage {
		t.Errorf("--no-treekill --shutdown-with-message: no_treekill %v, shutdown_with_message %v; want both set",
			p.Config.NoTreekill, p.Config.ShutdownWithMessage)
	}
	if p.Config.CronRestart != "0 3 * * *" {
		t.Errorf("--cron: cron_restart %q", p.Config.CronRestart)
	}
	env := envOf(t, home, p.ID)
	if _, ok := env["SECRET_TOKEN"]; ok || env["KEEP"] != "y" {
		t.Errorf("--filter-env SECRET: SECRET_TOKEN present %v, KEEP %q", ok, env["KEEP"])
	}
	mustRunWith(t, home, o, "start", "--filter-env", "echo.sh", "--name", "aaa") // a script after a bare --filter-env is the script
	env = envOf(t, home, waitOnline(t, home, "aaa").ID)
	if _, ok := env["KEEP"]; ok || env["PATH"] == "" {
		t.Errorf("bare --filter-env: KEEP present %v, PATH %q; want no variable of the shell but PATH", ok, env["PATH"])
	}

	out := mustRun(t, home, "ls", "--sort", "name:desc")
	if i, j := strings.Index(out, "echo"), strings.Index(out, "aaa"); i < 0 || j < 0 || i > j {
		t.Errorf("ls --sort name:desc: echo should come before aaa:\n%s", out)
	}
	if out := mustRun(t, home, "ls", "-m"); !strings.Contains(out, "+--- aaa") || !strings.Contains(out, "+--- echo") {
		t.Errorf("ls -m:\n%s", out)
	}
	out = mustRun(t, home, "logs", "--nostream", "--raw", "--timestamp", "echo") // a name after a bare --timestamp is the target
	if !regexp.MustCompile(`(?m)^\d{4}-\d\d-\d\d-\d\d:\d\d:\d\d ready$`).MatchString(out) {
		t.Errorf("logs --raw --timestamp: %q", out)
	}
	out = mustRun(t, home, "logs", "echo", "--nostream", "--timestamp", "YYYY", "--lines", "5")
	if !regexp.MustCompile(`(?m)^\d{4} \d+\|echo \| ready$`).MatchString(out) {
		t.Errorf("logs --timestamp YYYY: %q", out)
	}
	if out, stderr, code := run(t, home, "pid", "nosuch"); code != 0 || out != "" {
		t.Errorf("pid nosuch: exit %d, stdout %q, stderr %q; want nothing and 0", code, out, stderr)
	}
	if out, stderr, code := run(t, home); code != 1 || out != "" || !strings.Contains(stderr, "Usage:") {
		t.Errorf("bare gpm: exit %d, stdout %q, stderr %q; want exit 1 with the usage", code, out, stderr)
	}

	t.Run("attach", func(t *testing.T) {
		_, out := startBackground(t, home, "start", filepath.Join(dir, "echo.sh"), "--name", "att", "--attach")
		waitFor(t, 10*time.Second, func() bool { return strings.Contains(out.String(), "att | ready") }, "start --attach to print the app's log")
	})
}

// TestNoDaemon_Issue14Item6: start --no-daemon runs a daemon of its own in the foreground with the app's logs;
// SIGTERM stops it all (newHome's cleanup checks that nothing of this home is left).
func TestNoDaemon_Issue14Item6(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	dir := appDir(t)
	cmd, out := startBackground(t, home, "start", filepath.Join(dir, "echo.sh"), "--no-daemon")
	waitFor(t, 10*time.Second, func() bool { return strings.Contains(out.String(), "echo | ready") }, "the app's log in the foreground")
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(patient(20 * time.Second)):
		t.Fatal("gpm start --no-daemon did not end on SIGTERM")
	}
	waitFor(t, 10*time.Second, func() bool { return len(daemonsOf(home)) == 0 }, "the foreground daemon to exit")
}

// TestStartupConfReportSend_Issue14Item7: startup's -u/--hp and the line printed for a user without root; conf,
// report; send and attach to an app started with --stdin.
func TestStartupConfReportSend_Issue14Item7(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	dir := appDir(t)
	o := opts{dir: dir}

	out := mustRun(t, home, "startup", "systemd", "-u", "nobody", "--hp", "/srv/nb", "--wait-ip", "--print")
	// GPM_HOME is set here (the test's home), so it wins over --hp's HOME/.gpm.
	for _, want := range []string{"User=nobody", "HOME=/srv/nb\n", "GPM_HOME=" + home, "After=network-online.target"} {
		if !strings.Contains(out, want) {
			t.Errorf("startup -u nobody --hp /srv/nb --wait-ip --print: no %q in\n%s", want, out)
		}
	}
	if os.Geteuid() == 0 {
		// The binary must be reachable by nobody.
		pub, err := os.MkdirTemp("", "gpm-e2e-pub-")
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(pub)
		os.Chmod(pub, 0o755)
		cmd := exec.Command("setpriv", "--reuid", "nobody", "--regid", "nogroup", "--clear-groups", installGPM(t, pub), "startup")
		cmd.Env = append(environWithout(api.HomeEnv, "HOME"), "HOME=/tmp/nb-home")
		b, err := cmd.Output()
		last := lines(string(b))
		if err != nil || len(last) == 0 {
			t.Fatalf("gpm startup as nobody: %v: %s", err, b)
		}
		want := "sudo env PATH=$PATH:" + pub + " " + filepath.Join(pub, "gpm") + " startup systemd -u nobody --hp /tmp/nb-home"
		if got := last[len(last)-1]; got != want {
			t.Errorf("gpm startup as nobody, last line:\n got %s\nwant %s", got, want)
		}
	}

	if out := mustRun(t, home, "conf"); !strings.Contains(out, "home: "+home) {
		t.Errorf("conf: %q", out)
	}
	if out := mustRun(t, home, "conf", "home"); strings.TrimSpace(out) != home {
		t.Errorf("conf home: %q", out)
	}

	writeFile(t, dir, "reader.sh", "#!/bin/sh\necho started\nwhile read l; do echo \"got $l\"; done\necho eof\nexec sleep 1000\n")
	mustRunWith(t, home, o, "start", "reader.sh", "--stdin")
	mustRunWith(t, home, o, "start", "echo.sh")
	waitFileContains(t, outLog(home, "reader"), "started")
	mustRun(t, home, "send", "reader", "hello", "world")
	waitFileContains(t, outLog(home, "reader"), "got hello world")
	if _, stderr, code := run(t, home, "send", "echo", "x"); code != 1 || !strings.Contains(stderr, "--stdin") {
		t.Errorf("send to an app without --stdin: exit %d %q", code, stderr)
	}
	// A restarted app gets a new pipe.
	mustRun(t, home, "restart", "reader")
	waitFor(t, 10*time.Second, func() bool { return strings.Count(readFile(t, outLog(home, "reader")), "started") == 2 }, "reader restarted")
	mustRun(t, home, "send", "reader", "again")
	waitFileContains(t, outLog(home, "reader"), "got again")

	// attach: what is typed goes to the app, its log comes back.
	cmd := gpmCmd(t.Context(), home, opts{}, "attach", "reader")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var aout syncBuffer
	cmd.Stdout = &aout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, func() bool {
		stdin.Write([]byte("typed\n"))
		return strings.Contains(aout.String(), "got typed")
	}, "attach to send a line and show the answer")
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Errorf("attach after end of input: %v", err)
	}

	// An app that never reads: the write gives up after sendTimeout, and the daemon answers meanwhile.
	writeFile(t, dir, "deaf.sh", "#!/bin/sh\nexec sleep 1000\n")
	mustRunWith(t, home, o, "start", "deaf.sh", "--stdin")
	waitOnline(t, home, "deaf")
	deaf := make(chan string, 1)
	go func() {
		_, stderr, _ := run(t, home, "send", "deaf", strings.Repeat("x", 100_000)) // more than a pipe holds
		deaf <- stderr
	}()
	mustRun(t, home, "ls")
	if stderr := <-deaf; !strings.Contains(stderr, "sendTimeout") {
		t.Errorf("send to an app that does not read: %q, want the sendTimeout error", stderr)
	}

	out = mustRun(t, home, "report")
	for _, want := range []string{"gpm report", "daemon ", "gpm.log", "reader"} {
		if !strings.Contains(out, want) {
			t.Errorf("report: no %q in\n%s", want, out)
		}
	}
}
