//go:build linux && !gpmthin

package main

import (
	"errors"
	"os/exec"
	"strings"
	"testing"

	"github.com/gpmd/gpm/startup"
)

// The command `gpm startup` prints for a user without root is pasted into a shell: paths with spaces and quotes in
// them reach gpm as the words they are.
func TestNeedRootQuoted(t *testing.T) {
	s := startup.Spec{Platform: startup.Systemd, Exe: "/opt/my tools/gpm", User: "o'brien", Home: "/home/o'brien x",
		GPMHome: "/srv/gpm home"}
	var nr *errNeedRoot
	if !errors.As(needRoot(s), &nr) {
		t.Fatal("needRoot gave no errNeedRoot")
	}
	cmd, ok := strings.CutPrefix(nr.Command, "sudo env ")
	if !ok {
		t.Fatalf("command %q does not start with sudo env", nr.Command)
	}
	// The shell splits the words as a paste would; PATH=$PATH:... keeps its expansion.
	out, err := exec.Command("sh", "-c", `PATH=/usr/bin; for w in `+cmd+`; do printf '%s\n' "$w"; done`).Output()
	if err != nil {
		t.Fatalf("sh: %v", err)
	}
	want := []string{"PATH=/usr/bin:/opt/my tools", "GPM_HOME=/srv/gpm home", "/opt/my tools/gpm", "startup", "systemd",
		"-u", "o'brien", "--hp", "/home/o'brien x"}
	if got := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n"); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("the shell reads %q as\n%q\nwant\n%q", nr.Command, got, want)
	}
}
