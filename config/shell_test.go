package config

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
)

// TestCommandScript_Issue14Item3: a script that is not a file runs in a shell when it has shell syntax, is split
// into words otherwise, and a file is always itself.
func TestCommandScript_Issue14Item3(t *testing.T) {
	dir := t.TempDir()
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep in PATH")
	}
	os.WriteFile(filepath.Join(dir, "a b;c.sh"), []byte("#!/bin/sh\n"), 0o755)
	for _, tc := range []struct {
		script, name, prog, interp string
		args                       []string
	}{
		{"echo $HOME && sleep 1", "echo", "", "", []string{"-c", "echo $HOME && sleep 1", "echo"}},
		{"node -e 'console.log(1)'", "node", "", "", []string{"-c", "node -e 'console.log(1)'", "node"}},
		{"PORT=80 ./srv.py --x", "srv", "", "", []string{"-c", "PORT=80 ./srv.py --x", "PORT=80"}},
		{"python3 -m http.server 8000", "python3", "python3", "", []string{"-m", "http.server", "8000", "x"}},
		{"a b;c.sh", "a b;c", filepath.Join(dir, "a b;c.sh"), "bash", []string{"x"}},
		{"sleep", "sleep", sleep, "", []string{"x"}}, // a bare command is recorded by its path (issue 14 item 14)
	} {
		a := New()
		a.Script, a.Args = tc.script, []string{"x"}
		if err := a.Normalize(dir); err != nil {
			t.Errorf("%q: %v", tc.script, err)
			continue
		}
		want := tc.args
		if tc.prog == "" { // the shell: "$@" follows $0
			tc.prog, want = a.Script, append(tc.args, "x")
			if a.Script != "bash" && a.Script != "sh" {
				t.Errorf("%q: script %q, want a shell", tc.script, a.Script)
			}
		}
		if a.Script != tc.prog || !slices.Equal(a.Args, want) || a.Name != tc.name || a.Interpreter != tc.interp {
			t.Errorf("%q: script %q args %q name %q interpreter %q; want %q %q %q", tc.script, a.Script, a.Args, a.Name,
				a.Interpreter, tc.prog, want, tc.name)
		}
	}
}
