//go:build linux

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gpmd/gpm/api"
	"github.com/gpmd/gpm/client"
)

// nsRun is `gpm run` as PID 1 of a throw-away PID namespace (`unshare --pid --fork --mount-proc`), as in a
// container: the orphans of the whole namespace are its to reap, and a signal to it is what `docker stop` sends.
type nsRun struct {
	cmd            *exec.Cmd
	stdout, stderr *syncBuffer
	done           chan struct{}
	code           int // unshare's exit code, which is its child's: gpm run's
}

// startRunNS starts gpm run with args in a new PID namespace, GPM_HOME home, in dir. It skips the test where a PID
// namespace cannot be made (not root, no unshare).
func startRunNS(t *testing.T, home, dir string, args ...string) *nsRun {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("a PID namespace needs root (unshare --pid)")
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skip("no unshare(1) to make a PID namespace")
	}
	if out, err := exec.Command(unshare, "--pid", "--fork", "--mount-proc", "true").CombinedOutput(); err != nil {
		t.Skipf("unshare --pid --fork --mount-proc does not work here: %v %s", err, out)
	}
	r := &nsRun{stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan struct{})}
	r.cmd = exec.Command(unshare, append([]string{"--pid", "--fork", "--mount-proc", gpmBin, "run"}, args...)...)
	r.cmd.Env = append(environWithout(api.HomeEnv), api.HomeEnv+"="+home)
	r.cmd.Dir = dir
	r.cmd.Stdout, r.cmd.Stderr = r.stdout, r.stderr
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		err := r.cmd.Wait()
		var ee *exec.ExitError
		switch {
		case err == nil:
		case errors.As(err, &ee):
			r.code = ee.ExitCode()
		default:
			r.code = -2
		}
		close(r.done)
	}()
	t.Cleanup(func() {
		select {
		case <-r.done:
		default:
			r.cmd.Process.Kill() // unshare; its child, gpm run, is PID 1 of the namespace: killing unshare leaves it
			if pid := r.pid1(); pid > 0 {
				syscall.Kill(pid, syscall.SIGKILL) // and the namespace with it
			}
			<-r.done
		}
		if t.Failed() {
			t.Logf("gpm run stdout:\n%s\ngpm run stderr:\n%s", r.stdout, r.stderr)
		}
	})
	return r
}

// pid1 is gpm run's pid as this test sees it (unshare's child), 0 until it is forked.
func (r *nsRun) pid1() int {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", r.cmd.Process.Pid))
	for _, task := range tasks {
		b, _ := os.ReadFile(task)
		if f := strings.Fields(string(b)); len(f) > 0 {
			pid, _ := strconv.Atoi(f[0])
			return pid
		}
	}
	return 0
}

// waitPid1 waits until gpm run is forked and returns its pid.
func (r *nsRun) waitPid1(t *testing.T) int {
	t.Helper()
	var pid int
	waitFor(t, 10*time.Second, func() bool { pid = r.pid1(); return pid > 0 }, "unshare to fork gpm run")
	return pid
}

// wait waits for gpm run to exit and returns its exit code.
func (r *nsRun) wait(t *testing.T, timeout time.Duration, what string) int {
	t.Helper()
	select {
	case <-r.done:
		return r.code
	case <-time.After(patient(timeout)):
		t.Fatalf("gpm run did not exit after %s within %v", what, patient(timeout))
		return 0
	}
}

// inNS runs argv inside gpm run's namespaces (PID and mount: its /proc), as `docker exec` would.
func inNS(t *testing.T, pid1 int, home string, argv ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "nsenter", append([]string{"-t", strconv.Itoa(pid1), "-p", "-m", "--"}, argv...)...)
	cmd.Env = append(environWithout(api.HomeEnv), api.HomeEnv+"="+home)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// zombiesIn lists the zombies of gpm run's namespace (ps inside it).
