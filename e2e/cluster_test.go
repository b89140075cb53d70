//go:build linux

package e2e

// Cluster mode end to end (issue 3): gpm binds a socket once and hands it to every worker as fd 3 with LISTEN_FDS,
// workers say READY=1 on NOTIFY_SOCKET, and reload replaces them with no refused or failed request. The workers are
// real: a stdlib Python server (testdata/cluster/worker.py), a Go server that only knows go-systemd
// (testdata/cluster/goworker), a plain Node app (testdata/cluster/app.js); the load is real HTTP, one connection
// per request.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
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
)

// clusterPort returns a TCP port of 127.0.0.1 that was free a moment ago.
func clusterPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

var (
	clusterPythonOnce sync.Once
	clusterPythonPath string
	clusterPythonErr  error
)

// python returns the real python3 executable (not a pyenv shim, whose startup costs more than the test's workers
// do), or skips the test when there is none.
func clusterPython(t *testing.T) string {
	t.Helper()
	clusterPythonOnce.Do(func() {
		out, err := exec.Command("python3", "-c", "import sys; print(sys.executable)").Output()
		if err != nil {
			clusterPythonErr = err
			return
		}
		clusterPythonPath = strings.TrimSpace(string(out))
	})
	if clusterPythonPath == "" {
		t.Skipf("python3 not available: %v", clusterPythonErr)
	}
	return clusterPythonPath
}

var (
	clusterGoOnce sync.Once
	clusterGoBin  string
	clusterGoErr  error
)

// goWorker builds testdata/cluster/goworker once (a package main under testdata: go test ./... ignores it).
func clusterGoWorker(t *testing.T) string {
	t.Helper()
	clusterGoOnce.Do(func() {
		root, err := moduleRoot()
		if err != nil {
			clusterGoErr = err
			return
		}
		out := filepath.Join(binDir, "goworker")
		cmd := exec.Command("go", "build", "-o", out, "./e2e/testdata/cluster/goworker")
		cmd.Dir = root
		if b, err := cmd.CombinedOutput(); err != nil {
			clusterGoErr = fmt.Errorf("go build ./e2e/testdata/cluster/goworker: %v\n%s", err, b)
			return
		}
		clusterGoBin = out
	})
	if clusterGoErr != nil {
		t.Fatal(clusterGoErr)
	}
	return clusterGoBin
}

// clusterWorker is one kind of cluster worker: how to start it with gpm.
type clusterWorker struct {
	kind string
	args func(t *testing.T) []string // script and interpreter for `gpm start`
	app  func(t *testing.T) map[string]any
}

var pyClusterWorker = clusterWorker{
	kind: "python",
	args: func(t *testing.T) []string {
		return []string{fixture("cluster/worker.py"), "--interpreter", clusterPython(t)}
	},
	app: func(t *testing.T) map[string]any {
		return map[string]any{"script": fixture("cluster/worker.py"), "interpreter": clusterPython(t)}
	},
}

var goClusterWorker = clusterWorker{
	kind: "go",
	args: func(t *testing.T) []string { return []string{clusterGoWorker(t)} },
	app: func(t *testing.T) map[string]any {
		return map[string]any{"script": clusterGoWorker(t), "interpreter": "none"}
	},
}

// startSocketApp runs `gpm start` for w as name, listening on port, with extra flags; it fails the test unless
// the start succeeds.
func startSocketApp(t *testing.T, home string, w clusterWorker, name string, port int, extra ...string) {
	t.Helper()
	args := append([]string{"start"}, w.args(t)...)
	args = append(args, "--name", name, "--listen", fmt.Sprintf("tcp://127.0.0.1:%d", port))
	mustRun(t, home, append(args, extra...)...)
}

// writeClusterFile writes a process file with one socket app and returns its path.
func writeClusterFile(t *testing.T, home string, w clusterWorker, name string, port int, fields map[string]any) string {
	t.Helper()
	app := w.app(t)
	app["name"] = name
	app["listen"] = []string{fmt.Sprintf("tcp://127.0.0.1:%d", port)}
	for k, v := range fields {
		app[k] = v
	}
	b, err := json.MarshalIndent(map[string]any{"apps": []any{app}}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return writeFile(t, home, name+".json", string(b))
}

// freshConnClient makes every request on a new connection, so that each one goes through accept on the shared socket.
func freshConnClient() *http.Client {
	return &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: patient(10 * time.Second)}
}

