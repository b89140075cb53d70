//go:build linux

package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gpmd/gpm/api"
	"github.com/gpmd/gpm/client"
)

// fakeSystemd is a NOTIFY_SOCKET like systemd's: it records every message with the fds attached to it (the fd
// store), so a test can hand them back to the next daemon as systemd would.
type fakeSystemd struct {
	path string
	conn *net.UnixConn

	mu     sync.Mutex
	msgs   []string
	stored map[string]*os.File // FDNAME → fd, as FileDescriptorStoreMax= keeps them
	cond   chan struct{}       // pinged on every message
}

func newFakeSystemd(t *testing.T) *fakeSystemd {
	t.Helper()
	dir, err := os.MkdirTemp("", "gpm-sd-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	s := &fakeSystemd{path: filepath.Join(dir, "notify"), stored: map[string]*os.File{}, cond: make(chan struct{}, 1)}
	s.conn, err = net.ListenUnixgram("unixgram", &net.UnixAddr{Name: s.path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.conn.Close() })
	go s.serve()
	return s
}

func (s *fakeSystemd) serve() {
	buf, oob := make([]byte, 4096), make([]byte, 4096)
	for {
		n, oobn, _, _, err := s.conn.ReadMsgUnix(buf, oob)
		if err != nil {
			return
		}
		msg := string(buf[:n])
		var fds []int
		if cmsgs, err := unix.ParseSocketControlMessage(oob[:oobn]); err == nil {
			for _, c := range cmsgs {
				if got, err := unix.ParseUnixRights(&c); err == nil {
					fds = append(fds, got...)
				}
			}
		}
		s.mu.Lock()
		s.msgs = append(s.msgs, msg)
		fields := map[string]string{}
		for _, l := range strings.Split(msg, "\n") {
			if k, v, ok := strings.Cut(l, "="); ok {
				fields[k] = v
			}
		}
		switch {
		case fields["FDSTORE"] == "1" && len(fds) == 1:
			s.stored[fields["FDNAME"]] = os.NewFile(uintptr(fds[0]), fields["FDNAME"])
		case fields["FDSTOREREMOVE"] == "1":
			if f := s.stored[fields["FDNAME"]]; f != nil {
				f.Close()
				delete(s.stored, fields["FDNAME"])
			}
		default:
			for _, fd := range fds {
				unix.Close(fd)
			}
		}
		s.mu.Unlock()
		select {
		case s.cond <- struct{}{}:
		default:
		}
	}
}

// count returns how many messages contain line.
func (s *fakeSystemd) count(line string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, m := range s.msgs {
		for _, l := range strings.Split(m, "\n") {
			if l == line {
				n++
			}
		}
	}
	return n
}

func (s *fakeSystemd) last(prefix string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.msgs) - 1; i >= 0; i-- {
		for _, l := range strings.Split(s.msgs[i], "\n") {
			if strings.HasPrefix(l, prefix) {
				return strings.TrimPrefix(l, prefix)
			}
		}
	}
	return ""
}