func zombiesIn(t *testing.T, pid1 int) []string {
	t.Helper()
	out, err := inNS(t, pid1, "", "ps", "-e", "-o", "stat=,pid=,ppid=,comm=")
	if err != nil {
		t.Fatalf("ps in the namespace: %v: %s", err, out)
	}
	var z []string
	for _, l := range lines(out) {
		if strings.HasPrefix(strings.TrimSpace(l), "Z") {
			z = append(z, l)
		}
	}
	return z
}

// sigApp is an app that writes the signal it was stopped with to $DIR/<name>.sig, and a line on each stream. It
// writes $DIR/<name>.up once its traps are set: a signal before that would end it without a word.
const sigApp = `#!/bin/sh
name=$1
for s in TERM INT USR1 HUP; do trap "echo $s > '$PWD/'$name.sig; exit 0" $s; done
echo up > "$PWD/$name.up"
echo "$name ready"
echo "$name complains" >&2
while :; do sleep 0.1; done
`

// forkerApp double-forks five children that exit at once (their parent exits first: they are orphans when they
// die), then says so and sleeps.
const forkerApp = `#!/bin/sh
for i in 1 2 3 4 5; do sh -c 'sleep 0.2 & exit 0'; done
echo forked
exec sleep 1000
`

// TestRunAsPID1: gpm run as a container's PID 1. The orphans of its apps (double forks) and of processes entering
// the namespace from outside (docker exec) are reaped; each app's lines come out with its name as prefix, stdout on
// stdout and stderr on stderr; SIGTERM stops every app with its own kill_signal, and gpm run then exits 0 with no
// process of the home left.
func TestRunAsPID1(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	dir := t.TempDir()
	writeFile(t, dir, "sig.sh", sigApp)
	writeFile(t, dir, "forker.sh", forkerApp)
	writeFile(t, dir, "apps.json", `{"apps": [
		{"name": "term", "script": "sig.sh", "args": ["term"], "kill_signal": "SIGTERM", "kill_timeout": 10000,
		 "listen": ["tcp://127.0.0.1:0"]},
		{"name": "usr1", "script": "sig.sh", "args": ["usr1"], "kill_signal": "SIGUSR1", "kill_timeout": 10000},
		{"name": "int", "script": "sig.sh", "args": ["int"], "kill_timeout": 10000},
		{"name": "forker", "script": "forker.sh"}
	]}`)
	r := startRunNS(t, home, dir, "apps.json")
	pid1 := r.waitPid1(t)
	waitFor(t, 20*time.Second, func() bool {
		out := r.stdout.String()
		return strings.Contains(out, "term| term ready\n") && strings.Contains(out, "usr1| usr1 ready\n") &&
			strings.Contains(out, "int| int ready\n") && strings.Contains(out, "forker| forked\n")
	}, "each app's first line on stdout with its name as prefix")
	waitFor(t, 10*time.Second, func() bool { return strings.Contains(r.stderr.String(), "usr1| usr1 complains\n") },
		"an app's stderr on stderr with its prefix")
	if strings.Contains(r.stdout.String(), "complains") {
		t.Errorf("an app's stderr line came out on stdout:\n%s", r.stdout)
	}

	// An orphan of a process that entered the namespace from outside (docker exec) has no supervisor but PID 1.
	if out, err := inNS(t, pid1, home, "sh", "-c", "sleep 0.2 & exit 0"); err != nil {
		t.Fatalf("docker exec-like orphan: %v: %s", err, out)
	}
	var z []string
	waitFor(t, 10*time.Second, func() bool { z = zombiesIn(t, pid1); return len(z) == 0 }, "no zombie in the namespace")

	// gpm reload from inside the namespace reaches it through the control socket (the same GPM_HOME); term is in
	// cluster mode (listen): the new worker gets the same socket.
	before := one(t, home, "term")
	if before.Mode != "cluster" {
		t.Errorf("term runs in %s mode, want cluster", before.Mode)
	}
	os.Remove(filepath.Join(dir, "term.up"))
	if out, err := inNS(t, pid1, home, gpmBin, "reload", "term"); err != nil {
		t.Fatalf("gpm reload from inside: %v: %s", err, out)
	}
	if p := waitProc(t, home, "term", 20*time.Second, "the reloaded worker online", isOnline); p.PID == before.PID {
		t.Errorf("gpm reload term: still pid %d", p.PID)
	}
	waitFileContains(t, filepath.Join(dir, "term.sig"), "TERM") // the old worker got its kill_signal
	os.Remove(filepath.Join(dir, "term.sig"))
	waitFileContains(t, filepath.Join(dir, "term.up"), "up") // the new worker's traps are set

	if err := syscall.Kill(pid1, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := r.wait(t, 30*time.Second, "SIGTERM"); code != 0 {
		t.Errorf("gpm run exited %d after SIGTERM, want 0\nstderr:\n%s", code, r.stderr)
	}
	for name, want := range map[string]string{"term": "TERM", "usr1": "USR1", "int": "INT"} {
		if got := strings.TrimSpace(readFile(t, filepath.Join(dir, name+".sig"))); got != want {
			t.Errorf("%s was stopped with SIG%s, want its kill_signal SIG%s", name, got, want)
		}
	}
	if left := leftovers([]string{home}); len(left) > 0 {
		t.Errorf("processes of the home left after gpm run exited: %s", describePids(left))
	}
}

// TestRunExitCodes: with --exit-on-error, an app that fails (exits non-zero without autorestart, or is errored
// after a crash loop) ends gpm run with its code at once, every other app stopped with its kill_signal; without it,
// gpm run ends when no app is left running, with the failed app's code, and a job that succeeds ends it with 0.
func TestRunExitCodes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, app string
		flags     []string
		want      int
	}{
		{"exit-on-error, autorestart off", `{"name": "bad", "script": "fail.sh", "args": ["3"], "autorestart": false}`, []string{"--exit-on-error"}, 3},
		{"exit-on-error, crash loop", `{"name": "bad", "script": "fail.sh", "args": ["7"], "max_restarts": 2, "min_uptime": 60000}`, []string{"--exit-on-error"}, 7},
		{"auto-exit, killed by a signal", `{"name": "bad", "script": "fail.sh", "args": ["kill"], "autorestart": false}`, nil, 128 + int(syscall.SIGKILL)},
		{"auto-exit, success", `{"name": "bad", "script": "fail.sh", "args": ["0"], "autorestart": false}`, nil, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			home := newHome(t)
			dir := t.TempDir()
			writeFile(t, dir, "sig.sh", sigApp)
			// The failing app waits for the other one to be up (its traps set: sigApp's keep.up), so that the test
			// sees it stopped by gpm run.
			writeFile(t, dir, "fail.sh", `#!/bin/sh
while [ ! -s keep.up ]; do sleep 0.05; done
echo "failing with $1"
[ "$1" = kill ] && kill -KILL $$
exit $1
`)
			writeFile(t, dir, "keep.sh", "#!/bin/sh\nexec sh ./sig.sh keep\n")
			keep := `{"name": "keep", "script": "keep.sh", "kill_signal": "SIGHUP", "autorestart": false}`
			if tc.flags == nil {
				keep = `{"name": "keep", "script": "fail.sh", "args": ["0"], "autorestart": false}, {"name": "up", "script": "keep.sh", "autorestart": false, "kill_signal": "SIGHUP"}`
			}
			writeFile(t, dir, "apps.json", `{"apps": [`+keep+`, `+tc.app+`]}`)
			r := startRunNS(t, home, dir, append([]string{"apps.json"}, tc.flags...)...)
			if tc.flags == nil {
				// Auto-exit waits for every app: end the one that keeps running, as a user would with gpm stop.
				r.waitPid1(t)
				waitFor(t, 20*time.Second, func() bool { return strings.Contains(r.stdout.String(), "bad| failing with") }, "the app to fail")
				// Its exit code is not checked: gpm run may be gone before the list stop prints after it.
				run(t, home, "stop", "up")
			}
			if code := r.wait(t, 40*time.Second, "an app failed"); code != tc.want {
				t.Errorf("gpm run exited %d, want %d\nstderr:\n%s", code, tc.want, r.stderr)
			}
			if tc.flags != nil {
				if got := strings.TrimSpace(readFile(t, filepath.Join(dir, "keep.sig"))); got != "HUP" {
					t.Errorf("the other app was stopped with SIG%s, want its kill_signal SIGHUP", got)
				}
			}
		})
	}
}

