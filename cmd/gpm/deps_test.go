package main

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestDependencies guards what the binary links, per OS: no systemd or D-Bus client code outside Linux,
// kardianos/service only on Windows (its package init probes for init systems: 0.7 ms on every CLI call), and on
// no OS the console's terminal libraries (charm.land, github.com/charmbracelet): gpm monit runs them in gpm-monit,
// since their package inits cost every CLI call 1-3 ms and the daemon 1.4 MB of memory. godbus is allowed on Linux
// alone: the daemon serves io.gpm.Manager1 there (dbusapi, issue 10); elsewhere there is no bus.
//
// crypto/tls was forbidden everywhere (go-systemd's activation package pulled it in for nothing and cost the daemon
// 1.5 MB of its 12 MB budget). The HTTP API (package web, issue 9) links it on purpose: net/http needs it, and
// `gpm web --public --cert --key` serves TLS. Its cost is in BENCHMARKS.md (issue 9); what is still forbidden is
// linking it through anything else (the client library below must stay without it).
func TestDependencies(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	tests := []struct {
		goos      string
		forbidden []string
	}{
		{"linux", []string{"github.com/coreos/go-systemd", "github.com/kardianos/service", "charm.land", "github.com/charmbracelet"}},
		{"windows", []string{"github.com/coreos/go-systemd", "github.com/godbus/dbus", "charm.land", "github.com/charmbracelet"}},
		{"darwin", []string{"github.com/coreos/go-systemd", "github.com/godbus/dbus", "github.com/kardianos/service", "charm.land", "github.com/charmbracelet"}},
	}
	for _, tt := range tests {
		t.Run(tt.goos, func(t *testing.T) {
			deps := goListDeps(t, tt.goos, "", "github.com/gpmd/gpm/service")
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

// TestClientWithoutTLS: the public client library (and the CLI's view of the protocol) links no TLS: only the
// daemon's HTTP API (package web) needs it.
func TestClientWithoutTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.Command("go", "list", "-deps", "github.com/gpmd/gpm/client").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	if slices.Contains(strings.Fields(string(out)), "crypto/tls") {
		t.Errorf("package client links crypto/tls")
	}
}

// TestThinDependencies: the thin CLI (-tags gpmthin, thin.go), the gpm users type, links none of what it hands off
// to gpmd: the daemon, the process-file parsers and exporters, the HTTP server, TLS, D-Bus, file watching, process
// sampling (gopsutil: on Linux; package platform reads /proc itself, elsewhere it is how platform samples), the
// module archives' readers (gpm install), the unit renderers (gpm startup), text/template (its reflective method calls keep every exported method).
// Each would cost every CLI call its package initialisation and pages (BENCHMARKS.md: CLI start-up).
func TestThinDependencies(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	forbidden := []string{"github.com/gpmd/gpm/service", "github.com/gpmd/gpm/config/procfile", "github.com/gpmd/gpm/export",
		"github.com/gpmd/gpm/web", "github.com/gpmd/gpm/dbusapi", "go.yaml.in/yaml", "gopkg.in/yaml", "net/http", "crypto/tls",
		"github.com/godbus/dbus", "github.com/fsnotify/fsnotify", "runtime/metrics", "archive/tar", "compress/gzip",
		"text/template",
		// gpmd runs startup and unstartup (thin.go): the unit renderers, unit-file quoting and user look-ups.
		"github.com/gpmd/gpm/startup", "github.com/gpmd/gpm/internal/unitfile"}
	allowed := []string{"github.com/gpmd/gpm/web/webctl", "github.com/gpmd/gpm/service/settings", "github.com/gpmd/gpm/service/dump"}
	for _, goos := range []string{"linux", "darwin"} {
		deps := goListDeps(t, goos, "gpmthin", "github.com/gpmd/gpm/client")
		off := forbidden
		if goos == "linux" {
			// os/user: startup's alone on Linux (gopsutil links it elsewhere).
			off = append(slices.Clip(off), "github.com/shirou/gopsutil", "os/user")
		}
		for _, dep := range deps {
			if slices.Contains(allowed, dep) {
				continue
			}
			for _, f := range off {
				if dep == f || strings.HasPrefix(dep, f+"/") {
					t.Errorf("GOOS=%s: the thin CLI links %s", goos, dep)
				}
			}
		}
	}
}

// goListDeps is what this package links for goos with the build tags, which must include want (else go list did
// not list what the test thinks).
func goListDeps(t *testing.T, goos, tags, want string) []string {
	t.Helper()
	cmd := exec.Command("go", "list", "-tags="+tags, "-deps", ".")
	cmd.Env = append(os.Environ(), "GOOS="+goos, "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if !slices.Contains(deps, want) {
		t.Fatalf("go list -deps did not list %s: %s", want, out)
	}
	return deps
}

// TestNoWebDependencies: gpmd (-tags gpmnoweb, the daemon's program while its HTTP API is off) links none of the
// HTTP server: net/http, crypto/tls and the dashboard cost a daemon 2.2 MB of RSS with the API off (measured,
// service/web_nohttp.go). D-Bus stays (it is on whenever a bus is there).
func TestNoWebDependencies(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	forbidden := []string{"net/http", "crypto/tls", "crypto/x509", "github.com/gpmd/gpm/web/dashboard"}
	deps := goListDeps(t, "linux", "gpmnoweb", "github.com/godbus/dbus/v5")
	for _, dep := range deps {
		for _, f := range forbidden {
			if dep == f || strings.HasPrefix(dep, f+"/") {
				t.Errorf("gpmd (-tags gpmnoweb) links %s", dep)
			}
		}
	}
	if !slices.Contains(deps, "github.com/gpmd/gpm/web/webconf") {
		t.Errorf("gpmd (-tags gpmnoweb) does not link web/webconf: the web method would not keep the setting")
	}
}
