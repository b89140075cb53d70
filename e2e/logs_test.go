//go:build linux

package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gpmd/gpm/api"
)

func logsDir(home string) string { return filepath.Join(home, api.LogsDir) }

func TestLogsPerInstanceAndMerged(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	mustRun(t, home, "start", fixture("echo.sh"), "--name", "split", "-i", "2")
	mustRun(t, home, "start", fixture("echo.sh"), "--name", "merged", "-i", "2", "--merge-logs")
	for _, p := range waitInstances(t, home, "split", 2) {
		path := filepath.Join(logsDir(home), fmt.Sprintf("split-out-%d.log", p.ID))
		log := waitFileContains(t, path, "ready")
		if v, _ := lastValue(log, "NODE_APP_INSTANCE"); v != strconv.Itoa(p.Instance) {
			t.Errorf("%s holds NODE_APP_INSTANCE=%q, want %d", path, v, p.Instance)
		}
		if p.OutLog != path {
			t.Errorf("jlist out_log %q, want %q", p.OutLog, path)
		}
	}
	if _, err := os.Stat(filepath.Join(logsDir(home), "split-out.log")); err == nil {
		t.Errorf("split-out.log exists although the instances have files of their own")
	}

	waitInstances(t, home, "merged", 2)
	path := filepath.Join(logsDir(home), "merged-out.log")
	waitFor(t, 10*time.Second, func() bool { return countOf(readFile(t, path), "ready") == 2 }, "both instances in "+path)
	log := readFile(t, path)
	for _, want := range []string{"NODE_APP_INSTANCE=0", "NODE_APP_INSTANCE=1"} {
		if countOf(log, want) != 1 {
			t.Errorf("%s: %q appears %d times, want once", path, want, countOf(log, want))
		}
	}
	if m, _ := filepath.Glob(filepath.Join(logsDir(home), "merged-out-*.log")); len(m) > 0 {
		t.Errorf("--merge-logs still wrote per-instance files: %v", m)
	}
}

func TestLogsDisabledAndCustomPath(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	mustRun(t, home, "start", fixture("streams.sh"), "--name", "quiet", "-o", "NULL", "-e", "/dev/null")
	custom := filepath.Join(home, "custom", "missing", "dirs", "out.log")
	mustRun(t, home, "start", fixture("streams.sh"), "--name", "custom", "-o", custom)
	waitOnline(t, home, "quiet")
	waitFileContains(t, custom, "out-10")
	// The app has written everything by now (custom got its lines; quiet is the same script).
	waitFileContains(t, filepath.Join(logsDir(home), "custom-error.log"), "err-10")
	if m, _ := filepath.Glob(filepath.Join(logsDir(home), "quiet*")); len(m) > 0 {
		t.Errorf("-o NULL -e /dev/null still created %v", m)
	}
	if _, err := os.Stat(filepath.Join(home, "NULL")); err == nil {
		t.Errorf("-o NULL created a file named NULL")
	}
}

