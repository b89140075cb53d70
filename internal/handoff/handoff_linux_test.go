package handoff

import "testing"

// TestParent: the directory of an absolute path, as the look-up of gpmd beside gpm and in ../libexec/gpm needs.
func TestParent(t *testing.T) {
	for p, want := range map[string]string{"/usr/bin/gpm": "/usr/bin", "/gpm": "/", "/": "/", "/usr/bin": "/usr"} {
		if got := parent(p); got != want {
			t.Errorf("parent(%q) = %q, want %q", p, got, want)
		}
	}
}
