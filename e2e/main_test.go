//go:build linux

// Package e2e drives the real gpm binary end to end: every test gets a GPM_HOME of its own, runs `gpm` commands
// with exec, and checks what the apps (sh fixtures in testdata) and the daemon did. Nothing here imports the daemon;
// only the api package, to decode `gpm jlist`.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gpmd/gpm/api"
)

var (
	gpmBin      string // the gpm binary built by TestMain: the thin CLI (-tags gpmthin), as the packages install it
	gpmdBin     string // gpm's whole program but the HTTP server beside it, which the CLI hands the daemon and process files to
	gpmdWebBin  string // gpmd with the HTTP server, which gpmd execs for a daemon whose API is on
	listenerBin string // testdata/listener built by TestMain
	binDir      string
	fixtures    string // absolute path of testdata

	homesMu sync.Mutex
	homes   []string // every GPM_HOME a test created, for the final leftover check
)

// cmdTimeout bounds one gpm command: a hung CLI fails its test instead of the whole package. Above slowStart (a
// start waits for its workers to be ready) with room for a loaded machine.
const cmdTimeout = 90 * time.Second

func TestMain(m *testing.M) {
	flag.Parse()
	// The tests spend their time waiting for apps (kill timeouts, restart delays), not computing: run more of them
	// at once than the default GOMAXPROCS unless -parallel was given.
	explicit := false
	flag.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "test.parallel" })
	if !explicit {
		flag.Set("test.parallel", strconv.Itoa(max(8, 4*runtime.NumCPU())))
	}
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	root, err := moduleRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	if binDir, err = os.MkdirTemp("", "gpm-e2e-bin-"); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(binDir)
	gpmBin = filepath.Join(binDir, "gpm")
	gpmdBin = filepath.Join(binDir, "gpmd")
	gpmdWebBin = filepath.Join(binDir, "gpmd-web")
	listenerBin = filepath.Join(binDir, "listener")
	// The thin CLI as make build links it: on linux/amd64 with its own ELF entry point (internal/handoff), so that
	// every test's `gpm daemon` and `gpm run` goes through the hand-off the packages ship.
	thinLD := ""
	if runtime.GOARCH == "amd64" {
		thinLD = "-E _rt0_gpm_handoff"
	}
	for _, b := range []struct{ out, pkg, tags, ldflags string }{
		{gpmBin, "./cmd/gpm", "gpmthin", thinLD}, {gpmdBin, "./cmd/gpm", "gpmnoweb", ""}, {gpmdWebBin, "./cmd/gpm", "", ""},
		{listenerBin, "./e2e/testdata/listener", "", ""},
	} {
		cmd := exec.Command("go", "build", "-tags="+b.tags, "-ldflags="+b.ldflags, "-o", b.out, b.pkg)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: go build %s: %v\n%s", b.pkg, err, out)
			return 1
		}
	}
	if fixtures, err = filepath.Abs("testdata"); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	code := m.Run()
	// Every test's cleanup ran `gpm kill` and checked its own home; this catches what slipped through anyway.
	homesMu.Lock()
	all := append([]string(nil), homes...)
	homesMu.Unlock()
	if left := leftovers(all); len(left) > 0 {
		fmt.Fprintf(os.Stderr, "e2e: processes left behind after the tests: %v\n", left)
		for _, pid := range left {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		if code == 0 {
			code = 1
		}
	}
	return code
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return filepath.Abs("..")
	}
	return filepath.Dir(gomod), nil
}

// fixture is the absolute path of a file in testdata.
func fixture(name string) string { return filepath.Join(fixtures, name) }

// newHome returns a fresh GPM_HOME. Its cleanup kills the daemon and every app, and fails the test if a process
// that carries this GPM_HOME outlives `gpm kill`.
//
// The home is made with os.MkdirTemp rather than t.TempDir: a unix socket path must stay under 108 bytes, and
// t.TempDir embeds the test name.
func newHome(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "gpm-e2e-")
	if err != nil {
		t.Fatal(err)
	}
	useHome(t, dir)
	return dir
}

