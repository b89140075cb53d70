package config

import (
	"strconv"
	"strings"
	"testing"
)

// FuzzSignal: SignalNumber accepts only signal numbers 1..64 and known names; SignalName returns s unchanged or a
// canonical name, which names the same signal and is its own canonical name.
func FuzzSignal(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		n, ok := SignalNumber(s)
		if ok && (n < 1 || n > 64) {
			t.Fatalf("SignalNumber(%q) = %d, true: not a signal number", s, n)
		}
		name := SignalName(s)
		if name == s {
			return
		}
		m, known := SignalNumber(name)
		switch {
		case !known || !strings.HasPrefix(name, "SIG"):
			t.Fatalf("SignalName(%q) = %q, which is not a known signal name", s, name)
		case SignalName(name) != name:
			t.Fatalf("SignalName(%q) = %q, but SignalName(%q) = %q", s, name, name, SignalName(name))
		case !ok || n != m:
			t.Fatalf("SignalName(%q) = %q (%d), but SignalNumber(%q) = %d, %v", s, name, m, s, n, ok)
		}
		if _, err := strconv.Atoi(strings.TrimSpace(s)); err == nil {
			t.Fatalf("SignalName(%q) = %q: a number has no name here", s, name)
		}
	})
}
