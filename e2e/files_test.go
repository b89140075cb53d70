//go:build linux

package e2e

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gpmd/gpm/api"
)

func names(ps []api.Process) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Name)
	}
	slices.Sort(out)
	return out
}

func TestProcessFileJSON5(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	file := fixture("ecosystem.json")
	mustRun(t, home, "start", file)
	waitOnline(t, home, "web")
	workers := waitInstances(t, home, "worker", 2)
	if got := names(jlist(t, home)); !slices.Equal(got, []string{"web", "worker", "worker"}) {
		t.Fatalf("apps %v, want web and two workers", got)
	}
	if v := envOf(t, home, one(t, home, "web").ID)["FOO"]; v != "web-dev" {
		t.Errorf("web: FOO=%q, want web-dev (env of the file)", v)
	}
	if ms := workers[0].Config.KillTimeout; ms != 300 {
		t.Errorf("worker kill_timeout %d, want 300 (\"300\" coerced)", ms)
	}

	// Starting the same file again restarts its apps: same ids, no duplicates, restarts +1.
	before := jlist(t, home)
	mustRun(t, home, "start", file)
	after := jlist(t, home)
	if len(after) != len(before) {
		t.Fatalf("second start of the file: %d processes, was %d", len(after), len(before))
	}
	for i := range before {
		if after[i].ID != before[i].ID || after[i].Name != before[i].Name {
			t.Errorf("process %d changed identity: %s/%d → %s/%d", i, before[i].Name, before[i].ID, after[i].Name, after[i].ID)
		}
		if after[i].Restarts != before[i].Restarts+1 {
			t.Errorf("%s (id %d): restarts %d → %d, want +1", after[i].Name, after[i].ID, before[i].Restarts, after[i].Restarts)
		}
	}

	mustRun(t, home, "stop", file)
	for _, p := range jlist(t, home) {
		if p.Status != api.StatusStopped {
			t.Errorf("after gpm stop FILE: %s (id %d) is %s", p.Name, p.ID, p.Status)
		}
	}
	mustRun(t, home, "delete", file)
	if l := jlist(t, home); len(l) != 0 {
		t.Errorf("after gpm delete FILE: %d processes left", len(l))
	}
}

func TestProcessFileOnlyAndEnv(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	mustRun(t, home, "start", fixture("ecosystem.json"), "--only", "web", "--env", "production")
	p := waitOnline(t, home, "web")
	if got := names(jlist(t, home)); !slices.Equal(got, []string{"web"}) {
		t.Errorf("--only web started %v", got)
	}
	env := envOf(t, home, p.ID)
	if env["MODE"] != "production" {
		t.Errorf("--env production: MODE=%q, want production (env_production)", env["MODE"])
	}
	if env["FOO"] != "web-dev" {
		t.Errorf("--env production: FOO=%q, want web-dev (env stays under env_production)", env["FOO"])
	}
	log := waitFileContains(t, outLog(home, "web"), "ready")
	if v, _ := lastValue(log, "MODE"); v != "production" {
		t.Errorf("app saw MODE=%q, want production", v)
	}
	// Options other than --env, --only, --update-env, --force, --parallel do not act on a file: said.
	_, stderr, code := run(t, home, "restart", fixture("ecosystem.json"), "--only", "web", "--time", "--watch")
	if code != 0 || !strings.Contains(stderr, "--time, --watch apply to scripts, not to process files") {
		t.Errorf("restart FILE --time --watch: exit %d, %q; want a restart and a warning", code, stderr)
	}
	// By name, --env cannot apply (env_<name> is in the file): said, not silently ignored.
	_, stderr, code = run(t, home, "restart", "web", "--env", "staging")
	if code != 0 || !strings.Contains(stderr, "--env staging applies to process files") {
		t.Errorf("restart web --env staging: exit %d, %q; want a restart and a warning", code, stderr)
	}
}

func TestProcessFileYAMLAndStdin(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	mustRun(t, home, "start", fixture("ecosystem.yml"))
	p := waitOnline(t, home, "yweb")
	if v := envOf(t, home, p.ID)["FOO"]; v != "from-yaml" {
		t.Errorf("yaml env FOO=%q", v)
	}
	stdin := fmt.Sprintf("{ apps: [ { name: 'fromstdin', script: %q, }, ], }\n", fixture("echo.sh"))
	mustRunWith(t, home, opts{stdin: stdin}, "start", "-")
	waitOnline(t, home, "fromstdin")
}

func TestProcessFileErrors(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	mustRun(t, home, "ping")

	_, stderr, code := run(t, home, "start", fixture("malformed.json"))
	if code == 0 {
		t.Errorf("malformed file: exit 0")
	}
	if !regexp.MustCompile(`malformed\.json:\d+`).MatchString(stderr) {
		t.Errorf("malformed file: stderr does not name the file and a line:\n%s", stderr)
	}
	if l := jlist(t, home); len(l) != 0 {
		t.Errorf("malformed file started %v", names(l))
	}

	_, stderr, code = run(t, home, "start", fixture("invalid.json"))
	if code == 0 {
		t.Errorf("instances: \"lots\": exit 0")
	}
	if !strings.Contains(stderr, "instances") || !strings.Contains(stderr, "invalid.json") {
		t.Errorf("invalid field: stderr does not name the file and the field:\n%s", stderr)
	}
	if l := jlist(t, home); len(l) != 0 {
		t.Errorf("invalid file started %v (its first app is valid: nothing may start)", names(l))
	}

	_, stderr, code = run(t, home, "start", fixture("unknown_key.json"))
	if code != 0 {
		t.Fatalf("unknown key: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "warning") || !strings.Contains(stderr, "frobnicate_level") {
		t.Errorf("unknown key: no warning naming it on stderr:\n%s", stderr)
	}
	waitOnline(t, home, "unk")
}

// TestProcessFileInstanceChange starts a file again with fewer, then more instances: the count follows the file.
func TestProcessFileInstanceChange(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	file := func(n int) string {
		return fmt.Sprintf("{ apps: [ { name: 'resize', script: %q, instances: %d } ] }", fixture("echo.sh"), n)
	}
	mustRunWith(t, home, opts{stdin: file(3)}, "start", "-")
	waitInstances(t, home, "resize", 3)
	mustRunWith(t, home, opts{stdin: file(1)}, "start", "-")
	if got := instanceSet(waitInstances(t, home, "resize", 1)); !slices.Equal(got, []int{0}) {
		t.Errorf("after restarting with instances 1: %v, want [0]", got)
	}
	mustRunWith(t, home, opts{stdin: file(2)}, "start", "-")
	if got := instanceSet(waitInstances(t, home, "resize", 2)); !slices.Equal(got, []int{0, 1}) {
		t.Errorf("after restarting with instances 2: %v, want [0 1]", got)
	}
}
