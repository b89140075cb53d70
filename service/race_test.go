package service

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gpmd/gpm/api"
	"github.com/gpmd/gpm/config"
)

// pidLogApp is an app that appends the pid of each of its runs to pids, ignores SIGINT (its kill signal), so that
// each stop takes its whole kill_timeout, and runs until killed.
func pidLogApp(t *testing.T, name, pids string, killTimeout time.Duration) config.App {
	t.Helper()
	a := config.New()
	a.Name, a.Script = name, "/bin/sh"
	a.Args = []string{"-c", `echo $$ >> "$0"; trap '' INT; exec sleep 600`, pids}
	a.KillTimeout = config.Millis(killTimeout.Milliseconds())
	if err := a.Normalize("/"); err != nil {
		t.Fatal(err)
	}
	return a
}

// loggedPIDs reads the pids a pidLogApp wrote.
func loggedPIDs(t *testing.T, pids string) []int {
	t.Helper()
	b, err := os.ReadFile(pids)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []int
	for _, f := range strings.Fields(string(b)) {
		n, err := strconv.Atoi(f)
		if err != nil {
			t.Fatalf("%s: %q", pids, b)
		}
		out = append(out, n)
	}
	return out
}

// alive reports whether pid runs (a zombie does not: the daemon reaps its children).
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	if i := strings.LastIndexByte(string(b), ')'); i >= 0 && i+2 < len(b) {
		return b[i+2] != 'Z'
	}
	return syscall.Kill(pid, 0) == nil
}

// runsOf lists the live processes whose environment names d's home and process id (GPM_HOME, GPM_ID).
func runsOf(d *Daemon, id int) []int {
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || !alive(pid) {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/environ")
		if err != nil {
			continue
		}
		vars := strings.Split(string(b), "\x00")
		if slices.Contains(vars, "GPM_HOME="+d.opts.Home) && slices.Contains(vars, "GPM_ID="+strconv.Itoa(id)) {
			out = append(out, pid)
		}
	}
	return out
}

// waitUntil polls cond every 20 ms until it holds or timeout passes.
func waitUntil(timeout time.Duration, cond func() bool) bool {
	for deadline := time.Now().Add(timeout); ; time.Sleep(20 * time.Millisecond) {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

// statusOf returns the status of process id ("" when it is not in the table).
func statusOf(t *testing.T, ctx context.Context, c api.Caller, id int) string {
	t.Helper()
	var list []api.Process
	if err := c.Call(ctx, api.MethodList, nil, &list); err != nil {
		t.Fatalf("list: %v", err)
	}
	for _, p := range list {
		if p.ID == id {
			return p.Status
		}
	}
	return ""
}

// TestRestartDuringDelete: a restart that arrives while a delete of the same process is stopping it must not start
// the process again once it has left the table: the run it started was supervised by nothing, and ran until the
// daemon exited.
func TestRestartDuringDelete(t *testing.T) {
	d := runDaemon(t, Options{})
	c := d.Caller()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	pids := filepath.Join(t.TempDir(), "pids")
	var started []api.Process
	if err := c.Call(ctx, api.MethodStart, api.StartParams{Apps: []api.StartApp{{App: pidLogApp(t, "doomed", pids, 2*time.Second)}}}, &started); err != nil || len(started) != 1 {
		t.Fatalf("start: %v %+v", err, started)
	}
	id := started[0].ID
	if !waitUntil(30*time.Second, func() bool { return len(loggedPIDs(t, pids)) == 1 }) {
		t.Fatal("the app never wrote its pid")
	}
	target := []string{strconv.Itoa(id)}
	deleted := make(chan error, 1)
	go func() { deleted <- c.Call(ctx, api.MethodDelete, api.Targets{Targets: target}, nil) }()
	if !waitUntil(30*time.Second, func() bool { return statusOf(t, ctx, c, id) == api.StatusStopping }) {
		t.Fatal("the delete never began to stop the process")
	}
	// The restart waits for the stop under way, then would start the process; by then it was deleted.
	c.Call(ctx, api.MethodRestart, api.RestartParams{Targets: target}, nil)
	if err := <-deleted; err != nil {
		t.Fatalf("delete: %v", err)
	}
	if s := statusOf(t, ctx, c, id); s != "" {
		t.Fatalf("process %d is in the table (%s) after its delete", id, s)
	}
	if !waitUntil(10*time.Second, func() bool { return len(runsOf(d, id)) == 0 }) {
		t.Fatalf("processes of the deleted process %d still alive 10 s after delete and restart returned (pids %v): "+
			"a restart started it again once it had left the table", id, runsOf(d, id))
	}
}
