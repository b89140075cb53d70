//go:build linux

package e2e

// Issue 14, cluster mode for Node apps on a fixed port (items 8, 9): a process file whose Node app listens on a
// fixed port with several instances starts, reloads and deploys (startOrReload) with no restart and no failed
// request; two apps of one file share a port; the mode shown is cluster where workers share a socket.

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gpmd/gpm/api"
)

// nodeOrSkip returns node's path, or skips the test.
func nodeOrSkip(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed")
	}
	return node
}

// nodeServer writes srv.js into dir: PM2's usual app, an HTTP server on a fixed port that answers with its pid
// and closes on SIGINT.
func nodeServer(t *testing.T, dir string, port int) string {
	t.Helper()
	return writeFile(t, dir, "srv.js", fmt.Sprintf(`const http = require('http');
const server = http.createServer((req, res) => res.end('pid ' + process.pid + '\n'));
server.listen(%d);
process.on('SIGINT', () => server.close(() => process.exit(0)));
`, port))
}

// writeEco writes apps as dir/eco.json and returns its path.
func writeEco(t *testing.T, dir string, apps ...map[string]any) string {
	t.Helper()
	b, err := json.Marshal(map[string]any{"apps": apps})
	if err != nil {
		t.Fatal(err)
	}
	return writeFile(t, dir, "eco.json", string(b))
}

// waitServing waits until n workers of name are online and each answered on port.
func waitServing(t *testing.T, home, name string, n, port int) []api.Process {
	t.Helper()
	c := freshConnClient()
	answered := map[int]bool{}
	var ps []api.Process
	waitFor(t, 20*time.Second, func() bool {
		if pid, err := getWorkerPid(c, fmt.Sprintf("http://127.0.0.1:%d/", port)); err == nil {
			answered[pid] = true
		}
		ps = procs(t, home, name)
		for _, p := range ps {
			if !isOnline(p) || !answered[p.PID] {
				return false
			}
		}
		return len(ps) == n
	}, fmt.Sprintf("%d workers of %s answering on port %d", n, name, port))
	return ps
}

// TestNodeClusterFileReload_Issue14Item8: srv.js on a fixed port with instances: 2 in eco.json starts with ↺ 0,
// and `reload eco.json` and `startOrReload eco.json` work on the port gpm adopted (they said "listen changed from
// [tcp://:PORT] to []").
func TestNodeClusterFileReload_Issue14Item8(t *testing.T) {
	nodeOrSkip(t)
	t.Parallel()
	home := newHome(t)
	port := clusterPort(t)
	dir := t.TempDir()
	nodeServer(t, dir, port)
	eco := writeEco(t, dir, map[string]any{"name": "srv", "script": "srv.js", "instances": 2})
	mustRun(t, home, "start", eco)
	for _, p := range waitServing(t, home, "srv", 2, port) {
		if p.Restarts != 0 {
			t.Errorf("id %d: ↺ %d after start, want 0", p.ID, p.Restarts)
		}
	}
	for _, cmd := range []string{"reload", "startOrReload"} {
		before := clusterPids(procs(t, home, "srv"))
		mustRun(t, home, cmd, eco)
		after := waitServing(t, home, "srv", 2, port)
		for _, pid := range clusterPids(after) {
			if slices.Contains(before, pid) {
				t.Errorf("%s: pid %d still a worker (%v -> %v): the workers were not replaced", cmd, pid, before, clusterPids(after))
			}
		}
	}
	// save writes the app as the file has it: the adopted port is asked for again after resurrect.
	mustRun(t, home, "save")
	var d struct {
		Apps []struct {
			Config struct {
				Listen []string `json:"listen"`
			} `json:"config"`
		} `json:"apps"`
	}
	if err := json.Unmarshal([]byte(readFile(t, filepath.Join(home, "dump.json"))), &d); err != nil {
		t.Fatal(err)
	}
	if len(d.Apps) != 1 || len(d.Apps[0].Config.Listen) != 0 {
		t.Errorf("dump.json: %+v; want one app without the adopted listen", d.Apps)
	}
}