// TestRunJSON: --json prints one object a line, {app,id,stream,line,time}, stdout lines on stdout and stderr lines
// on stderr; a script given on the command line runs as an app of its own name.
func TestRunJSON(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	dir := t.TempDir()
	writeFile(t, dir, "sig.sh", sigApp)
	r := startRunNS(t, home, dir, "--json", "sig.sh", "--", "js")
	pid1 := r.waitPid1(t)
	waitFor(t, 20*time.Second, func() bool { return strings.Contains(r.stderr.String(), `"line":"js complains"`) }, "the app's stderr as JSON")
	waitFor(t, 20*time.Second, func() bool { return strings.Contains(r.stdout.String(), `"line":"js ready"`) }, "the app's stdout as JSON")
	syscall.Kill(pid1, syscall.SIGINT)
	if code := r.wait(t, 30*time.Second, "SIGINT"); code != 0 {
		t.Errorf("gpm run exited %d after SIGINT, want 0", code)
	}
	sc := bufio.NewScanner(strings.NewReader(r.stdout.String()))
	var got []string
	for sc.Scan() {
		var l struct {
			App, Stream, Line string
			ID                *int
			Time              time.Time
		}
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("stdout line %q is not JSON: %v", sc.Text(), err)
		}
		if l.App != "sig" || l.ID == nil || l.Stream != "out" || l.Time.IsZero() {
			t.Errorf("stdout line %q: want app sig, an id, stream out and a time", sc.Text())
		}
		got = append(got, l.Line)
	}
	if !slices.Contains(got, "js ready") {
		t.Errorf("stdout lines %q, want %q among them", got, "js ready")
	}
}

