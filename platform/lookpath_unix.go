//go:build unix

package platform

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// LookPath finds file like a shell would, in dir when it is a path, else in path (the app's PATH, not the
// daemon's).
func LookPath(file, dir, path string) (string, error) {
	isExec := func(p string) bool {
		st, err := os.Stat(p)
		return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
	}
	if strings.ContainsRune(file, '/') {
		if !filepath.IsAbs(file) {
			file = filepath.Join(dir, file)
		}
		if isExec(file) {
			return file, nil
		}
		if _, err := os.Stat(file); err != nil {
			return "", fmt.Errorf("%s: no such file", file)
		}
		return "", fmt.Errorf("%s: not executable (chmod +x it, or set an interpreter)", file)
	}
	for _, d := range filepath.SplitList(path) {
		if d == "" {
			d = "."
		}
		if c := filepath.Join(d, file); isExec(c) {
			return c, nil
		}
	}
	return "", fmt.Errorf("%s: not found in PATH", file)
}

// PathEnv returns PATH from an environment list.
func PathEnv(env []string) string {
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == "PATH" {
			return v
		}
	}
	return ""
}
