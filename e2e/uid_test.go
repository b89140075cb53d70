//go:build linux

package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestRunAsUser starts an app as another user, which a daemon running as root may do (uid/gid fields, --uid).
func TestRunAsUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("switching users needs a daemon running as root")
	}
	t.Parallel()
	home := newHome(t)
	// The script must be reachable by uid 65534: a 0755 directory outside the (0700) test temp dirs.
	dir, err := os.MkdirTemp("", "gpm-uid-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o755)
	script := filepath.Join(dir, "whoami.sh")
	src := filepath.Join(t.TempDir(), "whoami.sh")
	if err := os.WriteFile(src, []byte("#!/bin/sh\necho \"uid=$(id -u) gid=$(id -g)\"\nexec sleep 1000\n"), 0o644); err != nil {
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
	if got := waitFileContains(t, outLog(home, "whoami"), "uid="); !strings.Contains(got, "uid=65534 gid=65534") {
		t.Fatalf("app says %q", got)
	}
	if _, stderr, code := run(t, home, "start", script, "--name", "bad", "--uid", "no-such-user-xyz"); code == 0 || !strings.Contains(stderr, "no-such-user-xyz") {
		t.Fatalf("unknown user: exit %d, %q; want a failure naming the user", code, stderr)
	}
}