// useHome registers dir as a GPM_HOME of t: the same cleanup as newHome, for a directory made otherwise.
func useHome(t *testing.T, dir string) {
	t.Helper()
	homesMu.Lock()
	homes = append(homes, dir)
	homesMu.Unlock()
	t.Cleanup(func() {
		_, stderr, code := runWith(t, dir, opts{}, "kill")
		if code != 0 {
			t.Errorf("cleanup: gpm kill: exit %d: %s", code, stderr)
		}
		deadline := time.Now().Add(5 * time.Second)
		var left []int
		for {
			if left = leftovers([]string{dir}); len(left) == 0 || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if len(left) > 0 {
			t.Errorf("cleanup: processes of GPM_HOME %s still alive after gpm kill: %s", dir, describePids(left))
			for _, pid := range left {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		// The daemon must exit cleanly: a panic on the way out still "works" for kill, but not under systemd.
		b, err := os.ReadFile(filepath.Join(dir, api.DaemonLog))
		if err == nil && bytes.Contains(b, []byte("panic:")) {
			t.Errorf("the daemon of %s panicked:\n%s", dir, b)
		} else if err == nil && t.Failed() {
			// A failure seen once in CI must bring its evidence: the home is removed below.
			t.Logf("the daemon's log (%s), last 8 KB:\n%s", api.DaemonLog, b[max(0, len(b)-8<<10):])
		}
		os.RemoveAll(dir)
	})
}

// leftovers returns the live (non-zombie) processes whose environment holds GPM_HOME=<one of homes>: the daemons
// and every app they started, including the apps' own children.
func leftovers(homes []string) []int {
	want := map[string]bool{}
	for _, h := range homes {
		want[api.HomeEnv+"="+h] = true
	}
	return liveProcs("environ", func(env []byte) bool {
		return slices.ContainsFunc(bytes.Split(env, []byte{0}), func(kv []byte) bool { return want[string(kv)] })
	})
}

// liveProcs returns the live (non-zombie) processes other than this one whose /proc/PID/<file> satisfies match.
func liveProcs(file string, match func([]byte) bool) []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), file))
		if err == nil && match(b) && !zombie(pid) {
			out = append(out, pid)
		}
	}
	return out
}

func describePids(pids []int) string {
	var parts []string
	for _, pid := range pids {
		cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		parts = append(parts, fmt.Sprintf("%d (%s)", pid, strings.ReplaceAll(strings.TrimRight(string(cmd), "\x00"), "\x00", " ")))
	}
	return strings.Join(parts, ", ")
}

// procState is the state letter of /proc/PID/stat ("" when the process does not exist).
func procState(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+3 > len(s) {
		return ""
	}
	return s[i+2 : i+3]
}

func zombie(pid int) bool { return procState(pid) == "Z" }

// exists reports whether pid is a process (zombies count: a zombie is a process nobody reaped).
func exists(pid int) bool {
	_, err := os.Stat(fmt.Sprintf("/proc/%d", pid))
	return err == nil
}

// opts are the extras of one gpm invocation.
type opts struct {
	env   []string // added to the environment (KEY=VALUE)
	stdin string
	dir   string // working directory; default the home
	bin   string // binary; default gpmBin
}

// run runs gpm with args against home and returns its stdout, stderr and exit code.
func run(t *testing.T, home string, args ...string) (string, string, int) {
	t.Helper()
	return runWith(t, home, opts{}, args...)
}