// startDaemon runs `gpm daemon --resurrect` as a service unit would: NOTIFY_SOCKET set, and the fd store (if any)
// passed as LISTEN_FDS through gpm's own trampoline, which sets LISTEN_PID to the daemon's pid.
func (s *fakeSystemd) startDaemon(t *testing.T, home string, extraEnv ...string) *exec.Cmd {
	t.Helper()
	s.mu.Lock()
	var names []string
	var files []*os.File
	for name, f := range s.stored {
		names = append(names, name)
		files = append(files, f)
	}
	s.mu.Unlock()
	args := []string{"daemon", "--resurrect"}
	cmd := exec.Command(gpmBin, args...)
	if len(files) > 0 {
		cmd = exec.Command(gpmBin, append([]string{"__gpm_listen_exec", gpmBin, gpmBin}, args...)...)
	}
	cmd.Env = append(environWithout(api.HomeEnv, "NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES"),
		api.HomeEnv+"="+home, "NOTIFY_SOCKET="+s.path)
	if len(files) > 0 {
		cmd.Env = append(cmd.Env, fmt.Sprintf("LISTEN_FDS=%d", len(files)), "LISTEN_FDNAMES="+strings.Join(names, ":"))
		cmd.ExtraFiles = files
	}
	cmd.Env = append(cmd.Env, extraEnv...)
	log, err := os.OpenFile(filepath.Join(home, "daemon-test.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go cmd.Wait()
	return cmd
}

// TestSystemdNotifyAndFDStore runs the daemon as systemd would: READY=1 only once the saved list runs, STATUS=
// with the counts, the app's listening socket sent to the fd store (SCM_RIGHTS, named), and a second daemon given
// that fd back serving on it while a client never sees a refused connection across the restart.
func TestSystemdNotifyAndFDStore(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is needed for the worker")
	}
	t.Parallel()
	home := newHome(t)
	sd := newFakeSystemd(t)
	sd.startDaemon(t, home)
	waitFor(t, 10*time.Second, func() bool { return sd.count("READY=1") == 1 }, "READY=1 from the first daemon")

	port := clusterPort(t)
	mustRun(t, home, "start", fixture("cluster/worker.py"), "--name", "web", "-i", "2", "--wait-ready", "--listen-timeout", slowStart,
		"--listen", fmt.Sprintf("web=tcp://127.0.0.1:%d", port))
	waitFor(t, 5*time.Second, func() bool { return strings.Contains(sd.last("STATUS="), "2 online") }, "STATUS= with 2 online")
	sd.mu.Lock()
	nstored := len(sd.stored)
	var name string
	for n := range sd.stored {
		name = n
	}
	sd.mu.Unlock()
	if nstored != 1 || !strings.HasPrefix(name, "gpm.") {
		t.Fatalf("fd store holds %d fds (%q), want the app's one listening socket", nstored, name)
	}
	mustRun(t, home, "reload", "web")
	waitFor(t, 5*time.Second, func() bool { return sd.count("RELOADING=1") == 1 && sd.count("READY=1") == 2 },
		"RELOADING=1, then READY=1 again, around a reload")
	if sd.last("MONOTONIC_USEC=") == "" {
		t.Fatalf("RELOADING=1 without MONOTONIC_USEC=")
	}
	mustRun(t, home, "save")
	before := procs(t, home, "web")

	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	load := startClusterLoad(t, url, 4)
	time.Sleep(300 * time.Millisecond)

	// Restart the daemon as `systemctl restart` would: SIGTERM (apps stop), then a new daemon with the fd store.
	conn, err := client.Dial(context.Background(), home)
	if err != nil {
		t.Fatal(err)
	}
	v, err := conn.Version(context.Background())
	conn.Close()
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Kill(v.PID, unix.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, func() bool { return !exists(v.PID) }, "the first daemon to exit")
	if sd.count("STOPPING=1") != 1 {
		t.Fatalf("no STOPPING=1 on shutdown")
	}
	sd.startDaemon(t, home)
	waitFor(t, 10*time.Second, func() bool { return sd.count("READY=1") == 3 }, "READY=1 from the second daemon")
	// READY=1 comes after resurrect: the apps are already there.
	after := procs(t, home, "web")
	if len(after) != 2 {
		t.Fatalf("after the restart: %d workers, want 2 resurrected before READY=1", len(after))
	}
	time.Sleep(500 * time.Millisecond)
	if ok := load.checkNoFailure(t, "across the daemon restart"); ok < 10 {
		t.Fatalf("only %d requests succeeded across the daemon restart", ok)
	}
	for _, a := range after {
		for _, b := range before {
			if a.PID == b.PID {
				t.Fatalf("worker pid %d survived the daemon restart: it should have been restarted", a.PID)
			}
		}
	}
	if !strings.Contains(readFile(t, filepath.Join(home, "daemon-test.log")), "1 from the fd store") {
		t.Fatalf("the second daemon did not take the socket from the fd store:\n%s", readFile(t, filepath.Join(home, "daemon-test.log")))
	}
}

// TestSystemdWatchdog checks WATCHDOG=1 comes at half of WATCHDOG_USEC, from the supervision loop: when the loop is
// wedged (a test hook), the pings stop.
func TestSystemdWatchdog(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	sd := newFakeSystemd(t)
	sd.startDaemon(t, home, "WATCHDOG_USEC=200000", "GPM_TEST_HOOKS=1")
	waitFor(t, 10*time.Second, func() bool { return sd.count("READY=1") == 1 }, "READY=1")
	waitFor(t, 5*time.Second, func() bool { return sd.count("WATCHDOG=1") >= 5 }, "WATCHDOG=1 pings")
	conn, err := client.Dial(context.Background(), home)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	done := make(chan error, 1)
	go func() { done <- conn.Call(context.Background(), "debug.wedge", map[string]int{"ms": 1500}, nil) }()
	time.Sleep(300 * time.Millisecond) // let the wedge start and a ping already in flight land
	during := sd.count("WATCHDOG=1")
	time.Sleep(900 * time.Millisecond)
	if got := sd.count("WATCHDOG=1"); got != during {
		t.Fatalf("%d pings while the loop was wedged; the watchdog must see a wedged loop", got-during)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	waitFor(t, 3*time.Second, func() bool { return sd.count("WATCHDOG=1") > during }, "pings to resume")
}

// TestSystemdNotReadingNeverWedgesTheDaemon: if systemd stops reading its notify socket (the queue holds 10
// datagrams), STATUS= updates must be dropped, not block the supervision loop.
func TestSystemdNotReadingNeverWedgesTheDaemon(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	dir, err := os.MkdirTemp("", "gpm-sd-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close() // never read
	cmd := exec.Command(gpmBin, "daemon")
	cmd.Env = append(environWithout(api.HomeEnv, "NOTIFY_SOCKET"), api.HomeEnv+"="+home, "NOTIFY_SOCKET="+path)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go cmd.Wait()
	waitFor(t, 10*time.Second, func() bool {
		_, _, code := run(t, home, "ping")
		return code == 0
	}, "the daemon to answer")
	mustRun(t, home, "start", fixture("echo.sh"), "--name", "many", "-i", "20")
	mustRun(t, home, "stop", "many")
	mustRun(t, home, "restart", "many")
	if n := len(procs(t, home, "many")); n != 20 {
		t.Fatalf("%d processes, want 20", n)
	}
}
