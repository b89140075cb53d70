//go:build linux

package e2e

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gpmd/gpm/api"
	"github.com/gpmd/gpm/client"
)

// TestReloadForkModeOneAtATime: an app without sockets cannot hand over a socket, so reload restarts its instances
// one after the other: each is online again before the next one is stopped. The order is read from the daemon's own
// event stream (an app's log lines would race with the next stop).
func TestReloadForkModeOneAtATime(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	mustRun(t, home, "start", fixture("echo.sh"), "--name", "forky", "-i", "3")
	before := procs(t, home, "forky")
	conn, err := client.Dial(context.Background(), home)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	var seen []string
	probed := make(chan struct{})
	go conn.Subscribe(ctx, nil, func(e api.Event) error {
		if e.Type != api.EventState {
			return nil
		}
		if e.Name == "probe" && e.Status == api.StatusOnline {
			select {
			case <-probed:
			default:
				close(probed)
			}
		}
		if e.Name == "forky" && (e.Status == api.StatusStopping || e.Status == api.StatusOnline) {
			mu.Lock()
			seen = append(seen, fmt.Sprintf("%s %d", e.Status, e.ID))
			mu.Unlock()
		}
		return nil
	})
	// An event the subscription sees proves it is in place before the reload starts: restart a probe app until
	// its online event arrives.
	mustRun(t, home, "start", fixture("echo.sh"), "--name", "probe")
	for deadline := time.Now().Add(10 * time.Second); ; {
		mustRun(t, home, "restart", "probe")
		select {
		case <-probed:
		case <-time.After(200 * time.Millisecond):
			if time.Now().Before(deadline) {
				continue
			}
			t.Fatal("the subscription never saw the probe's events")
		}
		break
	}
	mustRun(t, home, "reload", "forky")
	var want []string
	for _, p := range before {
		want = append(want, fmt.Sprintf("stopping %d", p.ID), fmt.Sprintf("online %d", p.ID))
	}
	waitFor(t, 5*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return len(seen) >= len(want) }, "the reload's events")
	mu.Lock()
	got := strings.Join(seen, ", ")
	mu.Unlock()
	if got != strings.Join(want, ", ") {
		t.Fatalf("reload order: %s; want %s (one instance at a time)", got, strings.Join(want, ", "))
	}
	after := procs(t, home, "forky")
	for i := range after {
		if after[i].PID == before[i].PID || !isOnline(after[i]) {
			t.Fatalf("instance %d: pid %d -> %d, %s: want a new online process", i, before[i].PID, after[i].PID, after[i].Status)
		}
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