func runWith(t *testing.T, home string, o opts, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := gpmCmd(ctx, home, o, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok || ctx.Err() != nil {
			t.Fatalf("gpm %s: %v (ctx: %v)\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, ctx.Err(), stdout.String(), stderr.String())
		}
		code = ee.ExitCode()
	}
	return stdout.String(), stderr.String(), code
}

// gpmCmd prepares gpm with args against home; it does not start it.
func gpmCmd(ctx context.Context, home string, o opts, args ...string) *exec.Cmd {
	bin := o.bin
	if bin == "" {
		bin = gpmBin
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(environWithout(api.HomeEnv), api.HomeEnv+"="+home)
	cmd.Env = append(cmd.Env, o.env...)
	cmd.Dir = o.dir
	if cmd.Dir == "" {
		cmd.Dir = home
	}
	if o.stdin != "" {
		cmd.Stdin = strings.NewReader(o.stdin)
	}
	return cmd
}

// installExecutable copies src to dst, mode 0755, through install(1). Writing dst from this process would not do:
// a child that a parallel test forks at that moment holds the write descriptor until it execs, and exec'ing dst
// then fails with ETXTBSY (golang/go#22315; seen in TestControlSocketSecurity).
// installGPM installs gpm, gpmd (which the thin CLI runs for the daemon and process files) and gpmd-web into dir
// and returns gpm's path there.
func installGPM(t *testing.T, dir string) string {
	t.Helper()
	installExecutable(t, gpmdBin, filepath.Join(dir, "gpmd"))
	installExecutable(t, gpmdWebBin, filepath.Join(dir, "gpmd-web"))
	bin := filepath.Join(dir, "gpm")
	installExecutable(t, gpmBin, bin)
	return bin
}

func installExecutable(t *testing.T, src, dst string) {
	t.Helper()
	if out, err := exec.Command("install", "-m", "0755", src, dst).CombinedOutput(); err != nil {
		t.Fatalf("install %s: %v: %s", dst, err, out)
	}
}

func environWithout(keys ...string) []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		drop := false
		for _, key := range keys {
			drop = drop || k == key
		}
		if !drop {
			out = append(out, kv)
		}
	}
	return out
}

// mustRun runs gpm and fails the test unless it exits 0; it returns stdout.
func mustRun(t *testing.T, home string, args ...string) string {
	t.Helper()
	return mustRunWith(t, home, opts{}, args...)
}

