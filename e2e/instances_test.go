//go:build linux

package e2e

import (
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/gpmd/gpm/api"
)

// instanceNumbers returns the sorted instance numbers of name, after waiting until all want of them are online.
func waitInstances(t *testing.T, home, name string, want int) []api.Process {
	t.Helper()
	var ps []api.Process
	waitFor(t, 10*time.Second, func() bool {
		ps = procs(t, home, name)
		if len(ps) != want {
			return false
		}
		for _, p := range ps {
			if !isOnline(p) {
				return false
			}
		}
		return true
	}, fmt.Sprintf("%d instances of %s online", want, name))
	return ps
}

func instanceSet(ps []api.Process) []int {
	var out []int
	for _, p := range ps {
		out = append(out, p.Instance)
	}
	slices.Sort(out)
	return out
}

func TestInstancesAndScale(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	mustRun(t, home, "start", fixture("echo.sh"), "--name", "inst", "-i", "3")
	ps := waitInstances(t, home, "inst", 3)
	if got := instanceSet(ps); !slices.Equal(got, []int{0, 1, 2}) {
		t.Fatalf("instances %v, want [0 1 2]", got)
	}
	for _, p := range ps {
		env := envOf(t, home, p.ID)
		inst := strconv.Itoa(p.Instance)
		for k, want := range map[string]string{"NODE_APP_INSTANCE": inst, "GPM_INSTANCE": inst, "GPM_ID": strconv.Itoa(p.ID),
			"GPM_NAME": "inst", "GPM_HOME": home} {
			if env[k] != want {
				t.Errorf("gpm env %d: %s=%q, want %q", p.ID, k, env[k], want)
			}
		}
		// What the app itself saw, from its per-instance log.
		log := waitFileContains(t, filepath.Join(home, api.LogsDir, fmt.Sprintf("inst-out-%d.log", p.ID)), "ready")
		for k, want := range map[string]string{"NODE_APP_INSTANCE": inst, "GPM_INSTANCE": inst, "GPM_ID": strconv.Itoa(p.ID),
			"GPM_NAME": "inst", "GPM_HOME": home} {
			if v, _ := lastValue(log, k); v != want {
				t.Errorf("app id %d saw %s=%q, want %q", p.ID, k, v, want)
			}
		}
	}

	mustRun(t, home, "scale", "inst", "5")
	if got := instanceSet(waitInstances(t, home, "inst", 5)); !slices.Equal(got, []int{0, 1, 2, 3, 4}) {
		t.Fatalf("after scale 5: instances %v, want [0 1 2 3 4]", got)
	}
	if _, stderr, code := run(t, home, "scale", "inst", "-2"); code != 0 {
		// `gpm scale NAME -N` is the documented form; carry on with the absolute form so the rest is still checked.
		t.Errorf("gpm scale inst -2: exit %d: %s", code, stderr)
		mustRun(t, home, "scale", "inst", "3")
	}
	ps = waitInstances(t, home, "inst", 3)
	if got := instanceSet(ps); !slices.Equal(got, []int{0, 1, 2}) {
		t.Fatalf("after scale -2: instances %v, want [0 1 2]", got)
	}
	// Free instance number 1, then scale +1: the new process takes 1 again.
	var mid api.Process
	for _, p := range ps {
		if p.Instance == 1 {
			mid = p
		}
	}
	mustRun(t, home, "delete", strconv.Itoa(mid.ID))
	if got := instanceSet(waitInstances(t, home, "inst", 2)); !slices.Equal(got, []int{0, 2}) {
		t.Fatalf("after deleting instance 1: instances %v, want [0 2]", got)
	}
	mustRun(t, home, "scale", "inst", "+1")
	ps = waitInstances(t, home, "inst", 3)
	if got := instanceSet(ps); !slices.Equal(got, []int{0, 1, 2}) {
		t.Fatalf("after scale +1: instances %v, want [0 1 2] (the freed number reused)", got)
	}
	for _, p := range ps {
		if p.Instance == 1 {
			if env := envOf(t, home, p.ID); env["NODE_APP_INSTANCE"] != "1" {
				t.Errorf("reused instance 1 has NODE_APP_INSTANCE=%q", env["NODE_APP_INSTANCE"])
			}
		}
	}
}

func TestIncrementVar(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	file := processFile(t, home, "ports.json", map[string]any{
		"name": "ports", "script": fixture("echo.sh"), "instances": 3, "increment_var": "PORT",
		"env": map[string]string{"PORT": "3000"},
	})
	mustRun(t, home, "start", file)
	ps := waitInstances(t, home, "ports", 3)
	for _, p := range ps {
		want := strconv.Itoa(3000 + p.Instance)
		if got := envOf(t, home, p.ID)["PORT"]; got != want {
			t.Errorf("instance %d: gpm env PORT=%q, want %q", p.Instance, got, want)
		}
		log := waitFileContains(t, filepath.Join(home, api.LogsDir, fmt.Sprintf("ports-out-%d.log", p.ID)), "ready")
		if v, _ := lastValue(log, "PORT"); v != want {
			t.Errorf("instance %d saw PORT=%q, want %q", p.Instance, v, want)
		}
	}
}

func TestEnvRefresh(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	log := outLog(home, "envapp")
	mustRunWith(t, home, opts{env: []string{"FOO=1"}}, "start", fixture("echo.sh"), "--name", "envapp")
	p := waitOnline(t, home, "envapp")
	waitFileContains(t, log, "ready")
	if v, _ := lastValue(readFile(t, log), "FOO"); v != "1" {
		t.Fatalf("app saw FOO=%q at start, want 1", v)
	}

	// Without --update-env a restart keeps the environment the app was started with.
	mustRunWith(t, home, opts{env: []string{"FOO=2"}}, "restart", "envapp")
	q := waitProc(t, home, "envapp", 10*time.Second, "restarted", func(q api.Process) bool { return isOnline(q) && q.PID != p.PID })
	waitFor(t, 10*time.Second, func() bool { return countOf(readFile(t, log), "ready") == 2 }, "second run logged")
	if v, _ := lastValue(readFile(t, log), "FOO"); v != "1" {
		t.Errorf("restart without --update-env: app saw FOO=%q, want 1", v)
	}
	if v := envOf(t, home, q.ID)["FOO"]; v != "1" {
		t.Errorf("restart without --update-env: gpm env FOO=%q, want 1", v)
	}

	mustRunWith(t, home, opts{env: []string{"FOO=2"}}, "restart", "envapp", "--update-env")
	waitProc(t, home, "envapp", 10*time.Second, "restarted", func(r api.Process) bool { return isOnline(r) && r.PID != q.PID })
	waitFor(t, 10*time.Second, func() bool { return countOf(readFile(t, log), "ready") == 3 }, "third run logged")
	if v, _ := lastValue(readFile(t, log), "FOO"); v != "2" {
		t.Errorf("restart --update-env: app saw FOO=%q, want 2", v)
	}
	if v := envOf(t, home, q.ID)["FOO"]; v != "2" {
		t.Errorf("restart --update-env: gpm env FOO=%q, want 2", v)
	}
}

// countOf counts the lines of s equal to line.
func countOf(s, line string) int {
	n := 0
	for _, l := range lines(s) {
		if l == line {
			n++
		}
	}
	return n
}
