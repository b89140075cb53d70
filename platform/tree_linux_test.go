package platform

import (
	"bytes"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"
)

func TestStatStart(t *testing.T) {
	tests := []struct {
		line  string
		start uint64
		state byte
		ok    bool
	}{
		{"1234 (sleep) S 1 1234 1234 0 -1 4194304 92 0 0 0 0 0 0 0 20 0 1 0 65487 8503296 228 18446744073709551615\n", 65487, 'S', true},
		{"77 (a) b) (c) Z 99 77 77 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 42 0 0\n", 42, 'Z', true}, // a name with ")" and spaces
		{"77 (x) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18", 0, 0, false},               // cut before field 22
		{"no parenthesis", 0, 0, false},
		{"", 0, 0, false},
	}
	for _, tt := range tests {
		start, state, ok := statStart([]byte(tt.line))
		if start != tt.start || state != tt.state || ok != tt.ok {
			t.Errorf("statStart(%q) = %d %q %v, want %d %q %v", tt.line, start, state, ok, tt.start, tt.state, tt.ok)
		}
	}
}

// TestKillSparesAReusedPid: Kill reaches the process it identified, and nothing once that process has ended,
// whoever holds its pid afterwards (the start time no longer matches).
func TestKillSparesAReusedPid(t *testing.T) {
	cmd := exec.Command("sleep", "1000")
	cmd.Env = append(os.Environ(), "GPM_TEST_MARK=tree_linux_test")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	id, ok := Identify(cmd.Process.Pid)
	if !ok || !Running(id) {
		t.Fatalf("Identify(%d) = %v %v", cmd.Process.Pid, id, ok)
	}
	if got := WithEnv("GPM_TEST_MARK=tree_linux_test"); !slices.Contains(got, id.PID) {
		t.Errorf("WithEnv does not find the child %d: %v", id.PID, got)
	}
	if env, err := Environ(id.PID); err != nil || !slices.Contains(env, "GPM_TEST_MARK=tree_linux_test") {
		t.Errorf("Environ(%d) = %v, %v", id.PID, len(env), err)
	}
	if cl := CommandLine(id.PID); cl != "sleep 1000" {
		t.Errorf("CommandLine = %q", cl)
	}
	if kids := Snapshot().Children(os.Getpid()); !slices.Contains(kids, id.PID) {
		t.Errorf("Children(self) = %v, want %d among them", kids, id.PID)
	}
	if kids := ChildrenOf(os.Getpid()); !slices.Contains(kids, id.PID) {
		t.Errorf("ChildrenOf(self) = %v, want %d among them", kids, id.PID)
	}
	// Another start time is another process: nothing is sent.
	if err := Kill(ProcID{PID: id.PID, Start: id.Start + 1}, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		t.Fatalf("a Kill naming another start time killed the child: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	if err := Kill(id, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Kill did not kill the child")
	}
	if Running(id) {
		t.Errorf("Running(%v) after the child was reaped", id)
	}
	if err := Kill(id, syscall.SIGKILL); err != nil {
		t.Errorf("Kill of a process that is gone: %v", err)
	}
	if BootID() == "" {
		t.Errorf("no boot id")
	}
}

// TestTreeUsage_Issue13: TreeUsage sums the process and all its descendants, through the single-threaded path (a
// shell and its children and grandchildren) and the listing of /proc/PID/task (this multi-threaded test), and
// its stat parsing agrees with the fields read with bytes.Fields.
func TestTreeUsage_Issue13(t *testing.T) {
	cmd := exec.Command("/bin/sh", "-c", "sleep 1000 & (sleep 1000 & wait) & wait")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	}()
	var all []int // the shell, its sleep, the subshell and its sleep
	for deadline := time.Now().Add(10 * time.Second); len(all) != 4; time.Sleep(10 * time.Millisecond) {
		all = []int{cmd.Process.Pid}
		for i := 0; i < len(all); i++ {
			all = append(all, ChildrenOf(all[i])...)
		}
		if time.Now().After(deadline) {
			t.Fatalf("tree of %d: %v", cmd.Process.Pid, all)
		}
	}
	sum := func() uint64 {
		var s uint64
		for _, pid := range all {
			_, r, ok := Usage(pid)
			if !ok {
				t.Fatalf("Usage(%d) failed", pid)
			}
			s += r
		}
		return s
	}
	// The sleeps may still be faulting pages in: compare with a sum that did not move while TreeUsage read.
	var wantRSS, rss uint64
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		before := sum()
		var ok bool
		_, rss, ok = TreeUsage(cmd.Process.Pid, 100)
		if !ok {
			t.Fatalf("TreeUsage(%d) failed", cmd.Process.Pid)
		}
		if wantRSS = sum(); wantRSS == before && rss == wantRSS || time.Now().After(deadline) {
			break
		}
	}
	if rss != wantRSS {
		t.Errorf("TreeUsage(%d) rss %d, want %d (the sum over %v)", cmd.Process.Pid, rss, wantRSS, all)
	}
	if _, r, _ := TreeUsage(cmd.Process.Pid, 1); r >= wantRSS {
		t.Errorf("TreeUsage with max 1: rss %d, want the leader's alone", r)
	}
	if _, r, ok := TreeUsage(os.Getpid(), 100); !ok || r <= wantRSS {
		t.Errorf("TreeUsage(self) rss %d, want more than the shell's tree (%d)", r, wantRSS)
	}
	if _, _, ok := TreeUsage(1<<30, 100); ok {
		t.Error("TreeUsage of no process: ok")
	}
	// The in-place parse against bytes.Fields.
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		t.Fatal(err)
	}
	f := bytes.Fields(b[bytes.LastIndexByte(b, ')')+1:])
	threads, _ := strconv.Atoi(string(f[17]))
	pages, _ := strconv.ParseUint(string(f[21]), 10, 64)
	if _, r, th, ok := usage(os.Getpid()); !ok || th != threads || r/uint64(os.Getpagesize()) < pages/2 {
		t.Errorf("usage(self): threads %d rss %d %v; stat says %d threads, %d pages", th, r, ok, threads, pages)
	}
}
