//go:build linux

package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestReloadForkModeOneAtATime: an app without sockets cannot hand over a socket, so reload restarts its instances
// one after the other: each is back before the next one stops.
func TestReloadForkModeOneAtATime(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	dir := t.TempDir()
	events := dir + "/events"
	script := writeFile(t, dir, "inst.sh", fmt.Sprintf(`#!/bin/sh
trap 'echo "stop $GPM_INSTANCE" >> %[1]s; exit 0' INT
echo "start $GPM_INSTANCE" >> %[1]s
while :; do sleep 0.05; done
`, events))
	mustRun(t, home, "start", script, "--name", "forky", "-i", "3")
	waitFor(t, 10*time.Second, func() bool { return strings.Count(readFile(t, events), "start") == 3 }, "3 instances started")
	before := procs(t, home, "forky")
	mustRun(t, home, "reload", "forky")
	after := procs(t, home, "forky")
	for i := range after {
		if after[i].PID == before[i].PID || !isOnline(after[i]) {
			t.Fatalf("instance %d: pid %d -> %d, %s: want a new online process", i, before[i].PID, after[i].PID, after[i].Status)
		}
	}
	got := strings.Join(lines(readFile(t, events))[3:], ", ")
	if want := "stop 0, start 0, stop 1, start 1, stop 2, start 2"; got != want {
		t.Fatalf("reload order: %s; want %s (one instance at a time)", got, want)
	}
}

// TestReloadFileAppliesConfig: `gpm reload FILE` gives running apps the file's new configuration (env, instances)
// without a restart of the whole app.
func TestReloadFileAppliesConfig(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	dir := t.TempDir()
	file := func(foo string, n int) string {
		return writeFile(t, dir, "eco.json", fmt.Sprintf(`{apps: [{name: 'cfg', script: %q, instances: %d, env: {FOO: %q}}]}`,
			fixture("echo.sh"), n, foo))
	}
	mustRun(t, home, "start", file("one", 2))
	first := procs(t, home, "cfg")
	mustRun(t, home, "reload", file("two", 3))
	ps := procs(t, home, "cfg")
	if len(ps) != 3 {
		t.Fatalf("%d instances after reload, want the file's 3", len(ps))
	}
	for _, p := range ps {
		if env := envOf(t, home, p.ID); env["FOO"] != "two" {
			t.Fatalf("id %d: FOO=%q after reload, want the file's new value", p.ID, env["FOO"])
		}
	}
	for i := range first {
		if ps[i].PID == first[i].PID {
			t.Fatalf("id %d kept pid %d: reload must replace the worker", ps[i].ID, ps[i].PID)
		}
	}
}

// TestReloadAllEmpty: `reload all` with nothing to reload succeeds (it is the service unit's ExecReload=), while
// `restart all` on an empty list still fails as PM2's does.
func TestReloadAllEmpty(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	if _, stderr, code := run(t, home, "reload", "all"); code != 0 {
		t.Fatalf("reload all on an empty list: exit %d: %s", code, stderr)
	}
	if _, _, code := run(t, home, "restart", "all"); code == 0 {
		t.Fatalf("restart all on an empty list must fail")
	}
}
