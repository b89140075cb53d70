//go:build linux

package e2e

import (
	"cmp"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gpmd/gpm/api"
)

var (
	monitOnce sync.Once
	monitErr  error
)

// buildMonit builds gpm-monit, the console's program, beside gpmBin, where gpm monit looks for it first.
func buildMonit(t *testing.T) {
	t.Helper()
	monitOnce.Do(func() {
		root, err := moduleRoot()
		if err != nil {
			monitErr = err
			return
		}
		cmd := exec.Command("go", "build", "-o", filepath.Join(binDir, "gpm-monit"), "./cmd/gpm-monit")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			monitErr = fmt.Errorf("go build ./cmd/gpm-monit: %v\n%s", err, out)
		}
	})
	if monitErr != nil {
		t.Fatal(monitErr)
	}
}

// tmuxTerm is a private tmux server (its own socket, no user configuration) with one window of w x h cells running
// a shell whose prompt is prompt: the terminal `gpm monit` draws on in these tests.
type tmuxTerm struct {
	t      *testing.T
	socket string
}

// monitPrompt is the shell's prompt, without its trailing space (capture-pane trims it).
const monitPrompt = "monit-test$"

func newTmux(t *testing.T, home string, w, h int) *tmuxTerm {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed (.ci/run installs it)")
	}
	tm := &tmuxTerm{t: t, socket: fmt.Sprintf("gpm-monit-%d-%d", os.Getpid(), time.Now().UnixNano())}
	t.Cleanup(func() {
		exec.Command("tmux", "-L", tm.socket, "kill-server").Run()
		// kill-server leaves the socket file behind: tmux's directory would collect one per run.
		dir := cmp.Or(os.Getenv("TMUX_TMPDIR"), "/tmp")
		os.Remove(filepath.Join(dir, fmt.Sprintf("tmux-%d", os.Getuid()), tm.socket))
	})
	// dash ignores a PS1 that tmux's -e puts in the session's environment; env(1) sets it for the shell itself.
	tm.run("-f", "/dev/null", "new-session", "-d", "-s", "t", "-x", fmt.Sprint(w), "-y", fmt.Sprint(h), "-c", home,
		fmt.Sprintf("env %s=%s PS1='%s ' ENV= sh", api.HomeEnv, home, monitPrompt))
	tm.waitScreen(5*time.Second, "the shell's prompt", func(s string) bool { return strings.Contains(s, monitPrompt) })
	return tm
}

