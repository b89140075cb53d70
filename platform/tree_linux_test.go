package platform

import (
	"os"
	"os/exec"
	"slices"
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
