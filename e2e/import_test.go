//go:build linux

package e2e

import (
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestImportPM2 registers the apps of a PM2 dump: instances with their numbers, a stopped app kept stopped, and
// not the login session PM2 had captured.
func TestImportPM2(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	dir := t.TempDir()
	echo := fixture("echo.sh")
	entry := func(name, status string, inst int) string {
		return fmt.Sprintf(`{"name": %q, "namespace": "default", "pm_exec_path": %q, "pm_cwd": %q,
  "exec_interpreter": "none", "exec_mode": "fork_mode", "instance_var": "NODE_APP_INSTANCE",
  "NODE_APP_INSTANCE": %d, "status": %q, "autorestart": true, "kill_timeout": 1600,
  "env": {"PATH": "/usr/bin:/bin", "SSH_AUTH_SOCK": "/tmp/ssh-agent", "FOO": "from-pm2", "unique_id": "x"},
  "FOO": "from-pm2", "axm_actions": [], "versioning": null, "_pm2_version": "7.0.4"}`, name, echo, dir, inst, status)
	}
	dump := "[" + strings.Join([]string{entry("api", "online", 0), entry("api", "online", 1), entry("batch", "stopped", 0)}, ",") + "]"
	path := writeFile(t, dir, "dump.pm2", dump)
	mustRun(t, home, "import", "pm2", path)
	apps := procs(t, home, "api")
	if len(apps) != 2 || apps[0].Instance != 0 || apps[1].Instance != 1 {
		t.Fatalf("api: %+v, want instances 0 and 1", apps)
	}
	waitFor(t, 5*time.Second, func() bool {
		ps := procs(t, home, "api")
		return len(ps) == 2 && isOnline(ps[0]) && isOnline(ps[1])
	}, "both api instances online")
	for _, p := range apps {
		if p.Config.Env["FOO"] != "from-pm2" {
			t.Fatalf("FOO = %q, want the app's own variable kept", p.Config.Env["FOO"])
		}
		if _, ok := p.Config.Env["SSH_AUTH_SOCK"]; ok {
			t.Fatalf("the login session's SSH_AUTH_SOCK was imported: %v", p.Config.Env)
		}
	}
	if b := one(t, home, "batch"); b.Status != "stopped" || b.PID != 0 {
		t.Fatalf("batch: %s pid %d, want it registered stopped", b.Status, b.PID)
	}
	// Importing again adds nothing.
	mustRun(t, home, "import", "pm2", path)
	if n := len(jlist(t, home)); n != 3 {
		t.Fatalf("after a second import: %d processes, want 3", n)
	}
	if _, stderr, code := run(t, home, "import", "pm2", filepath.Join(dir, "missing.pm2")); code == 0 || !strings.Contains(stderr, "missing.pm2") {
		t.Fatalf("import of a missing dump: exit %d, %q", code, stderr)
	}
}

// TestStartCommandLine starts "a command with arguments" as one string. It has shell syntax (quotes), so it runs
// with bash -c as PM2 runs it (issue 14 item 3), and the single-quoted "$HOME" stays literal.
func TestStartCommandLine(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	mustRun(t, home, "start", "sh -c 'echo \"arg:$0\"; exec sleep 1000' '$HOME'", "--name", "cmdline")
	p := waitOnline(t, home, "cmdline")
	if p.Config.Script != "bash" && p.Config.Script != "sh" {
		t.Fatalf("script %q, want a shell", p.Config.Script)
	}
	got := waitFileContains(t, outLog(home, "cmdline"), "arg:")
	if !strings.Contains(got, "arg:$HOME") {
		t.Fatalf("output %q: the argument must reach the app literally", got)
	}
}

// TestNodeClusterLazyBind is PM2's cluster mode for a Node app that knows nothing of gpm: `start app.js -i 2` with
// the app calling server.listen(PORT). gpm's shim asks gpm to hold the port, and both workers end up accepting on
// one socket.
func TestNodeClusterLazyBind(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is not installed")
	}
	t.Parallel()
	home := newHome(t)
	port := clusterPort(t)
	dir := t.TempDir()
	app := writeFile(t, dir, "app.js", fmt.Sprintf(`const http = require('http');
const server = http.createServer((req, res) => res.end('pid ' + process.pid + '\n'));
server.listen(%d, () => { console.log('listening ' + process.pid); process.send && process.send('ready'); });
process.on('SIGINT', () => server.close(() => process.exit(0)));
`, port))
	mustRun(t, home, "start", app, "-i", "2")
	pids := map[string]bool{}
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	waitFor(t, 15*time.Second, func() bool {
		resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
		if err != nil {
			return false
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		pids[strings.TrimSpace(string(b))] = true
		return len(pids) >= 2
	}, "answers from both workers on one port")
	for _, p := range procs(t, home, "app") {
		if p.Mode != "cluster" || len(p.Config.Listen) != 1 {
			t.Fatalf("worker %d: mode %s listen %v, want cluster on the adopted port", p.ID, p.Mode, p.Config.Listen)
		}
	}
	if s := readFile(t, filepath.Join(home, "gpm.log")); !strings.Contains(s, fmt.Sprintf("listens on port %d", port)) {
		t.Fatalf("daemon log does not say it adopted the port:\n%s", s)
	}
}