// getWorkerPid GETs url and returns the pid the worker put in its answer ("pid N ...").
func getWorkerPid(c *http.Client, url string) (int, error) {
	resp, err := c.Get(url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, fmt.Errorf("read body: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("status %s: %q", resp.Status, body)
	}
	var pid int
	if _, err := fmt.Sscanf(string(body), "pid %d", &pid); err != nil {
		return 0, fmt.Errorf("body %q: %v", body, err)
	}
	return pid, nil
}

// clusterServe makes n requests to url and returns how many each pid answered; any failure fails the test.
func clusterServe(t *testing.T, url string, n int) map[int]int {
	t.Helper()
	c := freshConnClient()
	seen := map[int]int{}
	for i := 0; i < n; i++ {
		pid, err := getWorkerPid(c, url)
		if err != nil {
			t.Fatalf("request %d to %s: %v", i, url, err)
		}
		seen[pid]++
	}
	return seen
}

// load is a client that requests url from several goroutines in a loop, one connection per request, and counts.
type clusterLoad struct {
	ok   atomic.Int64
	stop chan struct{}
	wg   sync.WaitGroup
	once sync.Once

	mu      sync.Mutex
	failed  int
	samples []string // the first failures
	pids    map[int]int
}

func startClusterLoad(t *testing.T, url string, goroutines int) *clusterLoad {
	l := &clusterLoad{stop: make(chan struct{}), pids: map[int]int{}}
	c := freshConnClient()
	for i := 0; i < goroutines; i++ {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for {
				select {
				case <-l.stop:
					return
				default:
				}
				pid, err := getWorkerPid(c, url)
				l.mu.Lock()
				if err != nil {
					l.failed++
					if len(l.samples) < 10 {
						l.samples = append(l.samples, fmt.Sprintf("%s: %v", time.Now().Format("15:04:05.000"), err))
					}
				} else {
					l.pids[pid]++
				}
				l.mu.Unlock()
				if err == nil {
					l.ok.Add(1)
				}
			}
		}()
	}
	t.Cleanup(l.halt)
	return l
}

// halt stops the load and waits for the requests in flight.
func (l *clusterLoad) halt() {
	l.once.Do(func() { close(l.stop) })
	l.wg.Wait()
}

func (l *clusterLoad) failures() (int, []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.failed, append([]string(nil), l.samples...)
}

func (l *clusterLoad) seenPids() map[int]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return clusterCopyCounts(l.pids)
}