func mustRunWith(t *testing.T, home string, o opts, args ...string) string {
	t.Helper()
	out, errOut, code := runWith(t, home, o, args...)
	if code != 0 {
		t.Fatalf("gpm %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// jlist decodes `gpm jlist`.
func jlist(t *testing.T, home string) []api.Process {
	t.Helper()
	out := mustRun(t, home, "jlist")
	var list []api.Process
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("gpm jlist: %v\n%s", err, out)
	}
	return list
}

// procs returns the processes named name, ordered by id.
func procs(t *testing.T, home, name string) []api.Process {
	t.Helper()
	var out []api.Process
	for _, p := range jlist(t, home) {
		if p.Name == name {
			out = append(out, p)
		}
	}
	return out
}

// one returns the single process named name.
func one(t *testing.T, home, name string) api.Process {
	t.Helper()
	ps := procs(t, home, name)
	if len(ps) != 1 {
		t.Fatalf("want exactly one process named %q, got %d: %+v", name, len(ps), ps)
	}
	return ps[0]
}

// waitFor polls cond every 20 ms until it holds, and fails the test after timeout.
func waitFor(t *testing.T, timeout time.Duration, cond func() bool, what string) {
	t.Helper()
	timeout = patient(timeout)
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// slowStart is the listen_timeout of tests whose apps must become ready but which do not measure how fast: Python
// workers took more than the default 3 s to say READY=1 on a machine busy with two CPU hogs and parallel tests.
const slowStart = "30s"

// patient stretches a wait for a condition: the waits below end as soon as the condition holds, so a long limit
// costs nothing when the machine is quiet, and a loaded CI machine (the suite must pass beside two CPU hogs) gets
// three times what a test asked for.
func patient(d time.Duration) time.Duration { return 3 * d }

// waitProc waits until the single process named name satisfies cond and returns it; on a timeout the failure
// shows the last state seen.
func waitProc(t *testing.T, home, name string, timeout time.Duration, what string, cond func(p api.Process) bool) api.Process {
	t.Helper()
	timeout = patient(timeout)
	var last api.Process
	var seen bool
	deadline := time.Now().Add(timeout)
	for {
		ps := procs(t, home, name)
		if len(ps) == 1 {
			last, seen = ps[0], true
			if cond(last) {
				return last
			}
		}
		if time.Now().After(deadline) {
			if !seen {
				t.Fatalf("timed out after %v waiting for %s: no single process %q (%d found)", timeout, what, name, len(ps))
			}
			t.Fatalf("timed out after %v waiting for %s: last seen status=%s pid=%d restarts=%d unstable=%d exit=%v reason=%q",
				timeout, what, last.Status, last.PID, last.Restarts, last.UnstableRestarts, exitCode(last), last.Reason)
		}
		// Each poll is a gpm process: at 20 ms, a dozen parallel tests would keep 2 cores busy with jlist alone.
		time.Sleep(50 * time.Millisecond)
	}
}

func exitCode(p api.Process) any {
	if p.ExitCode == nil {
		return nil
	}
	return *p.ExitCode
}

func isOnline(p api.Process) bool { return p.Status == api.StatusOnline && p.PID != 0 }

// waitOnline waits until the single process named name is online with a pid.
func waitOnline(t *testing.T, home, name string) api.Process {
	t.Helper()
	return waitProc(t, home, name, 10*time.Second, name+" online", isOnline)
}

// readFile returns the content of path, "" when it does not exist.
func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return string(b)
}

// lines returns the non-empty lines of s.
func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

// waitFileContains waits until path holds substr and returns its content.
func waitFileContains(t *testing.T, path, substr string) string {
	t.Helper()
	var s string
	waitFor(t, 10*time.Second, func() bool {
		s = readFile(t, path)
		return strings.Contains(s, substr)
	}, fmt.Sprintf("%s to contain %q", path, substr))
	return s
}

// readPids waits for a pid file written by a fixture ("A B ..." on one line) and returns its numbers.
func readPids(t *testing.T, path string) []int {
	t.Helper()
	var s string
	waitFor(t, 10*time.Second, func() bool { s = readFile(t, path); return strings.HasSuffix(s, "\n") }, path+" written")
	var out []int
	for _, f := range strings.Fields(s) {
		n, err := strconv.Atoi(f)
		if err != nil {
			t.Fatalf("%s: %q: %v", path, s, err)
		}
		out = append(out, n)
	}
	return out
}

// outLog is the default stdout log of a single-instance app.
func outLog(home, name string) string {
	return filepath.Join(home, api.LogsDir, name+"-out.log")
}

// envOf returns `gpm env ID` as a map.
func envOf(t *testing.T, home string, id int) map[string]string {
	t.Helper()
	out := mustRun(t, home, "env", strconv.Itoa(id))
	m := map[string]string{}
	for _, l := range lines(out) {
		if k, v, ok := strings.Cut(l, "="); ok {
			m[k] = v
		}
	}
	return m
}

// lastValue returns the value of the last "KEY=value" line in s.
func lastValue(s, key string) (string, bool) {
	v, found := "", false
	for _, l := range lines(s) {
		if after, ok := strings.CutPrefix(l, key+"="); ok {
			v, found = after, true
		}
	}
	return v, found
}

// countLines counts the lines of the file at path.
func countLines(t *testing.T, path string) int {
	t.Helper()
	return len(lines(readFile(t, path)))
}

// writeFile writes content to dir/name and returns its path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// startBackground starts gpm with args and returns the command and its stdout, safe to read while it runs.
func startBackground(t *testing.T, home string, args ...string) (*exec.Cmd, *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := gpmCmd(ctx, home, opts{}, args...)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, io.Discard
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		cmd.Wait()
	})
	return cmd, out
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
