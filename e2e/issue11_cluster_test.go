//go:build linux

package e2e

// Issue 11, the items of the cluster and activation code: sockets handed over blocking (12), LISTEN= accepted only
// from the Node shim with limits (3), supplementary groups of apps with a uid (16).

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gpmd/gpm/api"
)

// plainAcceptWorker is the README's promise at its plainest: a Python worker that wraps fd 3 as a socket and calls
// accept() on it, with no idea of blocking modes.
const plainAcceptWorker = `import os, socket
s = socket.socket(fileno=3)
print("accepting", flush=True)
while True:
    c, _ = s.accept()
    c.recv(4096)
    c.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\npid %d\n" % os.getpid())
    c.close()
`

// TestItem12SocketsHandedOverBlocking: workers get their sockets in blocking mode, as systemd hands them
// (NonBlocking= defaults to false): a plain accept() serves instead of raising BlockingIOError and crash-looping.
// non_blocking: true opts in to O_NONBLOCK.
func TestItem12SocketsHandedOverBlocking(t *testing.T) {
	t.Parallel()
	python := clusterPython(t)
	home := newHome(t)
	worker := writeFile(t, t.TempDir(), "plain.py", plainAcceptWorker)
	port := clusterPort(t)
	mustRun(t, home, "start", worker, "--interpreter", python, "--name", "plain", "-i", "2",
		"--listen", fmt.Sprintf("tcp://127.0.0.1:%d", port))
	ps := waitInstances(t, home, "plain", 2)
	for _, p := range ps {
		waitFileContains(t, filepath.Join(home, "logs", fmt.Sprintf("plain-out-%d.log", p.ID)), "accepting")
	}
	seen := clusterServe(t, fmt.Sprintf("http://127.0.0.1:%d/", port), 10)
	if len(seen) == 0 {
		t.Fatal("no answer")
	}
	for _, p := range procs(t, home, "plain") {
		if p.Restarts != 0 || p.Status != "online" {
			t.Errorf("id %d: status %s, %d restarts; want online with 0 (a non-blocking fd 3 makes accept() raise"+
				" BlockingIOError)", p.ID, p.Status, p.Restarts)
		}
		if f := socketFlags(t, p.PID, 3); f&syscall.O_NONBLOCK != 0 {
			t.Errorf("fd 3 of pid %d has O_NONBLOCK (flags %#o); want blocking by default", p.PID, f)
		}
	}

	// Opt-in: non_blocking: true in a process file.
	port2 := clusterPort(t)
	file := writeFile(t, t.TempDir(), "nb.json", fmt.Sprintf(`{"apps": [{"name": "nbopt", "script": %q,
		"interpreter": %q, "listen": ["tcp://127.0.0.1:%d"], "non_blocking": true}]}`, fixture("cluster/worker.py"), python, port2))
	mustRun(t, home, "start", file)
	p := waitOnline(t, home, "nbopt")
	if f := socketFlags(t, p.PID, 3); f&syscall.O_NONBLOCK == 0 {
		t.Errorf("non_blocking: true, but fd 3 of pid %d is blocking (flags %#o)", p.PID, f)
	}
}

// portBound reports whether something accepts connections on 127.0.0.1:port.
func portBound(port int) bool {
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// TestItem3ListenOnNotifySocketRefused: an app (here a Python app running as nobody) that sends LISTEN= on its
// NOTIFY_SOCKET does not get the root daemon to bind the port: only gpm's Node shim asks for ports, on its own
// stream.
func TestItem3ListenOnNotifySocketRefused(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs a daemon running as root, to run the app as nobody")
	}
	python := "/usr/bin/python3"
	if _, err := os.Stat(python); err != nil {
		t.Skip("needs " + python + ": an interpreter that uid 65534 can run")
	}
	t.Parallel()
	home := newHome(t)
	dir := publicDir(t)
	port := clusterPort(t)
	app := filepath.Join(dir, "grab.py")
	if err := os.WriteFile(app, []byte(fmt.Sprintf(`import os, socket, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.sendto(b"LISTEN=tcp://127.0.0.1:%d", os.environ["NOTIFY_SOCKET"])
s.sendto(b"READY=1", os.environ["NOTIFY_SOCKET"])
time.sleep(1000)
`, port)), 0o644); err != nil {
		t.Fatal(err)
	}
	// READY=1 comes after LISTEN= on the same socket: once the app is online, the daemon has handled LISTEN=.
	mustRun(t, home, "start", app, "--name", "grab", "--interpreter", python, "--uid", "nobody", "--cwd", dir,
		"--wait-ready", "--listen-timeout", "20000")
	daemonLog := filepath.Join(home, "gpm.log")
	waitFor(t, 10*time.Second, func() bool {
		return strings.Contains(readFile(t, daemonLog), "LISTEN= on NOTIFY_SOCKET refused") || portBound(port)
	}, "the daemon to refuse LISTEN= (or to bind the port)")
	if portBound(port) {
		t.Fatalf("an app's LISTEN= on NOTIFY_SOCKET made the daemon bind port %d", port)
	}
	if p := one(t, home, "grab"); p.Restarts != 0 || len(p.Config.Listen) != 0 {
		t.Errorf("grab: %d restarts, listen %v; want 0 and none", p.Restarts, p.Config.Listen)
	}
}

