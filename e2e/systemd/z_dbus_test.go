//go:build e2e_systemd

package systemd

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// This file's name sorts after systemd_test.go, so its test runs last, when TestRemoveLeavesNothingRunning has
// removed the package: it installs the package again itself (and removes it at its end), so that it also runs
// alone (go test -run TestDBusSystemBus_Issue10).

// The packaged daemon owns io.gpm.Manager1 on the system bus (the shipped policy lets root own it), busctl lists
// its apps, and an ordinary user may read the list but not stop an app.
func TestDBusSystemBus_Issue10(t *testing.T) {
	journal(t)
	if _, err := os.Stat("/usr/bin/gpm"); err != nil {
		debs, _ := filepath.Glob("/artifacts/gpm_*.deb")
		if len(debs) != 1 {
			t.Fatalf("want one gpm .deb in /artifacts (make package), found %q", debs)
		}
		sh(t, "dpkg", "-i", debs[0])
		t.Cleanup(func() {
			if out, err := try("dpkg", "-r", "gpm"); err != nil {
				t.Errorf("dpkg -r gpm: %v\n%s", err, out)
			}
		})
	}
	if _, err := os.Stat("/usr/share/dbus-1/system.d/io.gpm.Manager1.conf"); err != nil {
		t.Fatalf("the package did not install its D-Bus policy: %v", err)
	}
	sh(t, "systemctl", "start", "gpm.socket", "gpm.service")
	sh(t, "gpm", "--system", "start", "/bin/sleep", "--name", "dbus-sleeper", "--", "600")
	t.Cleanup(func() { try("gpm", "--system", "delete", "dbus-sleeper") })

	var owner string
	waitFor(t, "gpm.service owns io.gpm.Manager1", 30*time.Second, func() bool {
		out, err := try("busctl", "--system", "call", "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
			"GetConnectionUnixProcessID", "s", "io.gpm.Manager1")
		owner = out
		return err == nil && out == "u "+strconv.Itoa(mainPID(t))
	})
	t.Logf("io.gpm.Manager1 is owned by pid %s, gpm.service's main pid", strings.TrimPrefix(owner, "u "))

	var out string
	waitFor(t, "ListProcesses lists dbus-sleeper online", 30*time.Second, func() bool {
		var err error
		out, err = try("busctl", "--system", "call", "io.gpm.Manager1", "/io/gpm/Manager1", "io.gpm.Manager1", "ListProcesses")
		return err == nil && strings.Contains(out, `"dbus-sleeper" "default" "online"`)
	})
	t.Logf("busctl --system call io.gpm.Manager1 /io/gpm/Manager1 io.gpm.Manager1 ListProcesses:\n%s", out)
	jlist := sh(t, "gpm", "--system", "jlist")
	for _, name := range []string{"dbus-sleeper"} {
		if !strings.Contains(jlist, `"name":"`+name+`"`) {
			t.Errorf("jlist has no %s: %s", name, jlist)
		}
	}

	// Anyone may read; only root and group gpm may act.
	cmd := exec.Command("runuser", "-u", "nobody", "--", "busctl", "--system", "call", "io.gpm.Manager1",
		"/io/gpm/Manager1", "io.gpm.Manager1", "ListProcesses")
	cmd.Dir = "/"
	if b, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(b), "dbus-sleeper") {
		t.Errorf("ListProcesses as nobody: %v\n%s", err, b)
	}
	cmd = exec.Command("runuser", "-u", "nobody", "--", "busctl", "--system", "call", "io.gpm.Manager1",
		"/io/gpm/Manager1", "io.gpm.Manager1", "Stop", "as", "1", "dbus-sleeper")
	cmd.Dir = "/"
	if b, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(b), "Access denied") {
		t.Errorf("Stop as nobody: %v\n%s, want it refused", err, b)
	}
	// A member of group gpm may act: the policy lets the group call, and the daemon finds gpm among the caller's
	// groups as the bus reports them (GetConnectionCredentials' UnixGroupIDs).
	// A user of its own: gpmcarol is the live user unit's, outside group gpm.
	if _, err := try("id", "gpmdave"); err != nil {
		sh(t, "useradd", "--create-home", "--groups", "gpm", "gpmdave")
	}
	cmd = exec.Command("runuser", "-u", "gpmdave", "--", "busctl", "--system", "call", "io.gpm.Manager1",
		"/io/gpm/Manager1", "io.gpm.Manager1", "Restart", "as", "1", "dbus-sleeper")
	cmd.Dir = "/"
	if b, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(b), "dbus-sleeper") {
		t.Errorf("Restart as gpmdave (group gpm): %v\n%s", err, b)
	}
	if out, err := try("busctl", "--system", "call", "io.gpm.Manager1", "/io/gpm/Manager1", "io.gpm.Manager1",
		"Stop", "as", "1", "dbus-sleeper"); err != nil || !strings.Contains(out, `"stopped"`) {
		t.Errorf("Stop as root: %v\n%s", err, out)
	}
}
