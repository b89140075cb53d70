//go:build e2e_systemd

package systemd

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gpmd/gpm/api"
)

// The live --user unit (issue 13, "Live, not only golden files"): a user without any group of gpm's, with
// lingering, runs `gpm startup --user`; the unit it writes runs under that user's own systemd, starts with the user
// manager (as at boot: logind starts user@UID.service for every lingering user), resurrects the saved apps, and
// `systemctl --user restart gpm` refuses no connection to a clustered app under load (the fd store of the user
// manager keeps its socket).
//
// This file runs after systemd_test.go (go test runs files in name order), whose last test removes the package:
// the test installs it again when it is missing, so that it also runs alone (-run TestUserUnitLive).

const (
	carol    = "gpmcarol"
	userPort = port + 2 // not the system daemon's app's: another test may still hold that
)

// userEnv is what a login would give carol: her home and her manager's runtime directory, which systemctl --user
// needs to find it.
func userEnv(uid string) []string {
	return []string{"HOME=/home/" + carol, "USER=" + carol, "LOGNAME=" + carol, "XDG_RUNTIME_DIR=/run/user/" + uid,
		"DBUS_SESSION_BUS_ADDRESS=unix:path=/run/user/" + uid + "/bus", "PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8"}
}

// asCarol runs name with args as carol, in her home, and returns its output.
func asCarol(uid, name string, args ...string) (string, error) {
	cmd := exec.Command("runuser", append([]string{"-u", carol, "--", "env", "-i"}, append(append(userEnv(uid), name), args...)...)...)
	cmd.Dir = "/home/" + carol
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

func TestUserUnitLive(t *testing.T) {
	if _, err := os.Stat("/usr/bin/gpm"); err != nil {
		debs, _ := filepath.Glob("/artifacts/gpm_*.deb")
		if len(debs) != 1 {
			t.Fatalf("want one gpm .deb in /artifacts (make package), found %q", debs)
		}
		sh(t, "dpkg", "-i", debs[0])
	}
	if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", userPort), time.Second); err == nil {
		c.Close()
		t.Fatalf("port %d is in use (the container shares the host's network)", userPort)
	}
	sh(t, "useradd", "--create-home", carol)
	uid := sh(t, "id", "-u", carol)
	manager := "user@" + uid + ".service"
	t.Cleanup(func() {
		if t.Failed() {
			out, _ := try("journalctl", "--no-pager", "-n", "200", "_UID="+uid)
			t.Logf("carol's journal:\n%s", out)
			out, _ = try("journalctl", "--no-pager", "-n", "50", "-u", manager)
			t.Logf("%s:\n%s", manager, out)
		}
	})
	gpm := func(args ...string) string {
		t.Helper()
		out, err := asCarol(uid, "gpm", args...)
		if err != nil {
			t.Fatalf("gpm %s as %s: %v\n%s", strings.Join(args, " "), carol, err, out)
		}
		return out
	}
	userctl := func(args ...string) string {
		t.Helper()
		out, err := asCarol(uid, "systemctl", append([]string{"--user"}, args...)...)
		if err != nil {
			t.Fatalf("systemctl --user %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	mainPID := func() string {
		out, _ := asCarol(uid, "systemctl", "--user", "show", "--property=MainPID", "--value", "gpm.service")
		return out
	}
	// online waits until carol's daemon lists want processes, all online.
	online := func(want int, within time.Duration) []api.Process {
		t.Helper()
		var procs []api.Process
		var out string
		deadline := time.Now().Add(within)
		for {
			var err error
			out, err = asCarol(uid, "gpm", "jlist")
			procs = nil
			if err == nil && json.Unmarshal([]byte(out), &procs) == nil && len(procs) == want {
				up := 0
				for _, p := range procs {
					if p.Status == api.StatusOnline {
						up++
					}
				}
				if up == want {
					return procs
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("carol's daemon: not %d online after %v: %s", want, within, out)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	// Lingering, as root would set it up for a service account: logind starts carol's manager now and at boot.
	t0 := time.Now()
	sh(t, "loginctl", "enable-linger", carol)
	waitFor(t, manager+" active", 30*time.Second, func() bool {
		st, _ := try("systemctl", "is-active", manager)
		_, err := os.Stat("/run/user/" + uid + "/systemd/private")
		return st == "active" && err == nil
	})
	t.Logf("loginctl enable-linger: %s active in %v", manager, time.Since(t0))

	// Carol's apps, under a daemon of her own first: a clustered web app and a plain one.
	app := filepath.Join("/home", carol, "hello.py")
	sh(t, "install", "-o", carol, "-m", "0755", helloPy(t), app)
	gpm("start", app, "--name", "web", "-i", "2", "--wait-ready", "--listen", fmt.Sprintf("tcp://127.0.0.1:%d", userPort))
	gpm("start", "/bin/sleep", "--name", "nap", "--", "1000")
	online(3, 20*time.Second)

	out := gpm("startup", "--user")
	t.Logf("gpm startup --user:\n%s", out)
	for _, w := range []string{"wrote: /home/" + carol + "/.config/systemd/user/gpm.service", "handing over", "ran: systemctl --user enable --now gpm.service"} {
		if !strings.Contains(out, w) {
			t.Errorf("the report lacks %q", w)
		}
	}
	if st := userctl("is-enabled", "gpm.service"); st != "enabled" {
		t.Errorf("gpm.service is %s in carol's manager", st)
	}
	online(3, 30*time.Second)
	if v := gpm("version"); !strings.Contains(v, "pid "+mainPID()+",") {
		t.Errorf("carol's daemon is not her gpm.service's main process (MainPID %s): %s", mainPID(), v)
	}

	// As at boot: the user manager goes away with everything it runs, and logind's start of it brings the daemon
	// back, which resurrects the list that startup saved.
	sh(t, "systemctl", "stop", manager)
	waitFor(t, "carol's processes gone with her manager", 30*time.Second, func() bool {
		out, _ := try("pgrep", "-u", carol)
		return out == ""
	})
	t0 = time.Now()
	sh(t, "systemctl", "start", manager)
	procs := online(3, 60*time.Second)
	t.Logf("user manager started: daemon up and 3 apps resurrected in %v (MainPID %s)", time.Since(t0), mainPID())
	names := map[string]int{}
	for _, p := range procs {
		names[p.Name]++
	}
	if names["web"] != 2 || names["nap"] != 1 {
		t.Errorf("resurrected %v, want web ×2 and nap", names)
	}
	if st := userctl("show", "--property=StatusText", "--value", "gpm.service"); st != "3 online" {
		t.Errorf("StatusText %q, want 3 online", st)
	}
	if n := userctl("show", "--property=NFileDescriptorStore", "--value", "gpm.service"); n != "1" {
		t.Errorf("NFileDescriptorStore=%s, want web's listening socket in the user manager's fd store", n)
	}

	// systemctl --user restart under load: the next daemon takes the socket back from the fd store.
	old := mainPID()
	l := loadOn(userPort)
	time.Sleep(300 * time.Millisecond)
	t0 = time.Now()
	userctl("restart", "gpm.service")
	took := time.Since(t0)
	online(3, 30*time.Second)
	time.Sleep(300 * time.Millisecond)
	res := l.end()
	t.Logf("systemctl --user restart gpm (%v) under load: %s", took, res)
	if l.refused.Load() > 0 || l.failed.Load() > 0 || l.ok.Load() == 0 {
		t.Errorf("systemctl --user restart: %s", res)
	}
	if now := mainPID(); now == old || now == "0" {
		t.Errorf("the daemon was not restarted: MainPID %s, was %s", now, old)
	}
	if _, err := strconv.Atoi(old); err != nil {
		t.Errorf("MainPID %q", old)
	}
}