func (tm *tmuxTerm) run(args ...string) string {
	tm.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-L", tm.socket}, args...)...).CombinedOutput()
	if err != nil {
		tm.t.Fatalf("tmux %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// keys sends keys to the window (tmux key names: Enter, Down, q).
func (tm *tmuxTerm) keys(keys ...string) {
	tm.t.Helper()
	tm.run(append([]string{"send-keys", "-t", "t"}, keys...)...)
}

// screen is the window's text, as capture-pane prints it.
func (tm *tmuxTerm) screen() string {
	tm.t.Helper()
	return tm.run("capture-pane", "-p", "-t", "t")
}

// waitScreen polls the screen until cond holds and returns it; on a timeout it fails with the last screen.
func (tm *tmuxTerm) waitScreen(timeout time.Duration, what string, cond func(string) bool) string {
	tm.t.Helper()
	var s string
	deadline := time.Now().Add(patient(timeout))
	for {
		if s = tm.screen(); cond(s) {
			return s
		}
		if time.Now().After(deadline) {
			tm.t.Fatalf("timed out after %v waiting for %s; the screen:\n%s", patient(timeout), what, s)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// rowOf is the table row of app name on screen s ("" when none).
func rowOf(s, name string) string {
	re := regexp.MustCompile(`(?m)^\s*\d+ ` + regexp.QuoteMeta(name) + ` .*$`)
	return re.FindString(s)
}

var cpuCell = regexp.MustCompile(`\s(\d+\.\d)%\s`)

// TestMonitTmux runs `gpm monit` in a real terminal (tmux): the apps appear with their cpu; r restarts the
// selected app (its pid changes in jlist); a crash shows within a few seconds; q gives the shell its prompt back
// with nothing of the console left on the screen.
func TestMonitTmux(t *testing.T) {
	t.Parallel()
	buildMonit(t)
	home := newHome(t)
	mustRun(t, home, "start", fixture("ticker.sh"), "--name", "ticker")
	mustRun(t, home, "start", "sleep", "--name", "sleeper", "--", "1000")
	tm := newTmux(t, home, 120, 40)
	tm.keys(gpmBin+" monit", "Enter")

	s := tm.waitScreen(10*time.Second, "both apps online, with a cpu figure and ticker's log", func(s string) bool {
		tr, sr := rowOf(s, "ticker"), rowOf(s, "sleeper")
		return strings.Contains(tr, "online") && strings.Contains(sr, "online") && cpuCell.MatchString(tr) &&
			cpuCell.MatchString(sr) && strings.Contains(s, "tick ")
	})
	for _, want := range []string{"gpm monit · load ", "cpus · mem ", "cpu trend", "logs of ticker[0]"} {
		if !strings.Contains(s, want) {
			t.Errorf("the screen lacks %q:\n%s", want, s)
		}
	}
	// The selected app's lines keep coming live (a logs stream of their own beside the nologs subscription): a
	// tick numbered above every tick on the first screen appears.
	lastTick := func(s string) int {
		n := 0
		for _, m := range regexp.MustCompile(`tick (\d+)`).FindAllStringSubmatch(s, -1) {
			v, _ := strconv.Atoi(m[1])
			n = max(n, v)
		}
		return n
	}
	first := lastTick(s)
	tm.waitScreen(10*time.Second, fmt.Sprintf("a live tick above %d", first+20), func(s string) bool {
		return lastTick(s) > first+20
	})
	// A sample every 2 s: the ticker's sparkline grows.
	tm.waitScreen(10*time.Second, "ticker's cpu sparkline", func(s string) bool {
		return regexp.MustCompile(`[▁▂▃▄▅▆▇█]{2}`).MatchString(rowOf(s, "ticker"))
	})

	// r restarts the selected app, the first row.
	before := one(t, home, "ticker")
	tm.keys("r")
	waitFor(t, 10*time.Second, func() bool {
		p := one(t, home, "ticker")
		return p.PID != 0 && p.PID != before.PID
	}, "ticker restarted by the r key")
	tm.waitScreen(10*time.Second, "the restart on screen", func(s string) bool {
		return strings.Contains(s, "restarted ticker[0]") && strings.Contains(rowOf(s, "ticker"), "    1 ")
	})

	// A crash, from an app started beside the console: it appears, then shows as waiting for its restart.
	start := time.Now()
	mustRun(t, home, "start", fixture("crash.sh"), "--name", "crasher", "--restart-delay", "60000", "--", "3")
	s = tm.waitScreen(5*time.Second, "the crash on screen", func(s string) bool {
		r := rowOf(s, "crasher")
		return strings.Contains(r, "waiting") || strings.Contains(r, "errored")
	})
	t.Logf("crash shown %v after gpm start began; its row: %s", time.Since(start).Round(time.Millisecond), rowOf(s, "crasher"))

	// q: the shell's prompt, and nothing of the console.
	tm.keys("q")
	s = tm.waitScreen(10*time.Second, "the shell's prompt after q", func(s string) bool {
		lines := strings.Split(strings.TrimRight(s, "\n "), "\n")
		return strings.HasPrefix(lines[len(lines)-1], monitPrompt) && !strings.Contains(s, "cpu trend")
	})
	for _, ui := range []string{"gpm monit ·", "logs of", "ticker[0]", "▁"} {
		if strings.Contains(s, ui) {
			t.Errorf("%q is left on the screen after q:\n%s", ui, s)
		}
	}
	if cmd := strings.TrimSpace(tm.run("display-message", "-p", "-t", "t", "#{pane_current_command}")); cmd != "sh" {
		t.Errorf("the pane runs %q after q, want the shell", cmd)
	}

	// Ctrl-C quits as cleanly, here at 80x24 (ssh's default), where the console still has its sparklines.
	tm.run("resize-window", "-t", "t", "-x", "80", "-y", "24")
	tm.keys("clear", "Enter")
	tm.keys(gpmBin+" monit", "Enter")
	tm.waitScreen(10*time.Second, "the console at 80x24", func(s string) bool {
		return strings.Contains(s, "cpu trend") && strings.Contains(rowOf(s, "crasher"), "waiting")
	})
	tm.keys("C-c")
	s = tm.waitScreen(10*time.Second, "the shell's prompt after Ctrl-C", func(s string) bool {
		lines := strings.Split(strings.TrimRight(s, "\n "), "\n")
		return strings.HasPrefix(lines[len(lines)-1], monitPrompt) && !strings.Contains(s, "cpu trend")
	})
	if strings.Contains(s, "gpm monit ·") {
		t.Errorf("the console is left on the screen after Ctrl-C:\n%s", s)
	}
}

// TestMonitOnce checks the table for scripts: --once, and the same when stdout is not a terminal.
func TestMonitOnce(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	mustRun(t, home, "start", "sleep", "--name", "napper", "--", "1000")
	waitOnline(t, home, "napper")
	for _, args := range [][]string{{"monit", "--once"}, {"monit"}} {
		out := mustRun(t, home, args...)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 3 || !strings.Contains(lines[0], "cpus · mem ") || !strings.HasPrefix(lines[1], "id") {
			t.Fatalf("gpm %s printed:\n%s", strings.Join(args, " "), out)
		}
		if f := strings.Fields(lines[2]); len(f) != 8 || f[1] != "napper" || f[3] != "online" || !strings.HasSuffix(f[4], "%") {
			t.Errorf("gpm %s: napper's line %q", strings.Join(args, " "), lines[2])
		}
		if strings.Contains(out, "\x1b") {
			t.Errorf("gpm %s wrote escape codes: %q", strings.Join(args, " "), out)
		}
	}
}

// TestMonitNotInstalled checks what gpm monit says on a terminal when gpm-monit is nowhere to be found.
func TestMonitNotInstalled(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	alone := installGPM(t, t.TempDir())
	tm := newTmux(t, home, 120, 20)
	tm.keys("PATH=/usr/bin:/bin "+alone+" monit; echo exit=$?", "Enter")
	s := tm.waitScreen(10*time.Second, "the error", func(s string) bool { return strings.Contains(s, "exit=1") })
	if !strings.Contains(s, "gpm-monit") || !strings.Contains(s, "not installed") || !strings.Contains(s, "--once") {
		t.Errorf("gpm monit without gpm-monit says:\n%s", s)
	}
}

// TestMonitReconnect checks that the console outlives its daemon: gpm kill shows that no daemon answers, and the
// next daemon's apps appear without a key pressed (a list after the new connection, then its events).
func TestMonitReconnect(t *testing.T) {
	t.Parallel()
	buildMonit(t)
	home := newHome(t)
	mustRun(t, home, "start", "sleep", "--name", "first", "--", "1000")
	tm := newTmux(t, home, 100, 30)
	tm.keys(gpmBin+" monit", "Enter")
	tm.waitScreen(10*time.Second, "first online", func(s string) bool { return strings.Contains(rowOf(s, "first"), "online") })
	mustRun(t, home, "kill")
	tm.waitScreen(10*time.Second, "the lost daemon", func(s string) bool { return strings.Contains(s, "no daemon") })
	mustRun(t, home, "start", "sleep", "--name", "second", "--", "1000")
	s := tm.waitScreen(15*time.Second, "the new daemon's app", func(s string) bool {
		return strings.Contains(rowOf(s, "second"), "online") && !strings.Contains(s, "no daemon")
	})
	if rowOf(s, "first") != "" {
		t.Errorf("the old daemon's app is still shown:\n%s", s)
	}
	tm.keys("q")
	tm.waitScreen(10*time.Second, "the shell's prompt after q", func(s string) bool { return !strings.Contains(s, "gpm monit ·") })
}

// TestMonitDumbTerminal checks that on a terminal with TERM=dumb gpm monit prints the table once, as --once does.
func TestMonitDumbTerminal(t *testing.T) {
	t.Parallel()
	buildMonit(t)
	home := newHome(t)
	mustRun(t, home, "start", "sleep", "--name", "dumbapp", "--", "1000")
	tm := newTmux(t, home, 100, 20)
	tm.keys("TERM=dumb "+gpmBin+" monit; echo exit=$?", "Enter")
	s := tm.waitScreen(10*time.Second, "the table and the exit code", func(s string) bool { return strings.Contains(s, "exit=0") })
	if !regexp.MustCompile(`(?m)^id +name +namespace +status`).MatchString(s) || !strings.Contains(s, "dumbapp") ||
		strings.Contains(s, "cpu trend") {
		t.Errorf("gpm monit with TERM=dumb:\n%s", s)
	}
}
