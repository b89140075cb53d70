//go:build e2e_systemd

package systemd

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/gpmd/gpm/config"
	"github.com/gpmd/gpm/export"
)

// exportPort is the exported app's; not the daemon tests' port, so that nothing this test leaves can disturb them.
const exportPort = 18393

// TestExportedUnitsRunUnderSystemd: examples/hello.py as `gpm export systemd` renders it (two instances: the
// template exported@.service, and exported.socket) runs under systemd without gpm: systemd binds the socket and
// hands it over in LISTEN_FDS, the instances say READY=1 (Type=notify), and restarts of the instances, all at
// once or one after the other (what gpm reload does), refuse no connection under load: the socket unit holds the
// listening socket meanwhile. It needs no gpm installed, so it may run first.
func TestExportedUnitsRunUnderSystemd(t *testing.T) {
	app := config.New()
	app.Name, app.Script, app.Cwd = "exported", helloPy(t), filepath.Dir(helloPy(t))
	app.Interpreter = "python3"
	app.Instances = 2
	app.Listen = []string{fmt.Sprintf("http=tcp://127.0.0.1:%d", exportPort)}
	app.WaitReady = true
	app.KillSignal = "SIGTERM"
	app.KillTimeout = 5000
	files, err := export.Systemd([]config.App{app}, export.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		p := filepath.Join("/etc/systemd/system", f.Name)
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Remove(p) })
	}
	units := []string{"exported@0.service", "exported@1.service"}
	t.Cleanup(func() {
		try("systemctl", append([]string{"stop", "exported.socket"}, units...)...)
		try("systemctl", "daemon-reload")
		if t.Failed() {
			out, _ := try("journalctl", "--no-pager", "-n", "100", "-u", "exported@0.service", "-u", "exported@1.service", "-u", "exported.socket")
			t.Logf("journal:\n%s", out)
		}
	})
	sh(t, "systemctl", "daemon-reload")
	sh(t, "systemctl", "start", "exported.socket")
	sh(t, "systemctl", append([]string{"start"}, units...)...) // Type=notify: returns once each said READY=1
	for _, u := range units {
		if s := show(t, u, "ActiveState"); s != "active" {
			t.Fatalf("%s is %s", u, s)
		}
	}
	pids := map[string]string{}
	for _, u := range units {
		pids[u] = show(t, u, "MainPID")
	}

	for _, step := range []struct {
		what string
		run  func()
	}{
		{"systemctl restart of both instances at once", func() { sh(t, "systemctl", append([]string{"restart"}, units...)...) }},
		{"a rolling restart, one instance after the other", func() {
			for _, u := range units {
				sh(t, "systemctl", "restart", u)
			}
		}},
	} {
		l := loadOn(exportPort)
		l.waitOK(t)
		step.run()
		l.waitOK(t) // served after the restart too
		res := l.end()
		t.Logf("%s under load: %s", step.what, res)
		if l.refused.Load()+l.failed.Load() > 0 {
			t.Errorf("%s dropped requests: %s", step.what, res)
		}
		for _, u := range units {
			pid := show(t, u, "MainPID")
			if pid == pids[u] || pid == "0" {
				t.Errorf("%s: %s has main pid %s, before %s", step.what, u, pid, pids[u])
			}
			pids[u] = pid
		}
	}
}
