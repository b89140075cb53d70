//go:build linux

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/gpmd/gpm/client"
)

// Tolerances of TestLeakRestarts: what the daemon may hold more after the restarts than before, once its apps are
// stopped again. Each is far below one leaked item per restart at the CI count (500) and a fraction of one per
// hundred at `make leak`'s (10,000).
const (
	leakFDs        = 2       // a descriptor opened once on first use (the journal, a cgroup file) is not a leak
	leakGoroutines = 3       // background workers that exit when idle (log compression, pid files) may still run
	leakHeap       = 2 << 20 // live heap after a GC, bytes
	leakRSS        = 16 << 20
)

// leakStats is the daemon's debug.stats answer (service/debug_hooks.go) with what /proc says of it.
type leakStats struct {
	Goroutines int    `json:"goroutines"`
	HeapAlloc  uint64 `json:"heap_alloc"`
	HeapObjs   uint64 `json:"heap_objects"`
	Sys        uint64 `json:"sys"`
	Stacks     string `json:"stacks"`
	FDs        int    `json:"-"`
	RSS        int64  `json:"-"`
}

func (s leakStats) String() string {
	return fmt.Sprintf("%d fds, %d goroutines, live heap %d KB (%d objects), Go sys %d MB, RSS %d MB",
		s.FDs, s.Goroutines, s.HeapAlloc>>10, s.HeapObjs, s.Sys>>20, s.RSS>>20)
}

// daemonStats reads the daemon's fds and RSS from /proc and its goroutines and live heap (after a GC) from the
// debug.stats hook; the daemon must run with GPM_TEST_HOOKS=1.
func daemonStats(t *testing.T, home string, stacks bool) leakStats {
	t.Helper()
	c, err := client.Dial(context.Background(), home)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var s leakStats
	if err := c.Call(context.Background(), "debug.stats", map[string]bool{"gc": true, "stacks": stacks}, &s); err != nil {
		t.Fatalf("debug.stats: %v", err)
	}
	pid := daemonPid(t, home)
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	s.FDs = len(ents)
	s.RSS = daemonRSS(t, home)
	return s
}

// settledStats waits until the daemon's fd and goroutine counts hold still over three readings (what a stop left
// running, pumps draining their pipes, has ended) and returns the last.
func settledStats(t *testing.T, home string) leakStats {
	t.Helper()
	var prev leakStats
	same := 0
	waitFor(t, 10*time.Second, func() bool {
		s := daemonStats(t, home, false)
		if s.FDs == prev.FDs && s.Goroutines == prev.Goroutines {
			same++
		} else {
			same = 0
		}
		prev = s
		time.Sleep(200 * time.Millisecond)
		return same >= 2
	}, "the daemon's fds and goroutines to settle")
	return prev
}

// TestLeakRestarts: GPM_LEAK_RESTARTS restarts (default 500; `make leak` runs 10,000) of ten crash-looping apps,
// restarted at once forever, with their logs on: once they are stopped, the daemon holds no more fds, goroutines,
// live heap or RSS than before the restarts (after a warm-up of its own), beyond the tolerances above.
func TestLeakRestarts(t *testing.T) {
	t.Parallel()
	n := 500
	if v := os.Getenv("GPM_LEAK_RESTARTS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n <= 0 {
			t.Fatalf("GPM_LEAK_RESTARTS=%q: want a positive number", v)
		}
	}
	home := newHome(t)
	const apps = 10
	var list []map[string]any
	for i := range apps {
		list = append(list, map[string]any{
			"name": fmt.Sprintf("loop%d", i), "script": fixture("crash.sh"), "args": []string{"3"},
			"interpreter": "sh", "min_uptime": 0, "restart_delay": 0,
		})
	}
	b, err := json.Marshal(map[string]any{"apps": list})
	if err != nil {
		t.Fatal(err)
	}
	file := writeFile(t, home, "loops.json", string(b))
	restarts := func() int {
		sum := 0
		for _, p := range jlist(t, home) {
			sum += p.Restarts
		}
		return sum
	}
	// crash runs the apps until they have made want restarts in all, then stops them.
	crash := func(start string, want int) time.Duration {
		t0 := time.Now()
		mustRun(t, home, start, file)
		// At least 30 restarts a second on a loaded machine: 10,000 in under six minutes.
		waitFor(t, time.Duration(want/30+10)*time.Second, func() bool { return restarts() >= want }, fmt.Sprintf("%d restarts", want))
		took := time.Since(t0)
		mustRun(t, home, "stop", "all")
		return took
	}
	mustRunWith(t, home, opts{env: []string{"GPM_TEST_HOOKS=1"}}, "ping")
	warm := max(100, n/20)
	crash("start", warm)
	before := settledStats(t, home)
	r0 := restarts()
	took := crash("restart", r0+n)
	after := settledStats(t, home)
	r1 := restarts()
	t.Logf("%d restarts in %v (%.0f/s)", r1-r0, took.Round(time.Millisecond), float64(r1-r0)/took.Seconds())
	t.Logf("before: %s", before)
	t.Logf("after:  %s", after)
	grew := false
	check := func(what string, got, was, tol int64) {
		if got-was > tol {
			t.Errorf("%s grew from %d to %d over %d restarts (tolerance %d)", what, was, got, r1-r0, tol)
			grew = true
		}
	}
	check("fds", int64(after.FDs), int64(before.FDs), leakFDs)
	check("goroutines", int64(after.Goroutines), int64(before.Goroutines), leakGoroutines)
	check("live heap (bytes)", int64(after.HeapAlloc), int64(before.HeapAlloc), leakHeap)
	check("RSS (bytes)", after.RSS, before.RSS, leakRSS)
	if grew {
		t.Logf("the daemon's goroutines now:\n%s", daemonStats(t, home, true).Stacks)
		out, _ := exec.Command("ls", "-l", fmt.Sprintf("/proc/%d/fd", daemonPid(t, home))).CombinedOutput()
		t.Logf("its fds:\n%s", out)
	}
}