func TestLogsJSONAndTime(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	mustRun(t, home, "start", fixture("streams.sh"), "--name", "jsonapp", "--log-type", "json")
	mustRun(t, home, "start", fixture("streams.sh"), "--name", "timed", "--time")
	p := waitOnline(t, home, "jsonapp")
	out := waitFileContains(t, outLog(home, "jsonapp"), "out-10")
	var msgs []string
	for _, l := range lines(out) {
		var j struct {
			Message   string `json:"message"`
			Timestamp string `json:"timestamp"`
			Type      string `json:"type"`
			AppName   string `json:"app_name"`
			ProcessID *int   `json:"process_id"`
		}
		if err := json.Unmarshal([]byte(l), &j); err != nil {
			t.Fatalf("--log-type json: line %q: %v", l, err)
		}
		if j.Timestamp == "" || j.Type != "out" || j.AppName != "jsonapp" || j.ProcessID == nil || *j.ProcessID != p.ID {
			t.Errorf("--log-type json: incomplete line %q", l)
		}
		msgs = append(msgs, j.Message)
	}
	if len(msgs) != 10 || msgs[0] != "out-1" || msgs[9] != "out-10" {
		t.Errorf("--log-type json messages %v, want out-1..out-10", msgs)
	}
	errLog := waitFileContains(t, filepath.Join(logsDir(home), "jsonapp-error.log"), "err-10")
	if !strings.Contains(errLog, `"type":"err"`) {
		t.Errorf("--log-type json: stderr lines lack type err:\n%s", errLog)
	}

	timed := waitFileContains(t, outLog(home, "timed"), "out-10")
	prefix := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d.*out-\d+$`)
	for _, l := range lines(timed) {
		if !prefix.MatchString(l) {
			t.Errorf("--time: line without a timestamp prefix: %q", l)
		}
	}
}

func TestLogsChattyNoLineLost(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	const n = 20000
	mustRun(t, home, "start", fixture("chatty.sh"), "--name", "chatty", "--", strconv.Itoa(n))
	path := outLog(home, "chatty")
	waitFor(t, 30*time.Second, func() bool { return strings.HasSuffix(readFile(t, path), "done\n") }, "all lines of chatty logged")
	got := lines(readFile(t, path))
	if len(got) != n+1 {
		t.Errorf("%d lines logged, want %d", len(got), n+1)
	}
	for i := 0; i < n && i < len(got); i++ {
		if want := "line " + strconv.Itoa(i+1); got[i] != want {
			t.Fatalf("line %d is %q, want %q (lost or reordered)", i+1, got[i], want)
		}
	}
}

func TestLogsFlushAndReload(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	mustRun(t, home, "start", fixture("streams.sh"), "--name", "flushme")
	out, errp := outLog(home, "flushme"), filepath.Join(logsDir(home), "flushme-error.log")
	waitFileContains(t, out, "out-10")
	waitFileContains(t, errp, "err-10")
	mustRun(t, home, "flush")
	for _, p := range []string{out, errp} {
		st, err := os.Stat(p)
		if err != nil || st.Size() != 0 {
			t.Errorf("after flush %s: %v size %d, want empty", p, err, sizeOf(st))
		}
	}

	mustRun(t, home, "start", fixture("ticker.sh"), "--name", "ticker")
	path := outLog(home, "ticker")
	waitFileContains(t, path, "tick 2")
	// An outside rotation: rename the file away, then reloadLogs; new lines go to a fresh file at the old path.
	rotated := path + ".1"
	if err := os.Rename(path, rotated); err != nil {
		t.Fatal(err)
	}
	mustRun(t, home, "reloadLogs")
	fresh := waitFileContains(t, path, "tick")
	if first := lines(fresh)[0]; first == "tick 1" {
		t.Errorf("the reopened file starts over at %q", first)
	}
	last := lastTick(t, readFile(t, rotated))
	waitFor(t, 10*time.Second, func() bool { return lastTick(t, readFile(t, path)) > last+1 }, "new ticks in the reopened file")
	if again := lastTick(t, readFile(t, rotated)); again > last+2 {
		t.Errorf("ticks still go to the rotated file after reloadLogs: %d then %d", last, again)
	}

	// SIGUSR2 to the daemon does the same.
	pidText := strings.TrimSpace(readFile(t, filepath.Join(home, api.PidName)))
	daemon, err := strconv.Atoi(pidText)
	if err != nil {
		t.Fatalf("%s: %q", api.PidName, pidText)
	}
	rotated2 := path + ".2"
	if err := os.Rename(path, rotated2); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(daemon, syscall.SIGUSR2); err != nil {
		t.Fatal(err)
	}
	waitFileContains(t, path, "tick")
	last2 := lastTick(t, readFile(t, rotated2))
	waitFor(t, 10*time.Second, func() bool { return lastTick(t, readFile(t, path)) > last2+1 }, "new ticks after SIGUSR2")
	if one(t, home, "ticker").Status != api.StatusOnline {
		t.Errorf("ticker not online after SIGUSR2 to the daemon")
	}
}

func sizeOf(st os.FileInfo) int64 {
	if st == nil {
		return -1
	}
	return st.Size()
}

// lastTick returns N of the last line of s that ends in "tick N" (a log file's line, or gpm logs' "0|live | tick
// N"), 0 when there is none.
func lastTick(t *testing.T, s string) int {
	t.Helper()
	n := 0
	for _, l := range lines(s) {
		if i := strings.LastIndex(l, "tick "); i >= 0 {
			if v, err := strconv.Atoi(l[i+len("tick "):]); err == nil {
				n = v
			}
		}
	}
	return n
}

func TestLogsCommand(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	mustRun(t, home, "start", fixture("streams.sh"), "--name", "streams")
	p := waitOnline(t, home, "streams")
	waitFileContains(t, outLog(home, "streams"), "out-10")
	waitFileContains(t, filepath.Join(logsDir(home), "streams-error.log"), "err-10")

	out := mustRun(t, home, "logs", "streams", "--nostream", "--lines", "5")
	var gotOut, gotErr []string
	for _, l := range lines(out) {
		switch {
		case strings.HasPrefix(l, fmt.Sprintf("%d|streams | ", p.ID)):
			gotOut = append(gotOut, l[strings.LastIndex(l, " ")+1:])
		case strings.HasPrefix(l, fmt.Sprintf("%d|streams ! ", p.ID)):
			gotErr = append(gotErr, l[strings.LastIndex(l, " ")+1:])
		default:
			t.Errorf("logs --nostream: unexpected line %q", l)
		}
	}
	if want := "out-6 out-7 out-8 out-9 out-10"; strings.Join(gotOut, " ") != want {
		t.Errorf("logs --lines 5, stdout: %v, want %s", gotOut, want)
	}
	if want := "err-6 err-7 err-8 err-9 err-10"; strings.Join(gotErr, " ") != want {
		t.Errorf("logs --lines 5, stderr: %v, want %s", gotErr, want)
	}

	out = mustRun(t, home, "logs", "streams", "--nostream", "--json")
	if len(lines(out)) == 0 {
		t.Errorf("logs --json --nostream printed nothing")
	}
	for _, l := range lines(out) {
		var e api.Event
		if err := json.Unmarshal([]byte(l), &e); err != nil || e.Type != api.EventLog || e.Name != "streams" || e.Line == "" {
			t.Errorf("logs --json: line %q (%v)", l, err)
		}
	}

	// Live follow: lines printed after `gpm logs` started show up on its stdout, as the file has them (with the
	// --time prefix, like the lines read back from the file).
	mustRun(t, home, "start", fixture("ticker.sh"), "--name", "live", "--time")
	waitFileContains(t, outLog(home, "live"), "tick 1")
	cmd, buf := startBackground(t, home, "logs", "live", "--lines", "1")
	start := lastTick(t, readFile(t, outLog(home, "live")))
	waitFor(t, 10*time.Second, func() bool { return lastTick(t, buf.String()) > start+2 }, "live lines on gpm logs' stdout")
	cmd.Process.Signal(syscall.SIGINT)
	if err := cmd.Wait(); err != nil {
		t.Errorf("gpm logs after SIGINT: %v", err)
	}
	timed := regexp.MustCompile(`^\d+\|live \| \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d: tick \d+$`)
	for _, l := range lines(buf.String()) {
		if !timed.MatchString(l) {
			t.Errorf("gpm logs of a --time app: line %q, want the file's timestamp prefix", l)
		}
	}
}
