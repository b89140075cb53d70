package cgroup

import (
	"os"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestNewAfterKilledLeftover: a cgroup that Remove had to leave (its processes were still dying after cgroup.kill)
// and that New takes again once empty must let a process started into it live. On Linux 6.18 a child cloned into a
// cgroup that was once killed through cgroup.kill is killed at birth, so New makes such a cgroup afresh.
func TestNewAfterKilledLeftover(t *testing.T) {
	h, err := Open(t.TempDir())
	if err != nil {
		t.Skipf("no writable cgroup v2 here: %v", err)
	}
	defer h.Close()
	start := func(g *Group) int {
		t.Helper()
		pid, err := syscall.ForkExec("/bin/sleep", []string{"sleep", "1000"},
			&syscall.ProcAttr{Sys: &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: g.FD()}})
		if err != nil {
			t.Fatal(err)
		}
		return pid
	}
	g, err := h.New("reuse", 1, func() {})
	if err != nil {
		t.Fatal(err)
	}
	pid := start(g)
	for deadline := time.Now().Add(10 * time.Second); !g.Populated(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the sleep never showed in the cgroup")
		}
	}
	if err := g.Kill(); err != nil {
		t.Fatal(err)
	}
	g.Remove() // while the sleep may still be dying: the directory can stay (EBUSY), as Remove documents
	var ws unix.WaitStatus
	unix.Wait4(pid, &ws, 0, nil)
	for deadline := time.Now().Add(10 * time.Second); populated(g.path); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the killed cgroup never emptied")
		}
	}
	if _, err := os.Stat(g.path); err != nil {
		// Removed at once: make the leftover by hand, killed as the daemon's would have been.
		if err := os.Mkdir(g.path, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(g.path+"/cgroup.kill", []byte("1"), 0o644); err != nil {
			t.Skipf("no cgroup.kill here: %v", err)
		}
	}
	g2, err := h.New("reuse", 1, func() {})
	if err != nil {
		t.Fatal(err)
	}
	defer g2.Remove()
	pid = start(g2)
	time.Sleep(300 * time.Millisecond) // a bounded window for what must not happen: the kill at birth lands at once
	if wpid, err := unix.Wait4(pid, &ws, unix.WNOHANG, nil); err != nil || wpid == pid {
		t.Fatalf("a process started into the cgroup New gave again died at once: %v (status %v)", err, ws)
	}
	g2.Kill()
	unix.Wait4(pid, &ws, 0, nil)
}
