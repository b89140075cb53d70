//go:build linux

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gpmd/gpm/api"
)

// appUserDir is a directory of uid 65534 inside publicDir: what `--cwd /srv/nb` is in issue 11, item 1.
func appUserDir(t *testing.T, parent string) string {
	t.Helper()
	dir := filepath.Join(parent, "nb")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	return dir
}

// rootFile writes a root-owned file that no app may touch, and returns a check that it is unchanged.
func rootFile(t *testing.T, path string) func(when string) {
	t.Helper()
	const content = "root secret\n"
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return func(when string) {
		t.Helper()
		if got := readFile(t, path); got != content {
			t.Fatalf("%s: the root file %s was changed through a link of uid 65534: %q", when, path, got)
		}
	}
}

// TestPlantedLinks_Issue11Item1: a root daemon running an app as uid 65534, whose cwd and log and pid paths are in
// that user's directory, never writes, replaces or truncates the root file that user links them to: before the
// start (log, pid file, flush), or by swapping the log for a link while the app runs (reloadLogs, flush).
func TestPlantedLinks_Issue11Item1(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the attack needs a daemon running as root and an app running as uid 65534")
	}
	t.Parallel()
	home := newHome(t)
	dir := publicDir(t)
	nb := appUserDir(t, dir)
	script := filepath.Join(dir, "ticker.sh")
	installExecutable(t, fixture("ticker.sh"), script)
	daemonLogSays := func(t *testing.T, what string) {
		t.Helper()
		waitFor(t, 10*time.Second, func() bool {
			return strings.Contains(readFile(t, filepath.Join(home, api.DaemonLog)), what)
		}, "the daemon's log to say "+what)
	}
	as := func(name string, extra ...string) []string {
		return append([]string{"start", script, "--name", name, "--uid", "65534", "--gid", "65534", "--cwd", nb}, extra...)
	}

	t.Run("log and flush planted before the start", func(t *testing.T) {
		secret := filepath.Join(dir, "secret-log")
		unchanged := rootFile(t, secret)
		if err := os.Symlink(secret, filepath.Join(nb, "out.log")); err != nil {
			t.Fatal(err)
		}
		// The log is refused, so the app does not start; flush refuses too.
		_, stderr, code := run(t, home, as("planted", "-o", filepath.Join(nb, "out.log"), "-e", filepath.Join(nb, "err.log"))...)
		if code == 0 || !strings.Contains(stderr, "unsafe path") || !strings.Contains(stderr, "symbolic link") {
			t.Errorf("start with a planted log link: exit %d, %q; want a refusal naming the link", code, stderr)
		}
		unchanged("after start")
		if _, stderr, code := run(t, home, "flush", "planted"); code == 0 || !strings.Contains(stderr, "unsafe path") {
			t.Errorf("flush of a planted log link: exit %d, %q; want a refusal", code, stderr)
		}
		unchanged("after flush")
	})

	t.Run("pid file planted before the start", func(t *testing.T) {
		secret := filepath.Join(dir, "secret-pid")
		unchanged := rootFile(t, secret)
		if err := os.Symlink(secret, filepath.Join(nb, "app.pid")); err != nil {
			t.Fatal(err)
		}
		// The app runs (its pid file is written off the loop, after the start), the link is not followed.
		mustRun(t, home, as("pidapp", "-o", filepath.Join(nb, "pid-out.log"), "-e", filepath.Join(nb, "pid-err.log"),
			"-p", filepath.Join(nb, "app.pid"))...)
		waitOnline(t, home, "pidapp")
		daemonLogSays(t, "app.pid: unsafe path")
		unchanged("after the pid file write")
	})

	t.Run("log swapped for a link while running", func(t *testing.T) {
		secret := filepath.Join(dir, "secret-swap")
		unchanged := rootFile(t, secret)
		// The app's user renames its log away and puts a link in its place (where logrotate's rename leaves a
		// gap); reloadLogs must not follow it, nor flush.
		out := filepath.Join(nb, "swap-out.log")
		mustRun(t, home, as("swap", "-o", out, "-e", filepath.Join(nb, "swap-err.log"))...)
		waitOnline(t, home, "swap")
		waitFileContains(t, out, "tick 2")
		if err := os.Rename(out, out+".1"); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(secret, out); err != nil {
			t.Fatal(err)
		}
		mustRun(t, home, "reloadLogs")
		daemonLogSays(t, "swap-out.log: unsafe path")
		// The app keeps logging, into the file the daemon had.
		n := len(lines(readFile(t, out+".1")))
		waitFor(t, 10*time.Second, func() bool { return len(lines(readFile(t, out+".1"))) > n+2 }, "the log to keep growing")
		unchanged("after reloadLogs")
		mustRun(t, home, "flush", "swap")
		unchanged("after flush of the swapped log")
	})
}

// TestPlantedSocketDir_Issue11Item1: an app's unix listen path in its user's directory, where that user replaced a
// directory on the way with a link to a root directory: the root daemon must neither remove the root file of the
// same name there (it removes what a previous run left before it binds) nor bind in its place. A socket in the
// user's own directory still works, and is removed when the app is deleted.
func TestPlantedSocketDir_Issue11Item1(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the attack needs a daemon running as root and an app running as uid 65534")
	}
	t.Parallel()
	home := newHome(t)
	dir := publicDir(t)
	nb := appUserDir(t, dir)
	victims := filepath.Join(dir, "victims")
	if err := os.Mkdir(victims, 0o755); err != nil {
		t.Fatal(err)
	}
	unchanged := rootFile(t, filepath.Join(victims, "app.sock"))
	// What uid 65534 can do in its own directory: a link where the admin's configuration expects a directory.
	if err := os.Symlink(victims, filepath.Join(nb, "run")); err != nil {
		t.Fatal(err)
	}
	if err := os.Lchown(filepath.Join(nb, "run"), 65534, 65534); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(dir, "ticker.sh")
	installExecutable(t, fixture("ticker.sh"), script)
	start := func(name, sock string) (string, int) {
		_, stderr, code := run(t, home, "start", script, "--name", name, "--uid", "65534", "--gid", "65534", "--cwd", nb,
			"--listen", "unix://"+sock)
		return stderr, code
	}
	stderr, code := start("planted", filepath.Join(nb, "run", "app.sock"))
	if code == 0 || !strings.Contains(stderr, "unsafe path") {
		t.Errorf("start with a socket path through a planted link: exit %d, %q; want a refusal", code, stderr)
	}
	unchanged("after the start")

	own := filepath.Join(nb, "own", "app.sock")
	if stderr, code := start("own", own); code != 0 {
		t.Fatalf("start with a socket in the user's own directory: exit %d, %s", code, stderr)
	}
	if st, err := os.Lstat(own); err != nil || st.Mode()&os.ModeSocket == 0 {
		t.Fatalf("%s after the start: %v, %v; want a socket", own, st, err)
	}
	mustRun(t, home, "delete", "own")
	if _, err := os.Lstat(own); !os.IsNotExist(err) {
		t.Errorf("%s after delete: %v; want it removed", own, err)
	}
	unchanged("after delete")
}
