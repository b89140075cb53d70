package cgroup

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gpmd/gpm/internal/rawfile"
)

// TestGroupKillAndEvents_Issue12: a child started with the group's FD is in the cgroup from its first instruction
// with everything it forks (a double-forked setsid grandchild too); Kill ends them all, and the emptiness is told
// through inotify on cgroup.events.
func TestGroupKillAndEvents_Issue12(t *testing.T) {
	h, err := Open(t.TempDir())
	if err != nil {
		t.Skipf("no writable cgroup v2 here: %v", err)
	}
	defer h.Close()
	changed := make(chan struct{}, 16)
	g, err := h.New("demo app", 7, func() { changed <- struct{}{} })
	if err != nil {
		t.Fatal(err)
	}
	defer g.Remove()
	if !strings.HasSuffix(g.Path(), "/app-demo-app-7") {
		t.Errorf("cgroup %s, want app-demo-app-7", g.Path())
	}
	pid, err := syscall.ForkExec("/bin/sh", []string{"sh", "-c", "( setsid sleep 1000 & ); sleep 1000 & exec sleep 1000"},
		&syscall.ProcAttr{Sys: &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: g.FD()}})
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); len(g.Procs()) < 3; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("cgroup.procs %v: want the shell's 3 sleeps", g.Procs())
		}
	}
	if !g.Populated() {
		t.Fatal("not populated")
	}
	// A second run while the first is populated gets a slot of its own.
	g2, err := h.New("demo app", 7, func() {})
	if err != nil {
		t.Fatal(err)
	}
	if g2.Path() != g.Path()+"-1" {
		t.Errorf("second run in %s, want %s-1", g2.Path(), g.Path())
	}
	g2.Remove()
	u, err := g.Usage()
	if err != nil || u.Memory == 0 {
		t.Errorf("usage %+v %v: want the RSS of the sleeps", u, err)
	}
	for len(changed) > 0 {
		<-changed
	}
	if err := g.Kill(); err != nil {
		t.Fatal(err)
	}
	var ws unix.WaitStatus
	unix.Wait4(pid, &ws, 0, nil)
	select {
	case <-changed:
	case <-time.After(10 * time.Second):
		t.Log("no inotify event within 10 s (the kernel may miss one: callers re-check)")
	}
	for deadline := time.Now().Add(10 * time.Second); g.Populated(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("still populated after Kill: %v", g.Procs())
		}
	}
}

// TestLimitsRefusedWithoutController_Issue12: a limit whose controller the subtree lacks is an error that names
// the controller and how to get it.
func TestLimitsRefusedWithoutController_Issue12(t *testing.T) {
	h, err := Open(t.TempDir())
	if err != nil {
		t.Skipf("no writable cgroup v2 here: %v", err)
	}
	defer h.Close()
	g, err := h.New("lim", 1, func() {})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Remove()
	for _, c := range []struct {
		l    Limits
		ctl  string
		file string
	}{{Limits{MemoryMax: 1 << 20}, "memory", "memory.max"}, {Limits{CPUQuota: 50}, "cpu", "cpu.max"}, {Limits{TasksMax: 10}, "pids", "pids.max"}} {
		err := g.SetLimits(c.l)
		if h.Has(c.ctl) {
			b, _ := os.ReadFile(filepath.Join(g.Path(), c.file))
			if err != nil || len(b) == 0 {
				t.Errorf("%s: %v %q", c.file, err, b)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), "the "+c.ctl+" controller is not enabled") || !strings.Contains(err.Error(), "Delegate=yes") {
			t.Errorf("%+v without the %s controller: %v", c.l, c.ctl, err)
		}
	}
}

