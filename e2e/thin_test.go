package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestThinCLI checks the split of gpm into the thin CLI and gpmd (cmd/gpm/thin.go): every other test runs the thin
// gpm with gpmd beside it; this one checks what the thin CLI does alone, and that `gpm daemon` becomes gpmd in the
// same process (a service unit's main pid).
func TestThinCLI(t *testing.T) {
	t.Parallel()
	alone := filepath.Join(t.TempDir(), "gpm")
	installExecutable(t, gpmBin, alone)
	o := opts{bin: alone, env: []string{"PATH=/usr/bin:/bin"}}

	t.Run("commands of its own without gpmd", func(t *testing.T) {
		home := newHome(t)
		out, errOut, code := runWith(t, home, o, "--version")
		if code != 0 || !strings.HasPrefix(out, "gpm ") {
			t.Errorf("gpm --version without gpmd: exit %d, %q %q", code, out, errOut)
		}
	})
	t.Run("hand-offs name gpmd when it is missing", func(t *testing.T) {
		home := newHome(t)
		file := filepath.Join(home, "apps.json")
		if err := os.WriteFile(file, []byte(`{"apps": [{"name": "a", "script": "sleep", "args": ["60"]}]}`), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, args := range [][]string{{"start", file}, {"daemon"}, {"export", "systemd"}, {"ls"}} {
			_, errOut, code := runWith(t, home, o, args...)
			if code == 0 || !strings.Contains(errOut, "gpmd") || !strings.Contains(errOut, "not installed") {
				t.Errorf("gpm %s without gpmd: exit %d, stderr %q: want an error naming gpmd", strings.Join(args, " "), code, errOut)
			}
		}
		// Arguments after -- are the app's: a process-file name there is no hand-off (the start itself needs the
		// daemon, which is gpmd: the error is the daemon's, not the file's).
		_, errOut, _ := runWith(t, home, o, "start", "sleep", "--", "x.json")
		if !strings.Contains(errOut, "the daemon is gpmd") {
			t.Errorf("gpm start sleep -- x.json without gpmd: %q", errOut)
		}
	})
	t.Run("gpm daemon becomes gpmd in its own process", func(t *testing.T) {
		home := newHome(t)
		cmd := gpmCmd(t.Context(), home, opts{}, "daemon")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { run(t, home, "kill"); cmd.Wait() })
		want := "pid " + strconv.Itoa(cmd.Process.Pid) + ","
		waitFor(t, 30*time.Second, func() bool {
			out, _, _ := run(t, home, "version")
			return strings.Contains(out, want)
		}, "the daemon to answer with the pid of the process started as gpm daemon")
		exe, err := os.Readlink("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/exe")
		if err != nil || exe != gpmdBin {
			t.Errorf("the daemon started as gpm runs %q (%v), want %s", exe, err, gpmdBin)
		}
	})
}
