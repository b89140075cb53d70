package e2e

import (
	"strings"
	"testing"
)

// TestStartScriptNewName: `gpm start sleep --name b` beside an app that runs sleep under another name starts a new
// app (PM2 restarts an app only when both its script and its name match); with the name of one of the apps the
// script selects, it restarts that app alone; with a name of another app, it is a rename and refused.
func TestStartScriptNewName(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	mustRun(t, home, "start", "sleep", "--name", "a", "--", "1001")
	mustRun(t, home, "start", "sleep", "--name", "b", "--", "1002")
	a, b := one(t, home, "a"), one(t, home, "b")
	if a.Restarts != 0 || b.Restarts != 0 || a.PID == b.PID {
		t.Fatalf("two apps of the same script: a %+v, b %+v", a, b)
	}
	mustRun(t, home, "start", "sleep", "--name", "b")
	if a2, b2 := one(t, home, "a"), one(t, home, "b"); a2.Restarts != 0 || b2.Restarts != 1 {
		t.Errorf("start sleep --name b: restarts a %d, b %d; want 0 and 1", a2.Restarts, b2.Restarts)
	}
	_, stderr, code := run(t, home, "start", "a", "--name", "b")
	if code != 1 || !strings.Contains(stderr, "rename") {
		t.Errorf("start a --name b: exit %d, stderr %q; want a refused rename", code, stderr)
	}
	if n := len(jlist(t, home)); n != 2 {
		t.Errorf("%d processes, want 2", n)
	}
}
