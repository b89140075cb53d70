package platform

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// LookPath finds file as cmd.exe would: a path (with / or \\) relative to dir, else in path; a name without an
// extension is tried with each of PATHEXT's. Windows has no execute bit: an existing file with an executable
// extension is enough.
func LookPath(file, dir, path string) (string, error) {
	exts := []string{""}
	if filepath.Ext(file) == "" {
		pathext := os.Getenv("PATHEXT")
		if pathext == "" {
			pathext = ".COM;.EXE;.BAT;.CMD"
		}
		for _, e := range strings.Split(strings.ToLower(pathext), ";") {
			if e != "" {
				exts = append(exts, e)
			}
		}
	}
	find := func(base string) (string, bool) {
		for _, e := range exts {
			if st, err := os.Stat(base + e); err == nil && !st.IsDir() {
				return base + e, true
			}
		}
		return "", false
	}
	if strings.ContainsAny(file, `/\:`) {
		if !filepath.IsAbs(file) {
			file = filepath.Join(dir, file)
		}
		if f, ok := find(file); ok {
			return f, nil
		}
		return "", fmt.Errorf("%s: no such file", file)
	}
	for _, d := range filepath.SplitList(path) {
		if d == "" {
			continue
		}
		if f, ok := find(filepath.Join(d, file)); ok {
			return f, nil
		}
	}
	return "", fmt.Errorf("%s: not found in PATH", file)
}

// PathEnv returns Path from an environment list; Windows names are case-insensitive, so the last spelling wins.
func PathEnv(env []string) string {
	var path string
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.EqualFold(k, "PATH") {
			path = v
		}
	}
	return path
}