func clusterCopyCounts(m map[int]int) map[int]int {
	out := make(map[int]int, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// waitRequests waits until the load has made at least n successful requests.
func (l *clusterLoad) waitRequests(t *testing.T, n int64, timeout time.Duration) {
	t.Helper()
	waitFor(t, timeout, func() bool { return l.ok.Load() >= n }, fmt.Sprintf("%d successful requests (have %d)", n, l.ok.Load()))
}

// checkNoFailure halts the load and fails the test if any request failed; it returns the successful count.
func (l *clusterLoad) checkNoFailure(t *testing.T, what string) int64 {
	t.Helper()
	l.halt()
	n, samples := l.failures()
	ok := l.ok.Load()
	if n > 0 {
		t.Errorf("%s: %d of %d requests failed; first failures:\n  %s", what, n, int64(n)+ok, strings.Join(samples, "\n  "))
	}
	return ok
}

func clusterPids(ps []api.Process) []int {
	var out []int
	for _, p := range ps {
		out = append(out, p.PID)
	}
	slices.Sort(out)
	return out
}

// clusterHomeProcs returns the live processes of home, daemon included, sorted.
func clusterHomeProcs(home string) []int {
	out := leftovers([]string{home})
	slices.Sort(out)
	return out
}

// clusterDaemonPid reads the daemon's pid file.
func clusterDaemonPid(t *testing.T, home string) int {
	t.Helper()
	pid, err := strconv.Atoi(strings.TrimSpace(readFile(t, filepath.Join(home, api.PidName))))
	if err != nil {
		t.Fatalf("daemon pid file: %v", err)
	}
	return pid
}

// waitClusterProcs waits until the live processes of home are exactly the daemon and want: no worker left behind.
func waitClusterProcs(t *testing.T, home string, want []int, what string) {
	t.Helper()
	want = append([]int{clusterDaemonPid(t, home)}, want...)
	slices.Sort(want)
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := clusterHomeProcs(home)
		if slices.Equal(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: processes of the home are %s; want only the daemon and %v", what, describePids(got), want[1:])
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// 1. A stdlib Python worker on fd 3, four instances: all online once start returns, the kernel spreads the
// connections, and each worker's STATUS= shows in jlist and describe.
func TestClusterPython(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	port := clusterPort(t)
	startSocketApp(t, home, pyClusterWorker, "py", port, "-i", "4", "--wait-ready", "--listen-timeout", slowStart)
	// start waits for READY=1 with --wait-ready: nothing to wait for here.
	ps := procs(t, home, "py")
	if len(ps) != 4 {
		t.Fatalf("%d processes after start -i 4, want 4", len(ps))
	}
	for _, p := range ps {
		if !isOnline(p) {
			t.Errorf("id %d: status %s pid %d right after start --wait-ready, want online", p.ID, p.Status, p.PID)
		}
		if p.Mode != "cluster" {
			t.Errorf("id %d: exec mode %q, want cluster", p.ID, p.Mode)
		}
		if want := fmt.Sprintf("serving pid %d", p.PID); p.StatusText != want {
			t.Errorf("id %d: jlist status_text %q, want %q (the worker's STATUS=)", p.ID, p.StatusText, want)
		}
	}
	seen := clusterServe(t, fmt.Sprintf("http://127.0.0.1:%d/", port), 200)
	for pid := range seen {
		if !slices.Contains(clusterPids(ps), pid) {
			t.Errorf("answered by pid %d, not one of the workers %v", pid, clusterPids(ps))
		}
	}
	if len(seen) < 2 {
		t.Errorf("200 requests answered by %d worker(s) %v; want the accepts spread over more than one", len(seen), seen)
	}
	t.Logf("answers per pid: %v", seen)
	desc := mustRun(t, home, "describe", "py")
	for _, p := range ps {
		if want := fmt.Sprintf("serving pid %d", p.PID); !strings.Contains(desc, want) {
			t.Errorf("gpm describe py does not show the STATUS= of id %d (%q):\n%s", p.ID, want, desc)
			break
		}
	}

	// Idle again, every worker stops on its kill signal: socketserver polls the shared socket and accepts, which
	// must not block in accept(2) when another worker took the connection (the worker makes the socket
	// non-blocking: gpm hands it over blocking, as systemd does). Otherwise the stop ends in SIGKILL after kill_timeout, for the stop as for each reload.
	mustRun(t, home, "stop", "py")
	for _, p := range procs(t, home, "py") {
		if p.Status != api.StatusStopped || exitCode(p) != 0 || p.ExitSignal != "" {
			t.Errorf("id %d after an idle stop: status %s exit %v signal %q; want stopped, exit 0 on SIGINT (a SIGKILL means"+
				" the worker sat in a blocking accept(2) on the shared socket)", p.ID, p.Status, exitCode(p), p.ExitSignal)
		}
	}
}

// socketFlags returns the file status flags of fd in process pid (the open file description's, from fdinfo).
func socketFlags(t *testing.T, pid, fd int) int {
	t.Helper()
	info := readFile(t, fmt.Sprintf("/proc/%d/fdinfo/%d", pid, fd))
	for _, l := range lines(info) {
		if v, ok := strings.CutPrefix(l, "flags:"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 8, 64)
			if err != nil {
				t.Fatalf("fdinfo of pid %d fd %d: %q: %v", pid, fd, l, err)
			}
			return int(n)
		}
	}
	t.Fatalf("no flags in /proc/%d/fdinfo/%d: %q", pid, fd, info)
	return 0
}

// Workers share one open file description of the socket, so its O_NONBLOCK is theirs: a Go worker sets it
// (net.FileListener), a careful Python worker sets it (socket.setblocking(False)) so that a poll won by another
// worker does not leave it blocked in accept(2). Starting another worker must not clear it under the running
// ones. (A worker blocked in accept(2) does not stop on its kill signal until a connection comes: an idle stop or
// reload ends in SIGKILL after kill_timeout, as TestClusterPython shows.)
func TestClusterSocketModeKept(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	port := clusterPort(t)
	args := append(append([]string{"start"}, pyClusterWorker.args(t)...), "--name", "nb", "--listen",
		fmt.Sprintf("tcp://127.0.0.1:%d", port), "--wait-ready", "--listen-timeout", slowStart)
	mustRunWith(t, home, opts{env: []string{"NONBLOCK_INSTANCE=0"}}, args...)
	first := one(t, home, "nb")
	if socketFlags(t, first.PID, 3)&syscall.O_NONBLOCK == 0 {
		t.Fatalf("instance 0 set its socket non-blocking, but fd 3 of pid %d has no O_NONBLOCK", first.PID)
	}
	mustRun(t, home, "scale", "nb", "2")
	waitInstances(t, home, "nb", 2)
	if f := socketFlags(t, first.PID, 3); f&syscall.O_NONBLOCK == 0 {
		t.Errorf("starting instance 1 cleared O_NONBLOCK on the socket instance 0 (pid %d) set (flags now %#o): the daemon"+
			" must hand the socket over without changing the mode of the description the workers share", first.PID, f)
	}
}

// 2. A Go worker that only knows go-systemd: it finds its listener (and its name), says READY=1, and a stop lets
// the request in flight finish (http.Server.Shutdown on SIGINT) and exit 0.
func TestClusterGo(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	port := clusterPort(t)
	bin := clusterGoWorker(t)
	mustRun(t, home, "start", bin, "--name", "gow", "--listen", fmt.Sprintf("web=tcp://127.0.0.1:%d", port), "-i", "2", "--wait-ready", "--listen-timeout", slowStart)
	ps := procs(t, home, "gow")
	if len(ps) != 2 {
		t.Fatalf("%d processes after start -i 2, want 2", len(ps))
	}
	for _, p := range ps {
		if !isOnline(p) {
			t.Errorf("id %d: status %s right after start --wait-ready, want online", p.ID, p.Status)
		}
		if !strings.HasPrefix(p.StatusText, fmt.Sprintf("serving pid %d on 127.0.0.1:%d", p.PID, port)) {
			t.Errorf("id %d: status_text %q, want the worker's STATUS=", p.ID, p.StatusText)
		}
	}
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	seen := clusterServe(t, url, 100)
	if len(seen) < 2 {
		t.Errorf("100 requests answered by %d worker(s) %v; want both", len(seen), seen)
	}
	for pid := range seen {
		if !slices.Contains(clusterPids(ps), pid) {
			t.Errorf("answered by pid %d, not one of the workers %v", pid, clusterPids(ps))
		}
	}
	resp, err := freshConnClient().Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), " name web\n") {
		t.Errorf("the worker saw LISTEN_FDNAMES %q, want the socket's name web", body)
	}

	// A request in flight when the stop comes is finished, not cut.
	resp, err = freshConnClient().Get(fmt.Sprintf("http://127.0.0.1:%d/slow", port))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var slowBody []byte
	var slowErr error
	go func() {
		defer close(done)
		defer resp.Body.Close()
		slowBody, slowErr = io.ReadAll(resp.Body)
	}()
	mustRun(t, home, "stop", "gow")
	<-done
	if slowErr != nil || !strings.HasPrefix(string(slowBody), "pid ") {
		t.Errorf("request in flight during stop: body %q, err %v; want it finished", slowBody, slowErr)
	}
	for _, p := range procs(t, home, "gow") {
		if p.Status != api.StatusStopped || exitCode(p) != 0 || p.ExitSignal != "" {
			t.Errorf("id %d after stop: status %s exit %v signal %q; want stopped, exit 0 (a graceful shutdown, not SIGKILL)",
				p.ID, p.Status, exitCode(p), p.ExitSignal)
		}
	}
}

// reloadUnderLoad reloads the 4-worker app name (listening on port) once per command of reloads, under continuous
// load: no request may fail, and every worker pid must change at each reload.
func reloadUnderLoad(t *testing.T, home, name string, port int, reloads [][]string) {
	t.Helper()
	ps := waitInstances(t, home, name, 4)
	prev := clusterPids(ps)
	all := slices.Clone(prev)
	l := startClusterLoad(t, fmt.Sprintf("http://127.0.0.1:%d/", port), 8)
	l.waitRequests(t, 50, 10*time.Second)
	var duringAll int64
	for i, args := range reloads {
		before := l.ok.Load()
		out, errOut, code := run(t, home, args...)
		during := l.ok.Load() - before
		if code != 0 {
			l.halt()
			n, samples := l.failures()
			t.Fatalf("reload %d (gpm %s): exit %d\nstdout: %s\nstderr: %s\n(%d requests failed so far: %v)", i+1,
				strings.Join(args, " "), code, out, errOut, n, samples)
		}
		ps := procs(t, home, name)
		cur := clusterPids(ps)
		for _, p := range ps {
			if !isOnline(p) {
				t.Errorf("reload %d: id %d is %s (pid %d) when reload returned, want online", i+1, p.ID, p.Status, p.PID)
			}
		}
		if len(cur) != 4 {
			t.Fatalf("reload %d: %d processes, want 4", i+1, len(cur))
		}
		for _, pid := range cur {
			if slices.Contains(prev, pid) {
				t.Errorf("reload %d: pid %d is still a worker (before %v, after %v); every pid must change", i+1, pid, prev, cur)
			}
		}
		t.Logf("reload %d: pids %v -> %v, %d requests served while it ran", i+1, prev, cur, during)
		duringAll += during
		prev = cur
		all = append(all, cur...)
	}
	if duringAll == 0 {
		t.Errorf("no request was served while the reloads ran: the load did not run concurrently with them")
	}
	l.waitRequests(t, 2000, 30*time.Second)
	total := l.checkNoFailure(t, "reload under load")
	for pid := range l.seenPids() {
		if !slices.Contains(all, pid) {
			t.Errorf("answered by pid %d, which never was a worker of %s (%v)", pid, name, all)
		}
	}
	t.Logf("%d successful requests, answered by %d distinct workers", total, len(l.seenPids()))
	// The replaced workers exit on their own (kill signal, then kill_timeout): only the daemon and the last 4 remain.
	waitClusterProcs(t, home, prev, "after the reloads")
}

func reloadCmds(name string, extra ...string) [][]string {
	cmd := append([]string{"reload", name}, extra...)
	return [][]string{cmd, cmd, cmd}
}

// 3. Reload a 4-worker app 3 times under load: zero failed requests, every pid changed.
func TestReloadUnderLoadPython(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	port := clusterPort(t)
	startSocketApp(t, home, pyClusterWorker, "pyr", port, "-i", "4", "--wait-ready", "--listen-timeout", slowStart)
	reloadUnderLoad(t, home, "pyr", port, reloadCmds("pyr"))
}

func TestReloadUnderLoadGo(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	port := clusterPort(t)
	startSocketApp(t, home, goClusterWorker, "gor", port, "-i", "4", "--wait-ready", "--listen-timeout", slowStart)
	reloadUnderLoad(t, home, "gor", port, reloadCmds("gor"))
}

// The same with workers that need 2 s before they are ready, from a process file (listen: and env:), replaced two
// at a time; the last reload goes through startOrReload FILE.
func reloadSlow(t *testing.T, w clusterWorker, name string) {
	home := newHome(t)
	port := clusterPort(t)
	file := writeClusterFile(t, home, w, name, port, map[string]any{
		"instances": 4, "wait_ready": true, "listen_timeout": slowStart, "env": map[string]string{"READY_DELAY": "2"},
	})
	mustRun(t, home, "startOrReload", file)
	ps := procs(t, home, name)
	if len(ps) != 4 {
		t.Fatalf("%d processes after startOrReload, want 4", len(ps))
	}
	for _, p := range ps {
		if !isOnline(p) {
			t.Errorf("id %d: %s right after startOrReload of a wait_ready app, want online", p.ID, p.Status)
		}
		if p.Config.ListenTimeout.D() != 30*time.Second {
			t.Errorf("id %d: listen_timeout %v, want %s from the file", p.ID, p.Config.ListenTimeout.D(), slowStart)
		}
	}
	cmds := reloadCmds(name, "--parallel", "2")
	cmds[2] = []string{"startOrReload", file, "--parallel", "2"}
	reloadUnderLoad(t, home, name, port, cmds)
}

func TestReloadUnderLoadSlowPython(t *testing.T) {
	t.Parallel()
	reloadSlow(t, pyClusterWorker, "pyslow")
}

func TestReloadUnderLoadSlowGo(t *testing.T) {
	t.Parallel()
	reloadSlow(t, goClusterWorker, "goslow")
}

// 4. A reload whose new worker never becomes ready fails: non-zero exit naming the worker, the old workers keep
// serving with the same pids, and the new worker does not linger.
func TestReloadNeverReady(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	port := clusterPort(t)
	// 8 s: long enough for two Python workers to start on a loaded machine, and the time the failing reload waits.
	startSocketApp(t, home, pyClusterWorker, "stuck", port, "-i", "2", "--wait-ready", "--listen-timeout", "8s")
	ps := waitInstances(t, home, "stuck", 2)
	old := clusterPids(ps)
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	l := startClusterLoad(t, url, 4)
	l.waitRequests(t, 20, 10*time.Second)

	out, errOut, code := runWith(t, home, opts{env: []string{"READY_DELAY=60"}}, "reload", "stuck", "--update-env")
	if code == 0 {
		t.Fatalf("gpm reload of a worker that never becomes ready exited 0\nstdout: %s\nstderr: %s", out, errOut)
	}
	first := fmt.Sprintf("stuck (id %d)", ps[0].ID)
	if !strings.Contains(errOut, first) {
		t.Errorf("reload stderr does not name the worker %q:\n%s", first, errOut)
	}
	if !strings.Contains(errOut, "listen_timeout") {
		t.Errorf("reload stderr does not give the reason (listen_timeout):\n%s", errOut)
	}
	t.Logf("reload: exit %d, stderr: %s", code, strings.TrimSpace(errOut))

	after := procs(t, home, "stuck")
	if got := clusterPids(after); !slices.Equal(got, old) {
		t.Errorf("worker pids after the failed reload %v, want the old ones %v", got, old)
	}
	for _, p := range after {
		if !isOnline(p) {
			t.Errorf("id %d after the failed reload: %s, want online (the old worker keeps serving)", p.ID, p.Status)
		}
	}
	seen := clusterServe(t, url, 50)
	for pid := range seen {
		if !slices.Contains(old, pid) {
			t.Errorf("after the failed reload, pid %d answered; want only the old workers %v", pid, old)
		}
	}
	l.waitRequests(t, l.ok.Load()+20, 10*time.Second)
	l.checkNoFailure(t, "during the failed reload")
	waitClusterProcs(t, home, old, "after the failed reload")
}

// 5. Scaling a socket app up and down under load drops no request.
func TestScaleSocketUnderLoad(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	port := clusterPort(t)
	startSocketApp(t, home, pyClusterWorker, "sc", port, "-i", "2", "--wait-ready", "--listen-timeout", slowStart)
	waitInstances(t, home, "sc", 2)
	l := startClusterLoad(t, fmt.Sprintf("http://127.0.0.1:%d/", port), 8)
	l.waitRequests(t, 50, 10*time.Second)
	for _, step := range []struct {
		arg  string
		want int
	}{{"4", 4}, {"1", 1}, {"+2", 3}, {"-1", 2}} {
		before := l.ok.Load()
		mustRun(t, home, "scale", "sc", step.arg)
		ps := waitInstances(t, home, "sc", step.want)
		l.waitRequests(t, l.ok.Load()+50, 10*time.Second)
		t.Logf("scale %s: %d workers %v, %d requests since the scale began", step.arg, step.want, clusterPids(ps), l.ok.Load()-before)
	}
	l.waitRequests(t, 1000, 30*time.Second)
	total := l.checkNoFailure(t, "scale under load")
	t.Logf("%d successful requests", total)
	waitClusterProcs(t, home, clusterPids(procs(t, home, "sc")), "after scaling")
}

// 6. A start with --wait-ready whose worker never says READY=1 fails: non-zero exit naming it, status errored,
// reason listen_timeout, and no worker left running.
func TestClusterStartNeverReady(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	port := clusterPort(t)
	args := append(append([]string{"start"}, pyClusterWorker.args(t)...), "--name", "mute", "--listen",
		fmt.Sprintf("tcp://127.0.0.1:%d", port), "-i", "2", "--wait-ready", "--listen-timeout", "1s")
	out, errOut, code := runWith(t, home, opts{env: []string{"READY_DELAY=60"}}, args...)
	if code == 0 {
		t.Fatalf("start of workers that never say READY=1 exited 0\nstdout: %s\nstderr: %s", out, errOut)
	}
	ps := procs(t, home, "mute")
	if len(ps) != 2 {
		t.Fatalf("%d processes, want 2", len(ps))
	}
	for _, p := range ps {
		if name := fmt.Sprintf("mute (id %d)", p.ID); !strings.Contains(errOut, name) {
			t.Errorf("start stderr does not name %q:\n%s", name, errOut)
		}
		if p.Status != api.StatusErrored {
			t.Errorf("id %d: status %s, want errored", p.ID, p.Status)
		}
		if !strings.Contains(p.Reason, "listen_timeout") {
			t.Errorf("id %d: reason %q, want it to mention listen_timeout", p.ID, p.Reason)
		}
	}
	waitClusterProcs(t, home, nil, "after the failed start")
}

// socketActivate finds systemd-socket-activate.
func socketActivateBin() string {
	if p, err := exec.LookPath("systemd-socket-activate"); err == nil {
		return p
	}
	for _, p := range []string{"/usr/lib/systemd/systemd-socket-activate", "/lib/systemd/systemd-socket-activate"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// 7. systemd-socket-activate starts `gpm daemon` with a named fd (as a .socket unit with FileDescriptorName=web
// would); `--listen systemd:web` hands that very socket to the workers.
func TestSocketActivateDaemon(t *testing.T) {
	t.Parallel()
	tool := socketActivateBin()
	if tool == "" {
		t.Skip("systemd-socket-activate not found (on PATH, /usr/lib/systemd, /lib/systemd): install the systemd package")
	}
	home := newHome(t)
	port := clusterPort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, tool, "-l", addr, "--fdname=web", "-E", api.HomeEnv+"="+home,
		"-E", "PATH="+os.Getenv("PATH"), gpmBin, "daemon")
	logs := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Before newHome's cleanup: stop the daemon through gpm, then reap systemd-socket-activate (the same
		// process, after its exec).
		run(t, home, "kill")
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			t.Errorf("gpm daemon under systemd-socket-activate (pid %d) did not exit after gpm kill; log:\n%s", cmd.Process.Pid, logs.String())
			cancel()
			<-exited
		}
		cancel()
	})

	// Without --accept, the tool execs its program at the first connection: make it, with a request on it, which
	// must be answered once the app serves (it waits in the socket's backlog meanwhile).
	var first net.Conn
	waitFor(t, 10*time.Second, func() bool {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return false
		}
		first = c
		return true
	}, "systemd-socket-activate listening on "+addr)
	defer first.Close()
	fmt.Fprintf(first, "GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", addr)
	var version string
	waitFor(t, 10*time.Second, func() bool {
		// `gpm version` asks a running daemon only; it never starts one.
		version, _, _ = run(t, home, "version")
		return strings.Contains(version, "daemon ")
	}, "gpm daemon started by systemd-socket-activate to answer\n"+logs.String())
	if want := fmt.Sprintf("pid %d", cmd.Process.Pid); !strings.Contains(version, want) {
		t.Fatalf("the daemon that answers is not the one systemd-socket-activate started (%s): %s", want, version)
	}

	out, errOut, code := run(t, home, "start", clusterGoWorker(t), "--name", "sys", "--listen", "systemd:web", "-i", "2", "--wait-ready", "--listen-timeout", slowStart)
	if code != 0 {
		t.Fatalf("gpm start --listen systemd:web: exit %d; the daemon must take the fd named web from LISTEN_FDS and keep it"+
			" for the app that asks for it\nstdout: %s\nstderr: %s\ndaemon log:\n%s", code, out, errOut, logs.String())
	}
	ps := waitInstances(t, home, "sys", 2)
	first.SetDeadline(time.Now().Add(10 * time.Second))
	status, err := bufio.NewReader(first).ReadString('\n')
	if err != nil || !strings.Contains(status, " 200 ") {
		t.Errorf("the connection that woke the daemon got %q, %v; want it answered by a worker", status, err)
	}
	seen := clusterServe(t, "http://"+addr+"/", 100)
	for pid := range seen {
		if !slices.Contains(clusterPids(ps), pid) {
			t.Errorf("answered by pid %d, not one of the workers %v", pid, clusterPids(ps))
		}
	}
	if len(seen) < 2 {
		t.Errorf("100 requests answered by %d worker(s) %v; want both", len(seen), seen)
	}
	resp, err := freshConnClient().Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), " name web\n") {
		t.Errorf("worker answered %q; want the fd named web (LISTEN_FDNAMES)", body)
	}
}

