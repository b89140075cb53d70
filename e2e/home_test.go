//go:build linux

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gpmd/gpm/api"
)

// TestForeignHome_Issue11Item2: uid 65534 prepares a 0777 GPM_HOME holding a dump.json that runs a script and a
// log link aimed at a root file. Root's `gpm start` and `gpm resurrect` there (and `gpm daemon` itself) refuse
// the home with ssh's words, and nothing runs or is written.
func TestForeignHome_Issue11Item2(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the attack is on a daemon running as root, with a home prepared by uid 65534")
	}
	t.Parallel()
	dir := publicDir(t)
	script := filepath.Join(dir, "pwn.sh")
	src := filepath.Join(t.TempDir(), "pwn.sh")
	if err := os.WriteFile(src, []byte("#!/bin/sh\nid > \"$GPM_HOME/pwned.txt\"\necho pwned\nexec sleep 1000\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	installExecutable(t, src, script)

	// A genuine dump.json, from a home of our own.
	scratch := newHome(t)
	mustRun(t, scratch, "start", script, "--name", "pwn")
	waitOnline(t, scratch, "pwn")
	mustRun(t, scratch, "save")
	dump := readFile(t, filepath.Join(scratch, api.DumpName))
	mustRun(t, scratch, "kill")

	evil := filepath.Join(dir, "evil")
	secret := filepath.Join(dir, "secret")
	unchanged := rootFile(t, secret)
	for _, d := range []string{evil, filepath.Join(evil, api.LogsDir)} {
		if err := os.Mkdir(d, 0o777); err != nil {
			t.Fatal(err)
		}
		os.Chmod(d, 0o777) // past the umask
		if err := os.Chown(d, 65534, 65534); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(evil, api.DumpName), []byte(dump), 0o666); err != nil {
		t.Fatal(err)
	}
	os.Chown(filepath.Join(evil, api.DumpName), 65534, 65534)
	if err := os.Symlink(secret, filepath.Join(evil, api.LogsDir, "pwn-out.log")); err != nil {
		t.Fatal(err)
	}
	useHome(t, evil) // its cleanup checks that no process of this home is left

	for _, args := range [][]string{{"start", script, "--name", "other"}, {"resurrect"}, {"daemon"}} {
		_, stderr, code := run(t, evil, args...)
		if code == 0 || !strings.Contains(stderr, "bad ownership or modes for directory "+evil) ||
			!strings.Contains(stderr, "owned by uid 65534, mode 0777") || !strings.Contains(stderr, "chmod 700 "+evil) {
			t.Errorf("gpm %s in a home of uid 65534: exit %d, %q; want a refusal saying how to fix it", args[0], code, stderr)
		}
	}
	if _, err := os.Stat(filepath.Join(evil, "pwned.txt")); err == nil {
		t.Errorf("the dump's command ran: %s", readFile(t, filepath.Join(evil, "pwned.txt")))
	}
	unchanged("after start and resurrect")
	if left := leftovers([]string{evil}); len(left) > 0 {
		t.Errorf("processes run from the foreign home: %s", describePids(left))
	}

	// Our own home, but writable by others; our home, but its logs directory another user's.
	open := filepath.Join(dir, "open")
	os.Mkdir(open, 0o700)
	os.Chmod(open, 0o777)
	useHome(t, open)
	if _, stderr, code := run(t, open, "start", script, "--name", "other"); code == 0 || !strings.Contains(stderr, "mode 0777") {
		t.Errorf("a home of mode 0777: exit %d, %q; want a refusal", code, stderr)
	}
	mine := filepath.Join(dir, "mine")
	os.Mkdir(mine, 0o700)
	os.Mkdir(filepath.Join(mine, api.LogsDir), 0o700)
	os.Chown(filepath.Join(mine, api.LogsDir), 65534, 65534)
	useHome(t, mine)
	if _, stderr, code := run(t, mine, "start", script, "--name", "other"); code == 0 ||
		!strings.Contains(stderr, "directory "+filepath.Join(mine, api.LogsDir)+": owned by uid 65534") {
		t.Errorf("a home whose logs directory is uid 65534's: exit %d, %q; want a refusal", code, stderr)
	}
}
