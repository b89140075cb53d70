package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/gpmd/gpm/platform"
)

// CheckRunnable reports, as a *FieldError on cwd, interpreter or script, what would keep the app from starting: a cwd
// that is not a directory, an interpreter or a command not found in pathEnv (the PATH the app will get), a script
// that does not exist, or, run without an interpreter, a script that is a directory or not executable. nil means
// the program was found; it may still fail to run. Both the CLI (which knows the process file and line, see
// File.CheckRunnable) and the daemon (for every app that reaches it) call it.
func (a *App) CheckRunnable(pathEnv string) error {
	if st, err := os.Stat(a.Cwd); err != nil {
		return &FieldError{Field: "cwd", Msg: fmt.Sprintf("%s: no such directory", a.Cwd)}
	} else if !st.IsDir() {
		return &FieldError{Field: "cwd", Msg: fmt.Sprintf("%s is not a directory", a.Cwd)}
	}
	script := a.Script
	isPath := filepath.IsAbs(script) || strings.ContainsRune(script, '/') || strings.ContainsRune(script, filepath.Separator)
	if isPath && !filepath.IsAbs(script) {
		script = filepath.Join(a.Cwd, script)
	}
	if a.Interpreter != "" {
		// The interpreter gets the script as a file, relative to cwd. A directory is fine: node and python run one
		// (its package.json main, its __main__.py).
		if !filepath.IsAbs(script) {
			script = filepath.Join(a.Cwd, script)
		}
		if _, err := os.Stat(script); err != nil {
			return &FieldError{Field: "script", Msg: fmt.Sprintf("%s: no such file", script)}
		}
		if _, err := platform.LookPath(a.Interpreter, a.Cwd, pathEnv); err != nil {
			return &FieldError{Field: "interpreter", Msg: err.Error()}
		}
		return nil
	}
	if isPath {
		st, err := os.Stat(script)
		switch {
		case err != nil:
			return &FieldError{Field: "script", Msg: fmt.Sprintf("%s: no such file", script)}
		case st.IsDir():
			return &FieldError{Field: "script", Msg: fmt.Sprintf("%s is a directory: name the program to run in it", script)}
		}
	}
	if _, err := platform.LookPath(script, a.Cwd, pathEnv); err != nil {
		return &FieldError{Field: "script", Msg: err.Error()}
	}
	return nil
}
