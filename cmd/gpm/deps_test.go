package main

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestDependencies guards what the binary links, per OS: no systemd or D-Bus client code outside Linux, and on no
// OS the TLS stack (go-systemd's activation package pulled it in and cost the daemon 1.5 MB of its 12 MB budget), and
// kardianos/service only on Windows (its package init probes for init systems: 0.7 ms on every CLI call), and on
// no OS the console's terminal libraries (charm.land, github.com/charmbracelet): gpm monit runs them in gpm-monit,
// since their package inits cost every CLI call 1-3 ms and the daemon 1.4 MB of memory.
func TestDependencies(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	tests := []struct {
		goos      string
		forbidden []string
	}{
		{"linux", []string{"crypto/tls", "github.com/coreos/go-systemd", "github.com/godbus/dbus", "github.com/kardianos/service", "charm.land", "github.com/charmbracelet"}},
		{"windows", []string{"crypto/tls", "github.com/coreos/go-systemd", "github.com/godbus/dbus", "charm.land", "github.com/charmbracelet"}},
		{"darwin", []string{"crypto/tls", "github.com/coreos/go-systemd", "github.com/godbus/dbus", "github.com/kardianos/service", "charm.land", "github.com/charmbracelet"}},
	}
	for _, tt := range tests {
		t.Run(tt.goos, func(t *testing.T) {
			cmd := exec.Command("go", "list", "-deps", ".")
			cmd.Env = append(os.Environ(), "GOOS="+tt.goos, "CGO_ENABLED=0")
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("go list: %v\n%s", err, out)
			}
			deps := strings.Fields(string(out))
			if !slices.Contains(deps, "github.com/gpmd/gpm/service") {
				t.Fatalf("go list -deps did not list the daemon package: %s", out)
			}
			for _, dep := range deps {
				for _, f := range tt.forbidden {
					if dep == f || strings.HasPrefix(dep, f+"/") {
						t.Errorf("GOOS=%s: gpm links %s", tt.goos, dep)
					}
				}
			}
		})
	}
}
