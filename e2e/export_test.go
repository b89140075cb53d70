//go:build linux

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestExportCLI: gpm export reads the running daemon's apps (one configuration per app, whatever its instances) or,
// with a process file, no daemon at all; --dir writes one file each; an unknown app or format is an error.
func TestExportCLI(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	dir := t.TempDir()
	writeFile(t, dir, "sig.sh", sigApp)
	file := writeFile(t, dir, "apps.json", `{"apps": [
		{"name": "web", "script": "sig.sh", "args": ["web"], "instances": 2, "kill_signal": "SIGTERM",
		 "listen": ["http=tcp://127.0.0.1:0"], "env": {"MODE": "prod"}},
		{"name": "job", "script": "sig.sh", "args": ["job"]}
	]}`)

	// A process file needs no daemon (and a port 0 cannot be exported: the platforms need a fixed one).
	_, stderr, code := run(t, home, "export", "systemd", file)
	if code == 0 || !strings.Contains(stderr, "a fixed port is needed") {
		t.Errorf("export of listen port 0: exit %d, stderr %q", code, stderr)
	}
	if err := os.WriteFile(file, []byte(strings.Replace(readFile(t, file), "127.0.0.1:0", "127.0.0.1:18394", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	out := mustRun(t, home, "export", "nomad", file, "--only", "job")
	if !strings.Contains(out, `"ID": "job"`) || strings.Contains(out, `"ID": "web"`) {
		t.Errorf("export nomad FILE --only job:\n%s", out)
	}
	if len(daemonsOf(home)) > 0 {
		t.Error("export of a process file started a daemon")
	}

	mustRun(t, home, "start", file)
	waitFor(t, 20*time.Second, func() bool {
		n := 0
		for _, p := range jlist(t, home) {
			if isOnline(p) {
				n++
			}
		}
		return n == 3
	}, "3 processes online")
	units := filepath.Join(dir, "units")
	out = mustRun(t, home, "export", "systemd", "--dir", units)
	for _, name := range []string{"web@.service", "web.socket", "job.service"} {
		b, err := os.ReadFile(filepath.Join(units, name))
		if err != nil {
			t.Errorf("export systemd --dir: %v (printed %s)", err, out)
			continue
		}
		if name == "web@.service" && (!strings.Contains(string(b), "Environment=MODE=prod") || !strings.Contains(string(b), "KillSignal=SIGTERM")) {
			t.Errorf("%s:\n%s", name, b)
		}
	}
	if entries, _ := os.ReadDir(units); len(entries) != 3 {
		t.Errorf("export systemd --dir wrote %d files, want 3 (one per app, not per instance)", len(entries))
	}
	out = mustRun(t, home, "export", "kubernetes", "web")
	for _, want := range []string{"# ==> web.yaml <==", "kind: Deployment", "replicas: 2", "kind: Service", "containerPort: 18394"} {
		if !strings.Contains(out, want) {
			t.Errorf("export kubernetes web: no %q in\n%s", want, out)
		}
	}
	if strings.Contains(out, "job") {
		t.Errorf("export kubernetes web exported job too:\n%s", out)
	}
	for _, args := range [][]string{{"export", "systemd", "nosuch"}, {"export", "docker"}} {
		if _, stderr, code := run(t, home, args...); code == 0 {
			t.Errorf("gpm %s: exit 0, want an error (stderr %q)", strings.Join(args, " "), stderr)
		}
	}
}
