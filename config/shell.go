package config

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// shellChars are the characters that make a command line need a shell: separators, redirections, pipes,
// substitutions, quotes, globs, comments. Not the backslash or the tilde: they are in Windows paths and in ~/ paths,
// which gpm resolves itself.
const shellChars = ";&|<>()$`\"'*?[]{}#\n"

// HasShellSyntax reports whether the command line s needs a shell to mean what it says: it holds one of the
// shell's special characters, or starts with a variable assignment (`PORT=80 node srv.js`).
func HasShellSyntax(s string) bool {
	if strings.ContainsAny(s, shellChars) {
		return true
	}
	first, _, _ := strings.Cut(strings.TrimSpace(s), " ")
	return strings.Contains(first, "=")
}

// ShellCommand returns the program and arguments that run the command line s in a shell, as PM2 does: `bash -c s`
// (`sh -c s` where bash is not in PATH), with s's first word as $0, so that arguments appended after it are the
// shell's "$@".
func ShellCommand(s string) (string, []string) {
	shell := "bash"
	if _, err := exec.LookPath(shell); err != nil {
		shell = "sh"
	}
	first, _, _ := strings.Cut(strings.TrimSpace(s), " ")
	return shell, []string{"-c", s, filepath.Base(first)}
}

// commandName names the app of a command line after its program: the first word that is not a variable
// assignment, without directory and extension ("PORT=80 ./srv.py --x" is srv).
func commandName(s string) string {
	words := strings.Fields(s)
	first := ""
	for _, w := range words {
		if first == "" {
			first = w
		}
		if !strings.Contains(w, "=") {
			first = w
			break
		}
	}
	base := filepath.Base(strings.Trim(first, `"'`))
	return strings.TrimSuffix(base, filepath.Ext(base))
}

// commandScript is Normalize's handling of a script that is a command line rather than a file (a process file's
// `script: "node -e '...'"`): with shell syntax it runs in a shell (ShellCommand), otherwise its words are the
// program and the first arguments. The app is named after the command's first word. A script that names a file, or
// an app with an interpreter, is left alone.
func (a *App) commandScript() error {
	if a.Interpreter != "" && a.Interpreter != "none" || !strings.ContainsAny(a.Script, " \t\n") && !HasShellSyntax(a.Script) {
		return nil
	}
	if _, err := os.Stat(a.Script); err == nil {
		return nil
	}
	if _, err := os.Stat(filepath.Join(a.Cwd, a.Script)); err == nil {
		return nil
	}
	var prog string
	var args []string
	if HasShellSyntax(a.Script) {
		prog, args = ShellCommand(a.Script)
	} else {
		words, err := splitArgs(a.Script)
		if err != nil {
			return &FieldError{Field: "script", Msg: err.Error()}
		}
		if len(words) == 0 { // blanks only (found by FuzzParseJSON5)
			return &FieldError{Field: "script", Msg: "expected a file or a command, got only blanks"}
		}
		prog, args = words[0], words[1:]
	}
	if a.Name == "" {
		a.Name = commandName(a.Script)
	}
	a.Script, a.Args = prog, append(args, a.Args...)
	if a.Interpreter == "" {
		a.Interpreter = "none" // the program is run directly, whatever the command's last word looks like
	}
	return nil
}
