//go:build linux

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gpmd/gpm/api"
)

func TestExitCodes(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	mustRun(t, home, "ping") // so that "started daemon" is not part of the stderr checked below

	oneLine := func(t *testing.T, args ...string) {
		t.Helper()
		_, stderr, code := run(t, home, args...)
		if code != 1 {
			t.Errorf("gpm %s: exit %d, want 1", strings.Join(args, " "), code)
		}
		if l := lines(stderr); len(l) != 1 {
			t.Errorf("gpm %s: want a one-line reason on stderr, got %q", strings.Join(args, " "), stderr)
		}
	}
	t.Run("empty list", func(t *testing.T) {
		oneLine(t, "stop", "all")
		oneLine(t, "restart", "all")
	})
	mustRun(t, home, "start", fixture("echo.sh"), "--name", "present")
	waitOnline(t, home, "present")
	for _, cmd := range []string{"stop", "restart", "delete"} {
		t.Run(cmd, func(t *testing.T) {
			oneLine(t, cmd, "nosuchapp")
			oneLine(t, cmd, "42")
			oneLine(t, cmd, "present", "nosuchapp")
		})
	}
	if p := one(t, home, "present"); !isOnline(p) || p.Restarts != 0 {
		t.Errorf("a command that failed on an unknown target touched the known one: %s, restarts %d", p.Status, p.Restarts)
	}
	t.Run("unknown command", func(t *testing.T) { oneLine(t, "frobnicate") })
	t.Run("bad flag", func(t *testing.T) {
		oneLine(t, "start", fixture("echo.sh"), "--no-such-flag")
		oneLine(t, "logs", "--lines", "many")
	})
	t.Run("missing script", func(t *testing.T) {
		oneLine(t, "start", filepath.Join(home, "missing.sh"))
		oneLine(t, "start", "missing.sh")
		oneLine(t, "start", filepath.Join(home, "missing-binary"))
		if got := names(jlist(t, home)); !slices.Equal(got, []string{"present"}) {
			t.Errorf("a failed start registered something: %v", got)
		}
	})
	t.Run("describe and env of unknown", func(t *testing.T) {
		oneLine(t, "describe", "nosuchapp")
		oneLine(t, "env", "99")
		oneLine(t, "scale", "nosuchapp", "2")
	})
}

// daemonsOf returns the pids of processes running `<gpmBin|gpmdBin|gpmdWebBin> daemon` with GPM_HOME=home.
func daemonsOf(home string) []int {
	var out []int
	for _, pid := range leftovers([]string{home}) {
		cmd, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
		if args := strings.Split(strings.TrimRight(string(cmd), "\x00"), "\x00"); len(args) == 2 && (args[0] == gpmBin || args[0] == gpmdBin || args[0] == gpmdWebBin) && args[1] == "daemon" {
			out = append(out, pid)
		}
	}
	return out
}

func TestRacingCLIsStartOneDaemon(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	const n = 8
	var wg sync.WaitGroup
	stderrs := make([]string, n)
	codes := make([]int, n)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
			defer cancel()
			cmd := gpmCmd(ctx, home, opts{}, "ping")
			var stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = io.Discard, &stderr
			<-start
			err := cmd.Run()
			stderrs[i] = stderr.String()
			if err != nil {
				codes[i] = -1
			}
		})
	}
	close(start)
	wg.Wait()
	started := 0
	for i := range n {
		if codes[i] != 0 {
			t.Errorf("ping %d failed: %s", i, stderrs[i])
		}
		started += strings.Count(stderrs[i], "started daemon")
	}
	if started != 1 {
		t.Errorf("%d of %d racing CLIs said they started the daemon, want exactly 1", started, n)
	}
	daemons := daemonsOf(home)
	if len(daemons) != 1 {
		t.Fatalf("%d daemon processes for one home: %s", len(daemons), describePids(daemons))
	}
	pidText := strings.TrimSpace(readFile(t, filepath.Join(home, api.PidName)))
	if pidText != strconv.Itoa(daemons[0]) {
		t.Errorf("gpm.pid says %q, the daemon is %d", pidText, daemons[0])
	}
	if c := strings.Count(readFile(t, filepath.Join(home, api.DaemonLog)), " up, pid "); c != 1 {
		t.Errorf("gpm.log shows %d daemon starts, want 1", c)
	}
	if v := mustRun(t, home, "version"); !strings.Contains(v, "pid "+pidText) {
		t.Errorf("gpm version does not name daemon pid %s:\n%s", pidText, v)
	}
	// --version, -v, -V: this program's version alone, as pm2 --version (no call to the daemon).
	for _, flag := range []string{"--version", "-v", "-V"} {
		if v := mustRun(t, home, flag); !strings.HasPrefix(v, "gpm ") || strings.Count(v, "\n") != 1 {
			t.Errorf("gpm %s printed %q, want one line", flag, v)
		}
	}
}

