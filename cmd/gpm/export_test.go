//go:build !gpmthin

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestExportDirPrivate: gpm export --dir writes the apps' environment (a process file's env and env_<name>, which
// hold passwords and tokens) into its files, so they are the caller's alone (0600), as the daemon's dump is; a file
// that was there before is rewritten with that mode too. They were 0644: any local user could read the secrets.
func TestExportDirPrivate(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("GPM_HOME", filepath.Join(dir, "home"))
	if err := os.WriteFile(filepath.Join(dir, "job.sh"), []byte("#!/bin/sh\nsleep 100\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "apps.json")
	if err := os.WriteFile(file, []byte(`{"apps": [{"name": "job", "script": "job.sh", "env": {"DB_PASSWORD": "hunter2"}}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"systemd", "kubernetes", "nomad"} {
		units := filepath.Join(dir, format)
		if err := os.MkdirAll(units, 0o755); err != nil {
			t.Fatal(err)
		}
		// Files of an earlier export, world-readable: os.WriteFile kept their mode.
		for _, name := range []string{"job.service", "job.yaml", "job.nomad.json"} {
			if err := os.WriteFile(filepath.Join(units, name), nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		var stdout, stderr bytes.Buffer
		if code := run([]string{"export", format, file, "--dir", units}, nil, &stdout, &stderr); code != 0 {
			t.Fatalf("gpm export %s: exit %d: %s", format, code, stderr.String())
		}
		paths := strings.Fields(stdout.String())
		if len(paths) == 0 {
			t.Fatalf("gpm export %s wrote nothing", format)
		}
		for _, p := range paths {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			st, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode().Perm()&0o077 != 0 {
				t.Errorf("export %s --dir: %s has mode %v (holds DB_PASSWORD: %v), want 0600", format, p, st.Mode().Perm(),
					strings.Contains(string(b), "hunter2"))
			}
		}
	}
}
