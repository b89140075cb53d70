//go:build linux

package e2e

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gpmd/gpm/api"
)

// TestBatchStartWithAFailedSpawn: a process file's apps are forked one after another on a goroutine of their own
// while the loop prepares the next (service/start.go, spawner). One whose exec fails in the middle of the batch is
// errored with the reason; the others start, each with its own pipes: every app's line is in its own log.
func TestBatchStartWithAFailedSpawn(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	dir := t.TempDir()
	bad := writeFile(t, dir, "bad.sh", "#!/nonexistent/interpreter\necho never\n")
	if err := os.Chmod(bad, 0o755); err != nil {
		t.Fatal(err)
	}
	var apps []string
	for i := range 6 {
		name := fmt.Sprintf("b%d", i)
		if i == 3 {
			apps = append(apps, fmt.Sprintf(`{"name": %q, "script": %q, "interpreter": "none", "autorestart": false}`, name, bad))
			continue
		}
		apps = append(apps, fmt.Sprintf(`{"name": %q, "script": "/bin/sh", "args": ["-c", "echo i-am-%s; exec sleep 600"]}`, name, name))
	}
	file := writeFile(t, dir, "batch.json", `{"apps": [`+strings.Join(apps, ",")+`]}`)
	_, stderr, code := run(t, home, "start", file)
	if code == 0 {
		t.Errorf("gpm start succeeded though b3 could not start; stderr: %s", stderr)
	}
	for i := range 6 {
		name := fmt.Sprintf("b%d", i)
		if i == 3 {
			p := waitProc(t, home, name, patient(10*time.Second), "errored", func(p api.Process) bool { return p.Status == api.StatusErrored })
			if !strings.Contains(p.Reason, "fork/exec") || p.PID != 0 {
				t.Errorf("b3: reason %q, pid %d: want the exec's failure (the spawn, not the preparing) and no pid", p.Reason, p.PID)
			}
			continue
		}
		waitOnline(t, home, name)
		waitFileContains(t, outLog(home, name), "i-am-"+name)
		if got := strings.TrimSpace(readFile(t, outLog(home, name))); got != "i-am-"+name {
			t.Errorf("%s's log holds %q, want its own line alone", name, got)
		}
	}
}