// 8. A plain Node app that calls server.listen(PORT), clustered with --listen: gpm's preloaded shim turns the
// listen into a listen on the inherited fd.
func TestClusterNode(t *testing.T) {
	t.Parallel()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not on PATH")
	}
	home := newHome(t)
	port := clusterPort(t)
	// PORT is the port the app was written to listen on; gpm holds it, so without the shim the app cannot bind it.
	_, errOut, code := runWith(t, home, opts{env: []string{"PORT=" + strconv.Itoa(port)}}, "start", fixture("cluster/app.js"),
		"--interpreter", node, "--name", "nodeapp", "--listen", fmt.Sprintf("tcp://127.0.0.1:%d", port), "-i", "2")
	if code != 0 {
		t.Fatalf("gpm start app.js --listen -i 2: exit %d: %s", code, errOut)
	}
	ps := waitInstances(t, home, "nodeapp", 2)
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 3 * time.Second}
	seen := map[int]int{}
	var lastErr error
	deadline := time.Now().Add(10 * time.Second)
	for len(seen) < 2 && time.Now().Before(deadline) {
		pid, err := getWorkerPid(c, fmt.Sprintf("http://127.0.0.1:%d/", port))
		if err != nil {
			lastErr = err
			time.Sleep(50 * time.Millisecond)
			continue
		}
		seen[pid]++
	}
	if len(seen) < 2 {
		env := envOf(t, home, ps[0].ID)
		errLog := readFile(t, filepath.Join(home, api.LogsDir, fmt.Sprintf("nodeapp-error-%d.log", ps[0].ID)))
		if len(errLog) > 1500 {
			errLog = errLog[len(errLog)-1500:]
		}
		t.Fatalf("requests to the --listen port answered by %d node worker(s) %v (last error: %v); the Node shim"+
			" (NODE_OPTIONS=--require ...) should turn listen(PORT) into a listen on fd 3.\nNODE_OPTIONS of id %d: %q\n"+
			"processes now: %+v\nerror log of id %d (tail):\n%s", len(seen), seen, lastErr, ps[0].ID, env["NODE_OPTIONS"],
			clusterPids(procs(t, home, "nodeapp")), ps[0].ID, errLog)
	}
	for pid := range seen {
		if !slices.Contains(clusterPids(procs(t, home, "nodeapp")), pid) {
			t.Errorf("answered by pid %d, not a worker of nodeapp", pid)
		}
	}
}