func TestKillPingVersionIDPidSignal(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	if out := mustRun(t, home, "ping"); !strings.Contains(out, "pong") {
		t.Errorf("gpm ping printed %q", out)
	}
	if out, stderr, code := run(t, home, "version"); code != 0 || !strings.Contains(out, "gpm ") {
		t.Errorf("gpm version: exit %d: %s %s", code, out, stderr)
	}

	mustRun(t, home, "start", fixture("echo.sh"), "--name", "pair", "-i", "2")
	mustRun(t, home, "start", fixture("usr2.sh"), "--name", "sig")
	ps := waitInstances(t, home, "pair", 2)
	sig := waitOnline(t, home, "sig")

	var ids []int
	if err := json.Unmarshal([]byte(mustRun(t, home, "id", "pair")), &ids); err != nil {
		t.Fatalf("gpm id: %v", err)
	}
	if want := []int{ps[0].ID, ps[1].ID}; !slices.Equal(ids, want) {
		t.Errorf("gpm id pair = %v, want %v", ids, want)
	}
	var pids []int
	for _, l := range lines(mustRun(t, home, "pid", "pair")) {
		n, err := strconv.Atoi(l)
		if err != nil {
			t.Fatalf("gpm pid: %q", l)
		}
		pids = append(pids, n)
	}
	if want := []int{ps[0].PID, ps[1].PID}; !slices.Equal(pids, want) {
		t.Errorf("gpm pid pair = %v, want %v", pids, want)
	}

	waitFileContains(t, outLog(home, "sig"), "ready")
	mustRun(t, home, "sendSignal", "SIGUSR2", "sig")
	waitFileContains(t, outLog(home, "sig"), "got USR2")
	if q := one(t, home, "sig"); q.PID != sig.PID || q.Restarts != 0 {
		t.Errorf("SIGUSR2 restarted the app: pid %d→%d restarts %d", sig.PID, q.PID, q.Restarts)
	}

	mustRun(t, home, "save")
	dump := readFile(t, filepath.Join(home, api.DumpName))
	daemon, _ := strconv.Atoi(strings.TrimSpace(readFile(t, filepath.Join(home, api.PidName))))
	appPids := append(pids, sig.PID)
	mustRun(t, home, "kill")
	waitFor(t, 10*time.Second, func() bool {
		for _, pid := range append(appPids, daemon) {
			if exists(pid) && !zombie(pid) {
				return false
			}
		}
		return true
	}, "apps and daemon gone after gpm kill")
	if got := readFile(t, filepath.Join(home, api.DumpName)); got != dump {
		t.Errorf("gpm kill changed dump.json")
	}
	if out := mustRun(t, home, "kill"); !strings.Contains(out, "no daemon") {
		t.Errorf("gpm kill without a daemon: %q", out)
	}
}

func TestControlSocketSecurity(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	mustRun(t, home, "ping")
	sock := api.SocketPath(home)
	st, err := os.Stat(sock)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode()&os.ModeSocket == 0 || st.Mode().Perm() != 0o600 {
		t.Errorf("control socket mode %v, want a socket with 0600", st.Mode())
	}
	if st, err := os.Stat(home); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("GPM_HOME mode %v (%v), want 0700", st.Mode(), err)
	}

	if os.Geteuid() != 0 {
		t.Skip("the other-user checks need root (to run a client as uid 65534)")
	}
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skip("the other-user checks need setpriv")
	}
	// A copy of gpm that uid 65534 can execute: binDir is 0700.
	pub, err := os.MkdirTemp("", "gpm-e2e-pub-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(pub)
	os.Chmod(pub, 0o755)
	bin := installGPM(t, pub)
	asNobody := func(t *testing.T, args ...string) (string, int) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, setpriv, append([]string{"--reuid=65534", "--regid=65534", "--clear-groups", bin}, args...)...)
		cmd.Env = append(environWithout(api.HomeEnv, "HOME"), api.HomeEnv+"="+home, "HOME=/nonexistent")
		cmd.Dir = "/"
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		code := 0
		if err != nil {
			ee, ok := err.(*exec.ExitError)
			if !ok {
				t.Fatalf("setpriv: %v: %s", err, out.String())
			}
			code = ee.ExitCode()
		}
		return out.String(), code
	}

	t.Run("home 0700", func(t *testing.T) {
		out, code := asNobody(t, "jlist")
		if code == 0 {
			t.Errorf("uid 65534 listed root's apps: %s", out)
		}
	})
	t.Run("peer credentials", func(t *testing.T) {
		// Open the file modes so that only the daemon's peer-uid check stands in the way.
		os.Chmod(home, 0o755)
		os.Chmod(sock, 0o666)
		defer os.Chmod(home, 0o700)
		defer os.Chmod(sock, 0o600)
		out, code := asNobody(t, "jlist")
		if code == 0 {
			t.Errorf("uid 65534 passed the peer credential check: %s", out)
		}
		if !regexp.MustCompile(`(?i)permission denied`).MatchString(out) {
			t.Errorf("refusal does not say permission denied: %q", out)
		}
		out, code = asNobody(t, "kill")
		if code == 0 {
			t.Errorf("uid 65534 could kill root's daemon: %s", out)
		}
		mustRun(t, home, "ping")
	})
}