// TestUsageFollowsTheCgroup_Issue13: Usage reads its files through descriptors kept open (pread at offset 0), so
// each call must see the cgroup as it is now: cpu time that grew, a process that joined (its RSS added) and one
// that left (its RSS gone), and an error once the group is removed.
func TestUsageFollowsTheCgroup_Issue13(t *testing.T) {
	h, err := Open(t.TempDir())
	if err != nil {
		t.Skipf("no writable cgroup v2 here: %v", err)
	}
	defer h.Close()
	g, err := h.New("usage", 1, func() {})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Remove()
	start := func(script string) int {
		pid, err := syscall.ForkExec("/bin/sh", []string{"sh", "-c", script},
			&syscall.ProcAttr{Sys: &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: g.FD()}})
		if err != nil {
			t.Fatal(err)
		}
		return pid
	}
	wait := func(what string, ok func(Usage) bool) Usage {
		t.Helper()
		var u Usage
		// Longer than MemoryMaxAge: on a loaded machine the read after an exit may list the dying process still,
		// and the next re-read of the memory without the memory controller is then up to MemoryMaxAge away.
		for deadline := time.Now().Add(MemoryMaxAge + 10*time.Second); ; time.Sleep(10 * time.Millisecond) {
			if u, err = g.Usage(); err == nil && ok(u) {
				return u
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: usage %+v %v, procs %v", what, u, err, g.Procs())
			}
		}
	}
	u0, err := g.Usage()
	if err != nil || u0.Memory != 0 {
		t.Fatalf("empty cgroup: usage %+v %v", u0, err)
	}
	a := start("exec sleep 1000")
	u1 := wait("one sleep", func(u Usage) bool { return u.Memory > 0 && len(g.Procs()) == 1 })
	// A busy second process: cpu time grows, and its memory is added.
	b := start("i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; exec sleep 1000")
	u2 := wait("a second process that ran", func(u Usage) bool { return u.CPU > u1.CPU+5*time.Millisecond && len(g.Procs()) == 2 })
	if !u2.MemoryCurrent {
		u2 = wait("its memory added", func(u Usage) bool { return u.Memory > u1.Memory })
	}
	// The first leaves: its memory is gone at the next Usage (exiting moves the cgroup's cpu time).
	unix.Kill(a, unix.SIGKILL)
	var ws unix.WaitStatus
	unix.Wait4(a, &ws, 0, nil)
	if !u2.MemoryCurrent {
		wait("the first one's memory gone", func(u Usage) bool { return u.Memory < u2.Memory })
	}
	unix.Kill(b, unix.SIGKILL)
	unix.Wait4(b, &ws, 0, nil)
	g.Remove()
	if u, err := g.Usage(); err == nil {
		t.Errorf("usage after Remove: %+v, want an error", u)
	}
}

// TestPreadAll_Issue13: preadAll returns a whole file, from its start at every call, whether it fits the buffer
// or not.
func TestPreadAll_Issue13(t *testing.T) {
	for _, size := range []int{0, 10, 1023, 1024, 1025, 5000} {
		path := filepath.Join(t.TempDir(), "f")
		want := []byte(strings.Repeat("1234567\n", size/8+1)[:size])
		if err := os.WriteFile(path, want, 0o600); err != nil {
			t.Fatal(err)
		}
		fd, err := openRead(path)
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			var buf [1024]byte
			got, err := rawfile.Pread(fd, buf[:], maxFileBytes)
			if err != nil || string(got) != string(want) {
				t.Errorf("size %d: got %d bytes, %v", size, len(got), err)
			}
		}
		unix.Close(fd)
	}
}

// TestUsageWithinDescriptorBudget_Issue13: past the Hierarchy's descriptor budget, Usage opens its files at each
// read and gives the same figures; Remove gives the held descriptors back.
func TestUsageWithinDescriptorBudget_Issue13(t *testing.T) {
	h, err := Open(t.TempDir())
	if err != nil {
		t.Skipf("no writable cgroup v2 here: %v", err)
	}
	defer h.Close()
	for _, budget := range []int64{0, 1, 2, 64} {
		h.fdBudget = budget
		g, err := h.New("budget", int(budget), func() {})
		if err != nil {
			t.Fatal(err)
		}
		pid, err := syscall.ForkExec("/bin/sh", []string{"sh", "-c", "sleep 1000 & exec sleep 1000"},
			&syscall.ProcAttr{Sys: &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: g.FD()}})
		if err != nil {
			t.Fatal(err)
		}
		// Both must be sleep already: the shell's RSS changes when it execs.
		for deadline := time.Now().Add(10 * time.Second); !allSleep(g.Procs()); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("cgroup.procs %v: want 2 sleeps", g.Procs())
			}
		}
		// A just-exec'd process may still fault pages in: the figures must agree once they are still.
		var u Usage
		var want uint64
		for try := 0; try < 50; try++ {
			want = 0
			for _, p := range g.Procs() {
				want += RSS(p)
			}
			if u, err = g.Usage(); err != nil || u.MemoryCurrent || u.Memory == want {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err != nil || u.CPU == 0 || !u.MemoryCurrent && u.Memory != want {
			t.Errorf("budget %d: usage %+v %v, want memory %d", budget, u, err, want)
		}
		if held := h.fdsHeld.Load(); held > budget {
			t.Errorf("budget %d: %d descriptors held", budget, held)
		}
		g.Kill()
		var ws unix.WaitStatus
		unix.Wait4(pid, &ws, 0, nil)
		for deadline := time.Now().Add(10 * time.Second); g.Populated() && time.Now().Before(deadline); {
			time.Sleep(10 * time.Millisecond)
		}
		g.Remove()
		if held := h.fdsHeld.Load(); held != 0 {
			t.Errorf("budget %d: %d descriptors held after Remove", budget, held)
		}
	}
}

// allSleep reports whether pids are two processes that both run sleep.
func allSleep(pids []int) bool {
	if len(pids) != 2 {
		return false
	}
	for _, p := range pids {
		comm, err := os.ReadFile("/proc/" + strconv.Itoa(p) + "/comm")
		if err != nil || strings.TrimSpace(string(comm)) != "sleep" {
			return false
		}
	}
	return true
}
