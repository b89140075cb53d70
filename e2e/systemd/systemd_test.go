//go:build e2e_systemd

// Package systemd tests gpm under a real systemd as PID 1: the .deb installed with dpkg, the packaged gpm.service
// and gpm.socket, `gpm startup`, reload and restart under load, crash and watchdog recovery, group access to the
// system socket, and removal. It runs as root inside a throw-away systemd-nspawn container (make e2e-systemd, which
// uses .ci/nspawn-exec.sh as go test -exec); anywhere else TestMain skips it.
//
// The tests run in file order and share the container: each one starts from the state the previous one left.
package systemd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gpmd/gpm/api"
	"github.com/gpmd/gpm/client"
)

// port is the clustered app's; the container shares the host's network, so it must be free there too.
const port = 18391

func TestMain(m *testing.M) {
	if _, err := os.Stat("/run/systemd/system"); err != nil || os.Getenv("E2E_IN_CONTAINER") != "1" {
		fmt.Println("SKIP: not inside the e2e container (make e2e-systemd runs these tests)")
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func sh(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// try runs a command and returns its output and error, for commands expected to fail.
func try(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

func show(t *testing.T, unit, prop string) string {
	t.Helper()
	return sh(t, "systemctl", "show", "--property="+prop, "--value", unit)
}

func mainPID(t *testing.T) int {
	t.Helper()
	n, _ := strconv.Atoi(show(t, "gpm.service", "MainPID"))
	return n
}

// journal is logged when a test fails, to see what systemd and the daemon said.
func journal(t *testing.T) {
	t.Helper()
	t.Cleanup(func() {
		if t.Failed() {
			out, _ := try("journalctl", "--no-pager", "-n", "150", "-u", "gpm.service", "-u", "gpm.socket")
			t.Logf("journal:\n%s", out)
		}
	})
}

// waitOnline waits until n processes are online, and returns them.
func waitOnline(t *testing.T, n int, within time.Duration) []api.Process {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		out, err := try("gpm", "--system", "jlist")
		var procs []api.Process
		if err == nil && json.Unmarshal([]byte(out), &procs) == nil {
			online := 0
			for _, p := range procs {
				if p.Status == api.StatusOnline {
					online++
				}
			}
			if online == n {
				return procs
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("not %d online after %v: %v %s", n, within, err, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitFor polls cond until it holds.
func waitFor(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(within); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
	}
}

func TestInstallStartsNothing(t *testing.T) {
	debs, _ := filepath.Glob("/artifacts/gpm_*.deb")
	if len(debs) != 1 {
		t.Fatalf("want one gpm .deb in /artifacts (make package), found %q", debs)
	}
	t0 := time.Now()
	sh(t, "dpkg", "-i", debs[0])
	t.Logf("dpkg -i %s: %v", filepath.Base(debs[0]), time.Since(t0))
	for _, u := range []string{"gpm.service", "gpm.socket"} {
		if st, _ := try("systemctl", "is-active", u); st != "inactive" {
			t.Errorf("%s is %q after install: the package must start nothing", u, st)
		}
	}
	sh(t, "getent", "group", "gpm")
	if st := sh(t, "stat", "-c", "%a %U %G", "/run/gpm"); st != "750 root gpm" {
		t.Errorf("/run/gpm: %s", st)
	}
	// The units as shipped, checked by the systemd that runs them.
	if out, err := try("systemd-analyze", "verify", "--man=no", "/usr/lib/systemd/system/gpm.service", "/usr/lib/systemd/system/gpm.socket"); err != nil || out != "" {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

func TestSocketStartsDaemonOnFirstCall(t *testing.T) {
	journal(t)
	sh(t, "systemctl", "start", "gpm.socket")
	if st := sh(t, "stat", "-c", "%a %U %G", api.SystemSocket); st != "660 root gpm" {
		t.Errorf("%s: %s", api.SystemSocket, st)
	}
	if st, _ := try("systemctl", "is-active", "gpm.service"); st != "inactive" {
		t.Fatalf("gpm.service is %q before any call", st)
	}
	t0 := time.Now()
	out := sh(t, "gpm", "--system", "ping")
	t.Logf("first call through gpm.socket: %v (%s)", time.Since(t0), out)
	if st := show(t, "gpm.service", "ActiveState"); st != "active" {
		t.Fatalf("gpm.service is %q after the first call", st)
	}
	if got := show(t, "gpm.service", "StatusText"); got != "no apps" {
		t.Errorf("StatusText=%q", got)
	}
	v := sh(t, "gpm", "--system", "version")
	if !strings.Contains(v, fmt.Sprintf("pid %d,", mainPID(t))) || !strings.Contains(v, "home "+api.SystemHome) {
		t.Errorf("the daemon answering is not the service's main process (MainPID %d):\n%s", mainPID(t), v)
	}
	// gpm update would stop the service's daemon and start one outside it: it says how to restart the service.
	if out, err := try("gpm", "--system", "update"); err == nil || !strings.Contains(out, "runs under a service manager") {
		t.Errorf("gpm update under systemd: %v, %q; want a refusal", err, out)
	}
	if st := show(t, "gpm.service", "ActiveState"); st != "active" {
		t.Errorf("gpm.service is %q after a refused gpm update", st)
	}
}

func TestStartupIsIdempotent(t *testing.T) {
	journal(t)
	out := sh(t, "gpm", "--system", "startup")
	t.Logf("gpm --system startup:\n%s", out)
	if !strings.Contains(out, "using the packaged units") || !strings.Contains(out, "ran: systemctl enable --now gpm.socket gpm.service") {
		t.Errorf("first startup:\n%s", out)
	}
	if strings.Contains(out, "handing over") {
		t.Errorf("the socket-activated daemon is the service's own; it was handed over:\n%s", out)
	}
	for _, u := range []string{"gpm.service", "gpm.socket"} {
		if st := sh(t, "systemctl", "is-enabled", u); st != "enabled" {
			t.Errorf("%s is %s", u, st)
		}
	}
	out = sh(t, "gpm", "--system", "startup")
	if strings.Contains(out, "ran:") || !strings.Contains(out, "nothing to do") {
		t.Errorf("second startup changed something:\n%s", out)
	}
}

func TestGroupMayControlOthersMayNot(t *testing.T) {
	sh(t, "useradd", "--create-home", "--groups", "gpm", "gpmalice")
	sh(t, "useradd", "--create-home", "gpmbob")
	as := func(user string) (string, error) {
		cmd := exec.Command("runuser", "-u", user, "--", "gpm", "--system", "ping")
		cmd.Dir = "/" // the test's directory is root's
		out, err := cmd.CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}
	if out, err := as("gpmalice"); err != nil {
		t.Errorf("a member of gpm was refused: %v %s", err, out)
	}
	out, err := as("gpmbob")
	if err == nil || !strings.Contains(out, "permission denied") {
		t.Errorf("a user outside gpm was let in: %v %s", err, out)
	}
	t.Logf("outsider: %s", out)
}

// load sends requests on fresh connections from 8 goroutines until stop is closed, counting refused connections
// and every other failure.
type load struct {
	ok, refused, failed atomic.Int64
	mu                  sync.Mutex
	firstErr            error
	stop                chan struct{}
	wg                  sync.WaitGroup
}

// startLoad is loadOn the suite's port.
func startLoad() *load { return loadOn(port) }

// loadOn starts a load on 127.0.0.1:p.
func loadOn(p int) *load {
	l := &load{stop: make(chan struct{})}
	c := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for range 8 {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for {
				select {
				case <-l.stop:
					return
				default:
				}
				resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/", p))
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						err = fmt.Errorf("status %d", resp.StatusCode)
					}
				}
				switch {
				case err == nil:
					l.ok.Add(1)
				case errors.Is(err, syscall.ECONNREFUSED):
					l.refused.Add(1)
				default:
					l.failed.Add(1)
				}
				if err != nil {
					l.mu.Lock()
					if l.firstErr == nil {
						l.firstErr = err
					}
					l.mu.Unlock()
				}
			}
		}()
	}
	return l
}

// waitOK waits until a few more requests have been served than when it was called.
func (l *load) waitOK(t *testing.T) {
	t.Helper()
	n := l.ok.Load()
	waitFor(t, "requests served", 20*time.Second, func() bool { return l.ok.Load() >= n+10 })
}

func (l *load) end() string {
	close(l.stop)
	l.wg.Wait()
	return fmt.Sprintf("%d ok, %d refused, %d failed (first error: %v)", l.ok.Load(), l.refused.Load(), l.failed.Load(), l.firstErr)
}

func helloPy(t *testing.T) string {
	p := filepath.Join(os.Getenv("E2E_SRC"), "examples", "hello.py")
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("examples/hello.py: %v (E2E_SRC is the module root, mounted by nspawn-exec.sh)", err)
	}
	return p
}

func TestClusterReloadUnderLoad(t *testing.T) {
	journal(t)
	sh(t, "gpm", "--system", "start", helloPy(t), "--name", "web", "-i", "2", "--wait-ready",
		"--listen", fmt.Sprintf("tcp://127.0.0.1:%d", port))
	before := waitOnline(t, 2, 20*time.Second)
	sh(t, "gpm", "--system", "save")
	waitFor(t, "StatusText 2 online", 5*time.Second, func() bool { return show(t, "gpm.service", "StatusText") == "2 online" })
	if n := show(t, "gpm.service", "NFileDescriptorStore"); n != "1" {
		t.Errorf("NFileDescriptorStore=%s, want the app's listening socket in the fd store", n)
	}

	l := startLoad()
	time.Sleep(300 * time.Millisecond)
	t0 := time.Now()
	sh(t, "systemctl", "reload", "gpm")
	took := time.Since(t0)
	time.Sleep(300 * time.Millisecond)
	res := l.end()
	t.Logf("systemctl reload gpm (%v) under load: %s", took, res)
	if l.refused.Load()+l.failed.Load() > 0 || l.ok.Load() == 0 {
		t.Errorf("reload dropped requests: %s", res)
	}
	after := waitOnline(t, 2, 10*time.Second)
	for _, a := range after {
		for _, b := range before {
			if a.PID == b.PID {
				t.Errorf("worker pid %d survived the reload", a.PID)
			}
		}
	}
}

func TestRestartUnderLoadRefusesNothing(t *testing.T) {
	journal(t)
	old := mainPID(t)
	l := startLoad()
	time.Sleep(300 * time.Millisecond)
	t0 := time.Now()
	sh(t, "systemctl", "restart", "gpm")
	took := time.Since(t0)
	waitOnline(t, 2, 20*time.Second)
	time.Sleep(300 * time.Millisecond)
	res := l.end()
	t.Logf("systemctl restart gpm (%v) under load: %s; fd store now %s", took, res, show(t, "gpm.service", "NFileDescriptorStore"))
	if l.refused.Load() > 0 {
		t.Errorf("restart refused connections: %s", res)
	}
	if l.failed.Load() > 0 {
		t.Errorf("restart failed requests: %s", res)
	}
	if mainPID(t) == old {
		t.Error("the daemon was not restarted")
	}
}

func TestKill9BringsItBack(t *testing.T) {
	journal(t)
	old, restarts := mainPID(t), show(t, "gpm.service", "NRestarts")
	sh(t, "kill", "-9", strconv.Itoa(old))
	waitFor(t, "a new main pid", 15*time.Second, func() bool { p := mainPID(t); return p != 0 && p != old })
	waitOnline(t, 2, 20*time.Second)
	t.Logf("kill -9 %d: back as pid %d, NRestarts %s → %s, fd store %s", old, mainPID(t), restarts,
		show(t, "gpm.service", "NRestarts"), show(t, "gpm.service", "NFileDescriptorStore"))
}

func TestStopStartBringsSavedAppsBack(t *testing.T) {
	journal(t)
	sh(t, "systemctl", "stop", "gpm.service")
	if out, _ := try("pgrep", "-f", "hello.py"); out != "" {
		t.Errorf("workers left after stop: %s", out)
	}
	// A clean stop: the daemon stopped its apps and exited 0 on SIGTERM, so the unit is inactive, not failed.
	if r, st := show(t, "gpm.service", "Result"), show(t, "gpm.service", "ExecMainStatus"); r != "success" || st != "0" {
		out, _ := try("journalctl", "--no-pager", "-n", "30", "-u", "gpm.service")
		t.Errorf("systemctl stop: Result=%s ExecMainStatus=%s (the daemon did not exit cleanly on SIGTERM):\n%s", r, st, out)
	}
	sh(t, "systemctl", "start", "gpm.service")
	procs := waitOnline(t, 2, 20*time.Second)
	if procs[0].Name != "web" {
		t.Errorf("resurrected %+v", procs)
	}
}

// TestAppsInOwnCgroups_Issue12: the packaged unit delegates its cgroup (Delegate=yes); the daemon moves into a
// leaf of its own and every app process runs in a cgroup of its own under the service, so jlist says "cgroup".
func TestAppsInOwnCgroups_Issue12(t *testing.T) {
	journal(t)
	if d := show(t, "gpm.service", "Delegate"); d != "yes" {
		t.Errorf("gpm.service Delegate=%s, want yes", d)
	}
	unit := show(t, "gpm.service", "ControlGroup")
	procs := waitOnline(t, 2, 20*time.Second)
	if got := cgroupOf(t, mainPID(t)); got != unit+"/daemon" {
		t.Errorf("the daemon is in cgroup %s, want %s/daemon", got, unit)
	}
	for _, p := range procs {
		if p.Containment != "cgroup" {
			t.Errorf("%s[%d]: containment %q (%s), want cgroup", p.Name, p.ID, p.Containment, p.ContainmentReason)
		}
		want := unit + "/app-" + p.Name + "-" + strconv.Itoa(p.ID)
		if got := cgroupOf(t, p.PID); got != want && !strings.HasPrefix(got, want+"-") {
			t.Errorf("%s[%d] (pid %d) is in cgroup %s, want %s", p.Name, p.ID, p.PID, got, want)
		}
	}
	t.Logf("cgroup mode: %s", procs[0].ContainmentReason)
}

// cgroupOf returns pid's cgroup v2 path (the "0::" line of /proc/PID/cgroup).
func cgroupOf(t *testing.T, pid int) string {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if p, ok := strings.CutPrefix(l, "0::"); ok {
			return p
		}
	}
	t.Fatalf("/proc/%d/cgroup has no 0:: line: %s", pid, b)
	return ""
}

func TestWatchdogRestartsAWedgedDaemon(t *testing.T) {
	journal(t)
	dropin := "/run/systemd/system/gpm.service.d/e2e-watchdog.conf"
	os.MkdirAll(filepath.Dir(dropin), 0o755)
	if err := os.WriteFile(dropin, []byte("[Service]\nEnvironment=GPM_TEST_HOOKS=1\nWatchdogSec=2s\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(dropin); exec.Command("systemctl", "daemon-reload").Run() })
	sh(t, "systemctl", "daemon-reload")
	sh(t, "systemctl", "restart", "gpm.service")
	waitOnline(t, 2, 20*time.Second)
	old, restarts := mainPID(t), show(t, "gpm.service", "NRestarts")

	// Wedge the supervision loop for longer than WatchdogSec: the pings stop and systemd aborts the daemon.
	t.Setenv(api.HomeEnv, api.SystemHome)
	t.Setenv(api.SocketEnv, api.SystemSocket)
	c, err := client.Dial(context.Background(), api.SystemHome)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	go c.Call(context.Background(), "debug.wedge", map[string]int{"ms": 10000}, nil)
	t0 := time.Now()
	waitFor(t, "the watchdog to restart the daemon", 15*time.Second, func() bool { p := mainPID(t); return p != 0 && p != old })
	t.Logf("wedged daemon %d replaced by %d after %v; NRestarts %s → %s", old, mainPID(t), time.Since(t0), restarts, show(t, "gpm.service", "NRestarts"))
	if out := sh(t, "journalctl", "--no-pager", "-u", "gpm.service"); !strings.Contains(out, "Watchdog timeout") {
		t.Errorf("the journal says nothing of a watchdog timeout")
	}
	waitOnline(t, 2, 20*time.Second)
}

// A user's daemon started by hand is handed over to the system unit gpm startup -u writes.
func TestStartupHandsOverAUsersDaemon(t *testing.T) {
	journal(t)
	asAlice := func(args ...string) (string, error) {
		cmd := exec.Command("runuser", append([]string{"-u", "gpmalice", "--", "env", "HOME=/home/gpmalice", "gpm"}, args...)...)
		cmd.Dir = "/" // the test's directory is root's
		out, err := cmd.CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}
	if out, err := asAlice("start", "/bin/sleep", "--name", "nap", "--", "1000"); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	out, _ := asAlice("version")
	t.Logf("alice's own daemon: %s", out)
	out = sh(t, "gpm", "startup", "-u", "gpmalice")
	t.Logf("gpm startup -u gpmalice:\n%s", out)
	for _, w := range []string{"wrote: /etc/systemd/system/gpm-gpmalice.service", "handing over", "ran: systemctl enable --now gpm-gpmalice.service"} {
		if !strings.Contains(out, w) {
			t.Errorf("report lacks %q", w)
		}
	}
	if u := show(t, "gpm-gpmalice.service", "User"); u != "gpmalice" {
		t.Errorf("User=%s", u)
	}
	var procs []api.Process
	waitFor(t, "nap online under the service", 15*time.Second, func() bool {
		out, err := asAlice("jlist")
		procs = nil
		return err == nil && json.Unmarshal([]byte(out), &procs) == nil && len(procs) == 1 && procs[0].Status == api.StatusOnline
	})
	out, _ = asAlice("version")
	if !strings.Contains(out, "pid "+show(t, "gpm-gpmalice.service", "MainPID")+",") {
		t.Errorf("alice's daemon is not the service's: %s", out)
	}
	if out := sh(t, "gpm", "startup", "-u", "gpmalice"); !strings.Contains(out, "nothing to do") || strings.Contains(out, "ran:") {
		t.Errorf("second startup -u changed something:\n%s", out)
	}
	out = sh(t, "gpm", "unstartup", "-u", "gpmalice")
	t.Logf("gpm unstartup -u gpmalice:\n%s", out)
	if _, err := os.Stat("/etc/systemd/system/gpm-gpmalice.service"); !os.IsNotExist(err) {
		t.Errorf("unit left: %v", err)
	}
	if out, _ := try("pgrep", "-u", "gpmalice", "-f", "sleep 1000"); out != "" {
		t.Errorf("alice's app still runs after unstartup: %s", out)
	}
}

func TestRemoveLeavesNothingRunning(t *testing.T) {
	journal(t)
	sh(t, "dpkg", "-r", "gpm")
	for _, u := range []string{"gpm.service", "gpm.socket"} {
		if st, _ := try("systemctl", "is-active", u); st == "active" {
			t.Errorf("%s still active after dpkg -r", u)
		}
	}
	waitFor(t, "no gpm process left", 10*time.Second, func() bool {
		out, _ := try("pgrep", "-a", "-f", "gpm|hello.py")
		return out == ""
	})
	if _, err := os.Stat("/usr/bin/gpm"); !os.IsNotExist(err) {
		t.Errorf("/usr/bin/gpm left: %v", err)
	}
}