// TestKillThenResurrect is `gpm kill && gpm resurrect`, the upgrade recipe: the command after kill must reach a
// working daemon, never the one that is going away (connection reset) nor fail to start a new one because the old
// one still holds the home's lock. Four homes loop at once, so the window is hit under load as on a busy host.
func TestKillThenResurrect(t *testing.T) {
	t.Parallel()
	const homesN, rounds = 4, 25
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []string
	for range homesN {
		home := newHome(t)
		mustRun(t, home, "start", fixture("echo.sh"), "--name", "phoenix")
		mustRun(t, home, "save")
		wg.Go(func() {
			for i := range rounds {
				ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
				kill := gpmCmd(ctx, home, opts{}, "kill")
				killOut, killErr := kill.CombinedOutput()
				res := gpmCmd(ctx, home, opts{}, "resurrect")
				out, err := res.CombinedOutput()
				cancel()
				if killErr != nil || err != nil {
					mu.Lock()
					failures = append(failures, fmt.Sprintf("round %d: kill: %v %s; resurrect: %v %s", i, killErr,
						strings.TrimSpace(string(killOut)), err, firstLine(string(out))))
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if len(failures) > 0 {
		t.Errorf("%d of %d `gpm kill; gpm resurrect` rounds failed, e.g.:\n%s", len(failures), homesN*rounds,
			strings.Join(failures[:min(3, len(failures))], "\n"))
	}
}

func firstLine(s string) string {
	for _, l := range lines(s) {
		if !strings.HasPrefix(l, "gpm: started daemon") {
			return l
		}
	}
	return ""
}

func TestNamespaceTargets(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	mustRun(t, home, "start", fixture("echo.sh"), "--name", "a1", "--namespace", "grp")
	mustRun(t, home, "start", fixture("echo.sh"), "--name", "a2", "--namespace", "grp")
	mustRun(t, home, "start", fixture("echo.sh"), "--name", "other")
	for _, n := range []string{"a1", "a2", "other"} {
		waitOnline(t, home, n)
	}
	mustRun(t, home, "stop", "grp")
	for _, p := range jlist(t, home) {
		if want := p.Name == "other"; isOnline(p) != want {
			t.Errorf("after gpm stop grp: %s is %s", p.Name, p.Status)
		}
	}
	mustRun(t, home, "restart", "grp")
	for _, n := range []string{"a1", "a2", "other"} {
		waitOnline(t, home, n)
	}
	mustRun(t, home, "delete", "grp")
	if got := names(jlist(t, home)); !slices.Equal(got, []string{"other"}) {
		t.Errorf("after gpm delete grp: %v", got)
	}
}

// TestPathsWithSpaces: a script whose absolute path has a space is that script, not a command line to split; and a
// GPM_HOME with a space still gives Node apps gpm's shim (NODE_OPTIONS is split at unquoted spaces).
func TestPathsWithSpaces(t *testing.T) {
	t.Parallel()
	dir, err := os.MkdirTemp("", "gpm e2e home ")
	if err != nil {
		t.Fatal(err)
	}
	useHome(t, dir)
	home := dir
	apps := filepath.Join(t.TempDir(), "my apps")
	if err := os.MkdirAll(apps, 0o755); err != nil {
		t.Fatal(err)
	}
	script := writeFile(t, apps, "echo it.sh", "echo started from my apps\nexec sleep 1000\n")
	mustRun(t, home, "start", script, "--name", "spaced")
	p := waitOnline(t, home, "spaced")
	if p.Config.Script != script {
		t.Errorf("script %q, want %q", p.Config.Script, script)
	}
	waitFileContains(t, outLog(home, "spaced"), "started from my apps")

	node, err := exec.LookPath("node")
	if err != nil {
		return
	}
	app := writeFile(t, apps, "app.js", `require('http').createServer((q, r) => r.end('ok')).listen(0, () => {
  console.log('shim ' + (process.env.GPM_NOTIFY_STREAM ? 'on' : 'off'));
  process.send('ready');
});
`)
	mustRun(t, home, "start", app, "--name", "nodespaced", "--interpreter", node, "--wait-ready", "--listen-timeout", "10000")
	n := waitProc(t, home, "nodespaced", 15*time.Second, "a Node app online with a space in GPM_HOME", isOnline)
	if n.Restarts != 0 {
		t.Errorf("the Node app restarted %d times (its NODE_OPTIONS must load the shim)", n.Restarts)
	}
}

// TestUpdatePrettylistMonit: `gpm update` replaces the daemon and keeps its apps (a stopped one stays stopped);
// prettylist is jlist indented; monit off a terminal prints its table once.
func TestUpdatePrettylistMonit(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	mustRun(t, home, "start", fixture("echo.sh"), "--name", "up")
	mustRun(t, home, "start", fixture("echo.sh"), "--name", "down")
	mustRun(t, home, "stop", "down")
	before := waitOnline(t, home, "up")
	oldDaemon := strings.TrimSpace(readFile(t, filepath.Join(home, api.PidName)))

	out := mustRun(t, home, "update")
	if !strings.Contains(out, "saved 2 app(s)") || !strings.Contains(out, "resurrected") {
		t.Errorf("gpm update said:\n%s", out)
	}
	if newDaemon := strings.TrimSpace(readFile(t, filepath.Join(home, api.PidName))); newDaemon == oldDaemon {
		t.Errorf("gpm update: the daemon is still pid %s", oldDaemon)
	}
	after := waitOnline(t, home, "up")
	if after.PID == before.PID {
		t.Errorf("gpm update: up still runs as pid %d under the old daemon", after.PID)
	}
	if p := waitProc(t, home, "down", 5*time.Second, "down", func(api.Process) bool { return true }); p.Status != api.StatusStopped {
		t.Errorf("gpm update: down is %s, want stopped as it was", p.Status)
	}

	pretty := mustRun(t, home, "prettylist")
	var fromPretty []api.Process
	if err := json.Unmarshal([]byte(pretty), &fromPretty); err != nil || len(fromPretty) != 2 || !strings.Contains(pretty, "\n  {") {
		t.Errorf("prettylist: %v, %d processes:\n%s", err, len(fromPretty), pretty)
	}

	// Not on a terminal, monit prints its table once (the console itself: e2e/monit_test.go).
	if out := mustRun(t, home, "monit"); !strings.Contains(out, "up") || !strings.Contains(out, "down") {
		t.Errorf("monit without a terminal printed:\n%s\nwant the table with up and down", out)
	}
}

// TestEcosystemWritesOnce: gpm ecosystem (gpm init) writes a process file in the working directory, never over one.
func TestEcosystemWritesOnce(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	dir := t.TempDir()
	out := mustRunWith(t, home, opts{dir: dir}, "ecosystem")
	path := filepath.Join(dir, "ecosystem.json")
	if !strings.Contains(out, path) || !strings.Contains(readFile(t, path), "apps:") {
		t.Fatalf("gpm ecosystem: %q; the file:\n%s", out, readFile(t, path))
	}
	if err := os.WriteFile(path, []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := runWith(t, home, opts{dir: dir}, "init")
	if code == 0 || !strings.Contains(stderr, "does not overwrite") || readFile(t, path) != "mine" {
		t.Errorf("gpm init over an existing file: exit %d, %q; the file is now %q", code, stderr, readFile(t, path))
	}
}

// A daemon the CLI starts does not hold what the CLI inherited without close-on-exec: a tool that runs `gpm start`
// with a pipe of its own (fd 3 here) and waits for the pipe's end got it only when the daemon exited.
func TestSpawnedDaemonHoldsNoStrayFD(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	defer run(t, home, "kill")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := gpmCmd(ctx, home, opts{}, "ping")
	cmd.ExtraFiles = []*os.File{w} // fd 3, without close-on-exec, as a shell's redirection leaves it
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gpm ping: %v\n%s", err, out)
	}
	w.Close()
	// The CLI is gone; the pipe ends unless the daemon it started holds the write end.
	r.SetReadDeadline(time.Now().Add(10 * time.Second))
	var b [1]byte
	if _, err := r.Read(b[:]); !errors.Is(err, io.EOF) {
		t.Fatalf("the pipe given to the CLI: %v, want its end (the daemon holds it)", err)
	}
}