// gpm run whose stdout nobody reads (a pipe whose reader stopped: a stuck log driver) still exits after SIGTERM:
// the apps' last lines cannot be written, and waiting for them would hold the container's exit for ever.
func TestRunStdoutStuck(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	dir := t.TempDir()
	// 1 MB of output, far more than a pipe holds, then a line per second.
	writeFile(t, dir, "flood.sh", "#!/bin/sh\nhead -c 1048576 /dev/zero | tr '\\0' 'x' | fold -w 100\nwhile :; do echo tick; sleep 1; done\n")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close() // never read
	cmd := gpmCmd(context.Background(), home, opts{dir: dir}, "run", "flood.sh", "--interpreter", "sh")
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = w, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer cmd.Process.Kill()
	// Through the client's Dial, which never starts a daemon of its own (the CLI would, before gpm run's serves).
	waitFor(t, 30*time.Second, func() bool {
		c, err := client.Dial(context.Background(), home)
		if err != nil {
			return false
		}
		defer c.Close()
		list, err := c.List(context.Background())
		return err == nil && len(list) == 1 && list[0].Status == api.StatusOnline
	}, "the app online")
	// The pipe full (64 KiB, of the 1 MB the app writes at its start): gpm run's next write waits.
	waitFor(t, 30*time.Second, func() bool {
		n, err := unix.IoctlGetInt(int(r.Fd()), unix.TIOCINQ) // FIONREAD
		return err == nil && n >= 60000
	}, "gpm run's stdout pipe full")
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		if code := cmd.ProcessState.ExitCode(); code != 0 {
			t.Errorf("gpm run: %v after SIGTERM, want exit 0; stderr:\n%s", err, stderr.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("gpm run did not exit within 60 s of SIGTERM with its stdout stuck; stderr:\n%s", stderr.String())
	}
}
