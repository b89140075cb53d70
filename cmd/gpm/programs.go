package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
)

// programPath finds one of gpm's own programs (gpm-monit; gpmd for the thin CLI): beside this gpm (make build, go
// install), in ../libexec/gpm from it (the packages), or in PATH. It returns "" and the paths it tried when none is
// there.
func programPath(name string) (path string, tried []string) {
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	if exe, err := os.Executable(); err == nil {
		if r, err := filepath.EvalSymlinks(exe); err == nil {
			exe = r
		}
		dir := filepath.Dir(exe)
		for _, p := range []string{filepath.Join(dir, name), filepath.Join(dir, "..", "libexec", "gpm", name)} {
			if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
				return p, nil
			}
			tried = append(tried, p)
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	return "", tried
}
