package handoff

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestEntry: the thin CLI linked with the entry point of entry_linux_amd64.s (as make build links it) hands every
// command of FullCommands, after the options Needed skips, to gpmd before the Go runtime starts (no package init
// runs: GODEBUG=inittrace=1 prints nothing), with the same arguments and environment, beside it or in
// ../libexec/gpm; any other command line runs the thin CLI itself.
func TestEntry(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the thin CLI")
	}
	dir := t.TempDir()
	gpm := filepath.Join(dir, "bin", "gpm")
	build := exec.Command("go", "build", "-tags", "gpmthin", "-ldflags", "-E _rt0_gpm_handoff", "-o", gpm, "github.com/gpmd/gpm/cmd/gpm")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	fake := "#!/bin/sh\necho \"gpmd $0 $* $ENTRY_TEST\"\n"
	writeFake := func(path string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(fake), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	run := func(args ...string) (stdout, stderr string) {
		t.Helper()
		cmd := exec.Command(gpm, args...)
		cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1", "ENTRY_TEST=env kept", "GPM_HOME="+filepath.Join(dir, "home"))
		var o, e strings.Builder
		cmd.Stdout, cmd.Stderr = &o, &e
		cmd.Run() // the fake gpmd's and the thin CLI's exit codes are not the point
		return o.String(), e.String()
	}
	for _, layout := range []string{filepath.Join(dir, "bin", fullName), filepath.Join(dir, "libexec", "gpm", fullName)} {
		writeFake(layout)
		for _, c := range FullCommands {
			for _, args := range [][]string{{c, "x"}, {"--system", c}, {"--timeout", "3s", c}, {"--timeout=3s", "--system", c, "y"}} {
				out, errOut := run(args...)
				// A script's $0 is its own path (the kernel's), whatever argv[0] says.
				want := "gpmd " + layout + " " + strings.Join(args, " ") + " env kept\n"
				if out != want || strings.Contains(errOut, "init ") {
					t.Errorf("%s: gpm %q: stdout %q, stderr %q: want %q and no package init", layout, args, out, errOut, want)
				}
			}
		}
		if err := os.Remove(layout); err != nil {
			t.Fatal(err)
		}
	}
	writeFake(filepath.Join(dir, "bin", fullName))
	for _, args := range [][]string{{"--version"}, {"--timeout", "daemon"}, {"--timeout=", "daemon"}, {"--help"}} {
		out, errOut := run(args...)
		if strings.HasPrefix(out, "gpmd ") || !strings.Contains(errOut, "init ") {
			t.Errorf("gpm %q: stdout %q, stderr %q: want the thin CLI's own run", args, out, errOut)
		}
	}
}
