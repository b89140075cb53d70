//go:build linux

package e2e

import (
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gpmd/gpm/api"
)

// TestWorkerWatchdog: a worker given WATCHDOG_USEC pings WATCHDOG=1, then hangs (stops pinging but stays alive);
// gpm restarts it and says why. A worker that keeps pinging is left alone.
func TestWorkerWatchdog(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is needed for the worker")
	}
	t.Parallel()
	home := newHome(t)
	dir := t.TempDir()
	script := writeFile(t, dir, "wd.py", `import os, socket, sys, time
addr = os.environ["NOTIFY_SOCKET"]
usec = int(os.environ["WATCHDOG_USEC"])
hang_after = float(sys.argv[1])
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
start = time.time()
print("watchdog", usec, flush=True)
while True:
    if time.time() - start < hang_after:
        s.sendto(b"WATCHDOG=1", addr)
    time.sleep(usec / 4e6)
`)
	// 2 s watchdogs pinged every 0.5 s, and 30 s for the first ping: a worker that pings must not miss a period on a
	// machine loaded with two CPU hogs (300 ms periods did).
	mustRun(t, home, "start", script, "--name", "hangs", "--watchdog", "2000", "--listen-timeout", slowStart, "--", "3")
	mustRun(t, home, "start", script, "--name", "healthy", "--watchdog", "2000", "--listen-timeout", slowStart, "--", "3600")
	first := waitOnline(t, home, "hangs")
	if got := waitFileContains(t, outLog(home, "hangs"), "watchdog"); !strings.Contains(got, "watchdog 2000000") {
		t.Fatalf("WATCHDOG_USEC not passed: %q", got)
	}
	waitProc(t, home, "hangs", 20*time.Second, "the hung worker restarted", func(p api.Process) bool {
		return p.Restarts >= 1 && p.PID != first.PID && p.PID != 0
	})
	if !strings.Contains(readFile(t, home+"/gpm.log"), "no WATCHDOG=1") {
		t.Fatalf("daemon log does not say why it restarted the worker")
	}
	if h := one(t, home, "healthy"); h.Restarts != 0 || !isOnline(h) {
		t.Fatalf("a worker that pings was restarted: %+v", h)
	}
}
