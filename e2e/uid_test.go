//go:build linux

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// publicDir is a 0755 directory that uid 65534 can reach, outside the (0700) test temp dirs; removed after the test.
func publicDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "gpm-uid-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestRunAsUser starts an app as another user, which a daemon running as root may do (uid/gid fields, --uid).
func TestRunAsUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("switching users needs a daemon running as root")
	}
	t.Parallel()
	home := newHome(t)
	dir := publicDir(t)
	script := filepath.Join(dir, "whoami.sh")
	src := filepath.Join(t.TempDir(), "whoami.sh")
	if err := os.WriteFile(src, []byte("#!/bin/sh\necho \"uid=$(id -u) gid=$(id -g) home=$HOME user=$USER logname=$LOGNAME\"\nexec sleep 1000\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	installExecutable(t, src, script)
	mustRun(t, home, "start", script, "--uid", "65534", "--gid", "65534", "--cwd", dir)
	p := waitOnline(t, home, "whoami")
	status := readFile(t, "/proc/"+strconv.Itoa(p.PID)+"/status")
	for _, l := range strings.Split(status, "\n") {
		if strings.HasPrefix(l, "Uid:") && strings.Fields(l)[1] != "65534" {
			t.Fatalf("app runs with %s, want uid 65534", l)
		}
	}
	u, err := user.LookupId("65534")
	if err != nil {
		t.Fatal(err)
	}
	// HOME, USER and LOGNAME are the user's, not the root caller's (as su and systemd's User= set them).
	want := fmt.Sprintf("uid=65534 gid=65534 home=%s user=%s logname=%s", u.HomeDir, u.Username, u.Username)
	if got := waitFileContains(t, outLog(home, "whoami"), "uid="); !strings.Contains(got, want) {
		t.Fatalf("app says %q, want %q", got, want)
	}
	if _, stderr, code := run(t, home, "start", script, "--name", "bad", "--uid", "no-such-user-xyz"); code == 0 || !strings.Contains(stderr, "no-such-user-xyz") {
		t.Fatalf("unknown user: exit %d, %q; want a failure naming the user", code, stderr)
	}
}

// TestRunAsUserReadiness: apps running as another user reach a NOTIFY_SOCKET (GPM_HOME, where the daemon's own is,
// is 0700), one that only their uid may use, and Node apps load gpm's shim and report ready through it.
func TestRunAsUserReadiness(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("switching users needs a daemon running as root")
	}
	python := "/usr/bin/python3"
	if _, err := os.Stat(python); err != nil {
		t.Skip("needs " + python + ": an interpreter that uid 65534 can run")
	}
	t.Parallel()
	home := newHome(t)
	dir := publicDir(t)
	ready := filepath.Join(dir, "ready.py")
	if err := os.WriteFile(ready, []byte(`import os, socket, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.sendto(b"READY=1\nSTATUS=ready as %d" % os.getuid(), os.environ["NOTIFY_SOCKET"])
print("NOTIFY_SOCKET=" + os.environ["NOTIFY_SOCKET"], flush=True)
time.sleep(1000)
`), 0o644); err != nil {
		t.Fatal(err)
	}
	mustRun(t, home, "start", ready, "--name", "pyready", "--interpreter", python, "--uid", "65534", "--gid", "65534",
		"--cwd", dir, "--wait-ready", "--listen-timeout", "10000")
	p := waitProc(t, home, "pyready", 15*time.Second, "online after READY=1 from uid 65534", isOnline)
	if p.StatusText != "ready as 65534" {
		t.Errorf("status text %q, want the app's STATUS=ready as 65534", p.StatusText)
	}
	line := waitFileContains(t, outLog(home, "pyready"), "NOTIFY_SOCKET=")
	sock := strings.TrimSpace(line[strings.Index(line, "NOTIFY_SOCKET=")+len("NOTIFY_SOCKET="):])
	if strings.HasPrefix(sock, home) {
		t.Fatalf("NOTIFY_SOCKET %s is in GPM_HOME, which uid 65534 cannot enter", sock)
	}
	fi, err := os.Stat(sock)
	if err != nil {
		t.Fatal(err)
	}
	if st := fi.Sys().(*syscall.Stat_t); st.Uid != 65534 || fi.Mode().Perm() != 0o600 {
		t.Errorf("NOTIFY_SOCKET %s: owner %d, mode %v; want 65534 and 0600 (no other user may speak for the app)", sock, st.Uid, fi.Mode().Perm())
	}
	if setpriv, err := exec.LookPath("setpriv"); err == nil {
		// Another unprivileged user is refused by the socket's mode.
		out, err := exec.Command(setpriv, "--reuid=65533", "--regid=65533", "--clear-groups", python, "-c",
			`import socket,sys; socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).sendto(b"READY=1", sys.argv[1])`, sock).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "PermissionError") {
			t.Errorf("uid 65533 sending to %s: %v, %s; want a PermissionError", sock, err, out)
		}
	}

	if node, err := exec.LookPath("node"); err == nil {
		app := filepath.Join(dir, "app.js")
		if err := os.WriteFile(app, []byte(`require('http').createServer((q, r) => r.end('ok')).listen(0, () => {
  console.log('listening as ' + process.getuid());
  process.send('ready');
});
`), 0o644); err != nil {
			t.Fatal(err)
		}
		mustRun(t, home, "start", app, "--name", "nodeready", "--interpreter", node, "--uid", "65534", "--gid", "65534",
			"--cwd", dir, "--wait-ready", "--listen-timeout", "10000")
		n := waitProc(t, home, "nodeready", 15*time.Second, "online after process.send('ready') from uid 65534", isOnline)
		if n.Restarts != 0 {
			t.Errorf("the Node app restarted %d times (the shim must load as uid 65534)", n.Restarts)
		}
		waitFileContains(t, outLog(home, "nodeready"), "listening as 65534")
	}

	// Socket workers as uid 65534: they start through gpm's own binary (the LISTEN_PID trampoline), which the
	// tests keep in a 0700 directory, as a gpm in a user's home would be; then a reload waits for their READY=1.
	worker := filepath.Join(dir, "worker.py")
	if err := os.WriteFile(worker, []byte(readFile(t, fixture("cluster/worker.py"))), 0o644); err != nil {
		t.Fatal(err)
	}
	port := clusterPort(t)
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	mustRun(t, home, "start", worker, "--name", "web", "--interpreter", python, "--uid", "65534", "--gid", "65534",
		"--cwd", dir, "-i", "2", "--listen", fmt.Sprintf("tcp://127.0.0.1:%d", port), "--wait-ready", "--listen-timeout", "10000")
	before, err := getWorkerPid(freshConnClient(), url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	mustRun(t, home, "reload", "web")
	after, err := getWorkerPid(freshConnClient(), url)
	if err != nil {
		t.Fatalf("GET %s after reload: %v", url, err)
	}
	if after == before {
		t.Errorf("pid %d answered before and after the reload; want a new worker", after)
	}
	if st := readFile(t, "/proc/"+strconv.Itoa(after)+"/status"); !strings.Contains(st, "\nUid:\t65534\t") {
		t.Errorf("worker %d does not run as uid 65534", after)
	}

	mustRun(t, home, "kill")
	if _, err := os.Stat(filepath.Dir(sock)); !os.IsNotExist(err) {
		t.Errorf("%s left after gpm kill: %v", filepath.Dir(sock), err)
	}
}
