//go:build linux

package e2e

// Issue 11, the items of the cluster and activation code: sockets handed over blocking (12), LISTEN= accepted only
// from the Node shim with limits (3), supplementary groups of apps with a uid (16).

import (
	"fmt"
	"path/filepath"
	"syscall"
	"testing"
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
