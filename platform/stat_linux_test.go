package platform

import (
	"os"
	"testing"
)

func TestStatParent(t *testing.T) {
	tests := []struct {
		line string
		want int
	}{
		{"1234 (sleep) S 1 1234 1234 0 -1 4194304 92 0 0 0\n", 1},
		{"77 (my app) R 4242 77 77 0 -1\n", 4242},
		{"77 (a) b) (c) S 99 77 77 0\n", 99},              // a name with parentheses and spaces
		{"12 (kworker/u8:2-events_unbound) I 2 0 0\n", 2}, // a kernel worker's long name
		{"5 (x) Z 31\n", 31},                              // the line ends right after the ppid
		{"5 (x) S 3", 0},                                  // cut inside the ppid: unknown
		{"5 (x) S", 0},
		{"no parenthesis here", 0},
		{"5 (x) S -1 0", 0},
		{"", 0},
	}
	for _, tt := range tests {
		if got := statParent([]byte(tt.line)); got != tt.want {
			t.Errorf("statParent(%q) = %d, want %d", tt.line, got, tt.want)
		}
	}
}

func TestParentPIDOfThisProcess(t *testing.T) {
	if got, want := ParentPID(os.Getpid()), os.Getppid(); got != want {
		t.Errorf("ParentPID(self) = %d, want %d", got, want)
	}
	if got := ParentPID(1 << 30); got != 0 {
		t.Errorf("ParentPID of a pid that cannot exist = %d, want 0", got)
	}
	// Every process of the snapshot is found under its parent.
	tree := Snapshot()
	found := false
	for _, c := range tree.children[os.Getppid()] {
		found = found || c == os.Getpid()
	}
	if !found {
		t.Errorf("Snapshot: pid %d not among the children of %d", os.Getpid(), os.Getppid())
	}
}
