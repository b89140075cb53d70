package startup

import (
	"syscall"
	"testing"
)

// TestEscapeArgIsSyscalls: escapeArg, which --print uses on every OS, quotes as CreateService does.
func TestEscapeArgIsSyscalls(t *testing.T) {
	for in := range escapeArgCases {
		if got, want := escapeArg(in), syscall.EscapeArg(in); got != want {
			t.Errorf("escapeArg(%q) = %s, syscall.EscapeArg: %s", in, got, want)
		}
	}
}