// TestNodeClusterDeployLoop_Issue14Item8: PM2 users deploy with `startOrReload eco.json`: three of them under
// continuous HTTP load, no failed request, ↺ 0 after the first start and one per reload after (PM2's count).
func TestNodeClusterDeployLoop_Issue14Item8(t *testing.T) {
	nodeOrSkip(t)
	t.Parallel()
	home := newHome(t)
	port := clusterPort(t)
	dir := t.TempDir()
	nodeServer(t, dir, port)
	eco := writeEco(t, dir, map[string]any{"name": "web", "script": "srv.js", "instances": 2})
	mustRun(t, home, "startOrReload", eco)
	for _, p := range waitServing(t, home, "web", 2, port) {
		if p.Restarts != 0 {
			t.Errorf("id %d: ↺ %d after the first start, want 0", p.ID, p.Restarts)
		}
	}
	l := startClusterLoad(t, fmt.Sprintf("http://127.0.0.1:%d/", port), 4)
	l.waitRequests(t, 50, 10*time.Second)
	for i := 1; i <= 3; i++ {
		if out, errOut, code := run(t, home, "startOrReload", eco); code != 0 {
			l.halt()
			n, samples := l.failures()
			t.Fatalf("deploy %d: startOrReload: exit %d\n%s%s\n(%d requests failed: %v)", i, code, out, errOut, n, samples)
		}
		for _, p := range procs(t, home, "web") {
			if !isOnline(p) || p.Restarts != i {
				t.Errorf("deploy %d: id %d is %s with ↺ %d; want online with ↺ %d", i, p.ID, p.Status, p.Restarts, i)
			}
		}
	}
	l.waitRequests(t, l.ok.Load()+50, 10*time.Second)
	l.checkNoFailure(t, "deploy loop")
}

// TestTwoAppsOneNodePort_Issue14Item8: PM2's homogen fixture, two apps of one file on the same port (2 + 4
// workers): both run, sharing the one socket gpm holds for the address (one app's workers ended errored with
// "address already in use"); deleting one app leaves the other serving on it.
func TestTwoAppsOneNodePort_Issue14Item8(t *testing.T) {
	nodeOrSkip(t)
	t.Parallel()
	home := newHome(t)
	port := clusterPort(t)
	dir := t.TempDir()
	nodeServer(t, dir, port)
	eco := writeEco(t, dir,
		map[string]any{"name": "child", "script": "srv.js", "instances": 2, "exec_mode": "cluster"},
		map[string]any{"name": "child2", "script": "srv.js", "instances": 4, "exec_mode": "cluster"})
	mustRun(t, home, "start", eco)
	waitFor(t, 20*time.Second, func() bool {
		all := jlist(t, home)
		online := 0
		for _, p := range all {
			// A worker that lost the port exits and is restarted, or ends errored.
			if p.Restarts != 0 || p.Status == api.StatusErrored {
				t.Fatalf("%s id %d: %s, ↺ %d, reason %q: a worker lost the port; its logs:\n%s\n%s", p.Name, p.ID, p.Status,
					p.Restarts, p.Reason, readFile(t, p.OutLog), readFile(t, p.ErrLog))
			}
			// Online and moved onto gpm's socket (the adoption reload sets the listen).
			if isOnline(p) && len(p.Config.Listen) == 1 {
				online++
			}
		}
		return online == 6
	}, "6 workers online on the shared port")
	for _, f := range []string{"child-error-0.log", "child2-error-2.log"} {
		if s := readFile(t, filepath.Join(home, api.LogsDir, f)); strings.Contains(s, "EADDRINUSE") {
			t.Errorf("%s: %s", f, s)
		}
	}
	mustRun(t, home, "delete", "child")
	child2 := clusterPids(procs(t, home, "child2"))
	seen := clusterServe(t, fmt.Sprintf("http://127.0.0.1:%d/", port), 20)
	for pid := range seen {
		if !slices.Contains(child2, pid) {
			t.Errorf("answered by pid %d, not a worker of child2 %v", pid, child2)
		}
	}
}

// TestNodeClusterMode_Issue14Item9: a Node app with -i 2 shows mode cluster from its start, before its workers
// ask for a port (it showed fork until then); a Python app with -i 2 and no listen is two fork processes, as under
// PM2; exec_mode: cluster in a file keeps working.
func TestNodeClusterMode_Issue14Item9(t *testing.T) {
	nodeOrSkip(t)
	t.Parallel()
	home := newHome(t)
	dir := t.TempDir()
	writeFile(t, dir, "tick.js", "setInterval(() => {}, 1000);\n")
	writeFile(t, dir, "ptick.py", "import time\nwhile True: time.sleep(1)\n")
	mustRunWith(t, home, opts{dir: dir}, "start", "tick.js", "-i", "2")
	mustRunWith(t, home, opts{dir: dir}, "start", "ptick.py", "-i", "2")
	eco := writeEco(t, dir, map[string]any{"name": "one", "script": "tick.js", "exec_mode": "cluster"})
	mustRun(t, home, "start", eco)
	for _, p := range jlist(t, home) {
		w := "cluster"
		if strings.HasSuffix(p.Config.Script, ".py") {
			w = "fork"
		}
		if p.Mode != w {
			t.Errorf("%s (%s) id %d: mode %q, want %q", p.Name, filepath.Base(p.Config.Script), p.ID, p.Mode, w)
		}
	}
	out := mustRun(t, home, "ls")
	if !strings.Contains(out, "cluster") || !strings.Contains(out, "fork") {
		t.Errorf("gpm ls shows no cluster and fork modes:\n%s", out)
	}
}
