//go:build linux

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gpmd/gpm/api"
)

// state is the comparable part of a process list: name, instance and whether it runs.
func state(ps []api.Process) []string {
	var out []string
	for _, p := range ps {
		run := "down"
		if p.Status == api.StatusOnline || p.Status == api.StatusLaunching {
			run = "up"
		}
		out = append(out, p.Name+"#"+string(rune('0'+p.Instance))+":"+run)
	}
	slices.Sort(out)
	return out
}

func TestSaveResurrect(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	dump := filepath.Join(home, api.DumpName)
	secret := opts{env: []string{"SECRET_TOKEN=xyz-secret-42"}}
	mustRunWith(t, home, secret, "start", fixture("echo.sh"), "--name", "svc", "-i", "2")
	mustRunWith(t, home, secret, "start", fixture("echo.sh"), "--name", "idle")
	waitInstances(t, home, "svc", 2)
	waitOnline(t, home, "idle")
	mustRun(t, home, "stop", "idle")
	before := state(jlist(t, home))
	mustRun(t, home, "save")
	if d := readFile(t, dump); strings.Contains(d, "xyz-secret-42") || strings.Contains(d, "SECRET_TOKEN") {
		t.Errorf("dump.json holds the CLI's environment (SECRET_TOKEN)")
	}

	mustRun(t, home, "kill")
	out := mustRun(t, home, "resurrect")
	waitInstances(t, home, "svc", 2)
	after := jlist(t, home)
	if got := state(after); !slices.Equal(got, before) {
		t.Errorf("after kill and resurrect: %v, want %v", got, before)
	}
	for _, p := range after {
		if p.Name == "idle" && p.Status != api.StatusStopped {
			t.Errorf("a stopped app came back %s", p.Status)
		}
	}
	if !strings.Contains(out, "started") {
		t.Errorf("resurrect does not say what it did:\n%s", out)
	}

	// Twice: nothing added, what exists is reported as skipped.
	out = mustRun(t, home, "resurrect")
	if again := jlist(t, home); len(again) != len(after) {
		t.Errorf("second resurrect: %d processes, was %d", len(again), len(after))
	}
	if !strings.Contains(out, "skipped") {
		t.Errorf("second resurrect does not report the skipped apps:\n%s", out)
	}
}

func TestResurrectFallsBackToBak(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	dump := filepath.Join(home, api.DumpName)
	mustRun(t, home, "start", fixture("echo.sh"), "--name", "first")
	mustRun(t, home, "save")
	mustRun(t, home, "start", fixture("echo.sh"), "--name", "second")
	mustRun(t, home, "save") // dump.json.bak now holds [first]
	if _, err := os.Stat(dump + ".bak"); err != nil {
		t.Fatalf("no backup after two saves: %v", err)
	}
	mustRun(t, home, "kill")
	if err := os.WriteFile(dump, []byte("{ this is not a dump"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, stderr, code := run(t, home, "resurrect")
	if code != 0 {
		t.Fatalf("resurrect with a corrupt dump and a good .bak: exit %d: %s", code, stderr)
	}
	if !strings.Contains(out+stderr, ".bak") {
		t.Errorf("resurrect does not say it used the backup:\nstdout: %s\nstderr: %s", out, stderr)
	}
	waitOnline(t, home, "first")
	if got := names(jlist(t, home)); !slices.Equal(got, []string{"first"}) {
		t.Errorf("resurrected from .bak: %v, want [first]", got)
	}

	mustRun(t, home, "kill")
	os.Remove(dump)
	os.Remove(dump + ".bak")
	_, stderr, code = run(t, home, "resurrect")
	if code == 0 {
		t.Errorf("resurrect without any dump: exit 0")
	}
	if !strings.Contains(stderr, "save") && !strings.Contains(stderr, "dump") {
		t.Errorf("resurrect without any dump: unclear message %q", stderr)
	}
	if l := jlist(t, home); len(l) != 0 {
		t.Errorf("resurrect without a dump started %v", names(l))
	}
}

func TestSaveEmptyList(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	dump := filepath.Join(home, api.DumpName)
	mustRun(t, home, "start", fixture("echo.sh"), "--name", "keep")
	mustRun(t, home, "save")
	saved := readFile(t, dump)
	mustRun(t, home, "delete", "all")

	_, stderr, code := run(t, home, "save")
	if code == 0 {
		t.Errorf("save of an empty list: exit 0")
	}
	if len(lines(stderr)) != 1 {
		t.Errorf("save of an empty list: want a one-line reason, got %q", stderr)
	}
	if readFile(t, dump) != saved {
		t.Errorf("a refused save changed dump.json")
	}

	mustRun(t, home, "save", "--force")
	mustRun(t, home, "kill")
	mustRun(t, home, "resurrect")
	time.Sleep(100 * time.Millisecond)
	if l := jlist(t, home); len(l) != 0 {
		t.Errorf("save --force of an empty list, then resurrect: %v", names(l))
	}
}

// TestDumpFullDisk saves on a full filesystem: the save must fail and leave the previous dump whole (PM2 #2827).
func TestDumpFullDisk(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a size-limited tmpfs as GPM_HOME")
	}
	dir, err := os.MkdirTemp("", "gpm-e2e-full-")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=256k,mode=0700", "tmpfs", dir).CombinedOutput(); err != nil {
		os.Remove(dir)
		t.Skipf("cannot mount a tmpfs (%v: %s)", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
		os.Remove(dir)
	})
	useHome(t, dir) // registered after the umount, so its gpm kill runs first
	home := dir
	dump := filepath.Join(home, api.DumpName)
	mustRun(t, home, "start", fixture("echo.sh"), "--name", "small", "-o", "NULL", "-e", "NULL")
	mustRun(t, home, "save")
	good := readFile(t, dump)
	mustRun(t, home, "start", fixture("echo.sh"), "--name", "another", "-o", "NULL", "-e", "NULL")

	filler := filepath.Join(home, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 1024)
	for {
		if _, err := f.Write(chunk); err != nil {
			break
		}
	}
	f.Close()

	_, stderr, code := run(t, home, "save")
	if code == 0 {
		t.Errorf("save on a full disk: exit 0")
	} else if len(lines(stderr)) != 1 {
		t.Errorf("save on a full disk: want a one-line reason, got %q", stderr)
	}
	if got := readFile(t, dump); got != good {
		t.Errorf("a failed save changed dump.json:\nbefore: %s\nafter: %s", good, got)
	}
	os.Remove(filler)
	mustRun(t, home, "save")
	if !strings.Contains(readFile(t, dump), "another") {
		t.Errorf("save after freeing space does not hold the new app")
	}
}
