//go:build unix

package platform

import (
	"errors"
	"testing"
)

// A pid of 1 or less is refused before kill(2), which reads it as many processes (0: the caller's own group, -1:
// every process). Signal 0 keeps the test harmless if the guard is missing: it only checks.
func TestSignalRefusesNoPID(t *testing.T) {
	for _, pid := range []int{1, 0, -1} {
		if err := Signal(pid, 0); !errors.Is(err, errNoPID) {
			t.Errorf("Signal(%d) = %v, want errNoPID", pid, err)
		}
		if err := SignalGroup(pid, 0); !errors.Is(err, errNoPID) {
			t.Errorf("SignalGroup(%d) = %v, want errNoPID", pid, err)
		}
		if GroupAlive(pid) || Alive(pid) {
			t.Errorf("GroupAlive/Alive(%d) true", pid)
		}
	}
}
