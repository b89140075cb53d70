package unitfile

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// controlValues hold every kind of control character a process file can carry in an env value or an argument.
var controlValues = []string{
	"a\rExecStartPre=/nonexistent/injected-by-cr",
	"line\nExecStartPre=/nonexistent/injected-by-lf",
	"tab\there",
	"bell\a vt\v ff\f esc\x1b[31m del\x7f nul-less \x01\x1f",
	`quote " and backslash \ and dollar $HOME and 100%`,
}

// TestQuoteControl: what ExecLine and EnvLine write holds no control character (systemd's reader ends a line at
// CR as at LF), and undoing systemd's C escapes gives the value back.
func TestQuoteControl(t *testing.T) {
	for _, v := range controlValues {
		for _, line := range []string{EnvLine("A", v), ExecLine("/bin/echo", v)} {
			for i := 0; i < len(line); i++ {
				if c := line[i]; c < 0x20 || c == 0x7f {
					t.Errorf("%q: control byte %#x at %d of %q", v, c, i, line)
				}
			}
		}
		if got := unquote(t, strings.TrimPrefix(EnvLine("A", v), "Environment=")); got != "A="+v {
			t.Errorf("EnvLine(%q) reads back as %q", v, got)
		}
		words := strings.SplitN(ExecLine("/bin/echo", v), " ", 2)
		want := strings.ReplaceAll(EscapeSpecifiers(v), "$", "$$")
		if got := unquote(t, words[1]); got != want {
			t.Errorf("ExecLine(%q) reads back as %q, want %q", v, got, want)
		}
	}
}

// TestQuoteSystemd: a unit with those values goes through systemd's own parser (`systemd-analyze verify`) without a
// word: a value that started a line of its own would add an ExecStartPre= of a program that does not exist.
func TestQuoteSystemd(t *testing.T) {
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Skip("systemd-analyze is not installed")
	}
	// verify drops a marker in /run/systemd on a host whose init is not systemd; leave the host as it was.
	marker := "/run/systemd/systemd-units-load"
	if _, err := os.Stat(marker); os.IsNotExist(err) {
		t.Cleanup(func() { os.Remove(marker) })
	}
	var b strings.Builder
	b.WriteString("[Unit]\nDescription=quoting\n\n[Service]\nType=exec\n")
	for i, v := range controlValues {
		b.WriteString(EnvLine("V"+strconv.Itoa(i), v) + "\n")
	}
	b.WriteString("ExecStart=" + ExecLine(append([]string{"/bin/echo"}, controlValues...)...) + "\n")
	dir := t.TempDir()
	unit := filepath.Join(dir, "quoting.service")
	if err := os.WriteFile(unit, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "systemd-analyze", "verify", "--man=no", unit).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s\nthe unit:\n%s", err, out, b.String())
	}
}

// unquote undoes quote as systemd does (systemd.syntax(7) "Quoting": C escapes inside double quotes), for the
// escapes quote writes; a word without quotes is returned as it is.
func unquote(t *testing.T, w string) string {
	t.Helper()
	if !strings.HasPrefix(w, `"`) {
		return w
	}
	if !strings.HasSuffix(w, `"`) || len(w) < 2 {
		t.Fatalf("unbalanced quotes: %q", w)
	}
	w = w[1 : len(w)-1]
	var b strings.Builder
	for i := 0; i < len(w); i++ {
		if w[i] != '\\' {
			b.WriteByte(w[i])
			continue
		}
		i++
		if i == len(w) {
			t.Fatalf("escape at the end: %q", w)
		}
		switch w[i] {
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case '\\', '"':
			b.WriteByte(w[i])
		case 'x':
			if i+3 > len(w) {
				t.Fatalf("short \\x escape: %q", w)
			}
			n, err := strconv.ParseUint(w[i+1:i+3], 16, 8)
			if err != nil {
				t.Fatalf("bad \\x escape in %q: %v", w, err)
			}
			b.WriteByte(byte(n))
			i += 2
		default:
			t.Fatalf("escape \\%c that quote does not write: %q", w[i], w)
		}
	}
	return b.String()
}