// TestItem3PrivilegedPortRefusedToNobody: a Node cluster app running as nobody that listens on a port below 1024
// does not get the root daemon to bind it; the shim then listens itself and the app sees EACCES, as without gpm.
func TestItem3PrivilegedPortRefusedToNobody(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs a daemon running as root, to run the app as nobody")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed")
	}
	t.Parallel()
	port := 0
	for p := 1023; p > 900 && port == 0; p-- {
		if ln, err := net.Listen("tcp", fmt.Sprintf(":%d", p)); err == nil {
			ln.Close()
			port = p
		}
	}
	if port == 0 {
		t.Skip("no free port below 1024")
	}
	home := newHome(t)
	dir := publicDir(t)
	app := filepath.Join(dir, "low.js")
	if err := os.WriteFile(app, []byte(fmt.Sprintf(`const server = require('http').createServer((q, r) => r.end('pid ' + process.pid));
server.on('error', (e) => console.log('listen error ' + e.code));
server.listen(%d);
setInterval(() => {}, 1000);
`, port)), 0o644); err != nil {
		t.Fatal(err)
	}
	mustRun(t, home, "start", app, "--name", "low", "--interpreter", node, "--uid", "nobody", "--cwd", dir, "-i", "2")
	daemonLog := filepath.Join(home, "gpm.log")
	waitFor(t, 15*time.Second, func() bool {
		return strings.Contains(readFile(t, daemonLog), "refused") || portBound(port)
	}, "the daemon to refuse the port (or to bind it)")
	if portBound(port) {
		t.Fatalf("a Node app running as nobody got the root daemon to bind port %d", port)
	}
	if s := readFile(t, daemonLog); !strings.Contains(s, fmt.Sprintf("port %d is privileged", port)) {
		t.Errorf("the daemon log does not say why:\n%s", s)
	}
	for _, p := range procs(t, home, "low") {
		waitFileContains(t, filepath.Join(home, "logs", fmt.Sprintf("low-out-%d.log", p.ID)), "listen error EACCES")
	}
}

// TestItem3NodeClusterStartsWithoutRestarts: `gpm start app.js -i 2` for a Node app that calls listen(PORT): gpm
// adopts the port and moves the workers onto it, which is not a restart: ↺ stays 0.
func TestItem3NodeClusterStartsWithoutRestarts(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is not installed")
	}
	t.Parallel()
	home := newHome(t)
	port := clusterPort(t)
	app := writeFile(t, t.TempDir(), "app.js", fmt.Sprintf(`const http = require('http');
const server = http.createServer((req, res) => res.end('pid ' + process.pid + '\n'));
server.listen(%d);
process.on('SIGINT', () => server.close(() => process.exit(0)));
`, port))
	mustRun(t, home, "start", app, "-i", "2")
	c := freshConnClient()
	answered := map[int]bool{}
	var ps []api.Process
	waitFor(t, 20*time.Second, func() bool {
		if pid, err := getWorkerPid(c, fmt.Sprintf("http://127.0.0.1:%d/", port)); err == nil {
			answered[pid] = true
		}
		ps = procs(t, home, "app")
		for _, p := range ps {
			if !isOnline(p) || !answered[p.PID] {
				return false
			}
		}
		return len(ps) == 2
	}, "both current workers answering on the adopted port")
	for _, p := range ps {
		if p.Restarts != 0 {
			t.Errorf("worker %d: %d restarts after start; want 0 (moving onto the adopted socket is no restart)", p.ID, p.Restarts)
		}
	}
}

// TestItem16SupplementaryGroups: an app started with a uid keeps the user's supplementary groups, as with
// systemd's User= (it had none: the groups of `id -G` were dropped).
func TestItem16SupplementaryGroups(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("switching users needs a daemon running as root")
	}
	// A user that is a member of some group besides its own.
	var name string
	for _, l := range strings.Split(readFile(t, "/etc/group"), "\n") {
		f := strings.Split(l, ":")
		if len(f) < 4 || f[3] == "" {
			continue
		}
		for _, m := range strings.Split(f[3], ",") {
			if m != "root" && m != "" && name == "" {
				if err := exec.Command("id", m).Run(); err == nil {
					name = m
				}
			}
		}
	}
	if name == "" {
		t.Skip("no user with supplementary groups in /etc/group")
	}
	want, err := exec.Command("id", "-G", name).Output()
	if err != nil {
		t.Fatal(err)
	}
	t.Parallel()
	home := newHome(t)
	dir := publicDir(t)
	script := filepath.Join(dir, "groups.sh")
	src := filepath.Join(t.TempDir(), "groups.sh")
	if err := os.WriteFile(src, []byte("#!/bin/sh\necho \"groups=$(id -G)\"\nexec sleep 1000\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	installExecutable(t, src, script)
	mustRun(t, home, "start", script, "--uid", name, "--cwd", dir)
	got := waitFileContains(t, outLog(home, "groups"), "groups=")
	if !strings.Contains(got, "groups="+strings.TrimSpace(string(want))) {
		t.Fatalf("app of %s says %q; want the groups of `id -G %s`: %s", name, strings.TrimSpace(got), name, want)
	}
}
