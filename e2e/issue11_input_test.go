//go:build linux

package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gpmd/gpm/api"
)

// rawCall sends one request straight to the daemon's control socket, bypassing the CLI's own checks, and returns
// the error the daemon answered (nil on success).
func rawCall(t *testing.T, home, method string, params any) *api.Error {
	t.Helper()
	c, err := net.DialTimeout("unix", filepath.Join(home, api.SocketName), 5*time.Second)
	if err != nil {
		t.Fatalf("dial the control socket: %v", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(cmdTimeout))
	p, err := json.Marshal(params)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := json.Marshal(api.Request{V: api.Version, ID: 1, Method: method, Params: p})
	if _, err := c.Write(append(req, '\n')); err != nil {
		t.Fatalf("%s: write: %v", method, err)
	}
	sc := bufio.NewScanner(c)
	sc.Buffer(nil, 64<<20)
	if !sc.Scan() {
		t.Fatalf("%s: no reply: %v", method, sc.Err())
	}
	var resp api.Response
	if err := json.Unmarshal(sc.Bytes(), &resp); err != nil {
		t.Fatalf("%s: reply %q: %v", method, sc.Bytes(), err)
	}
	return resp.Error
}

// wantRefused checks that a gpm command failed with a message holding every one of want.
func wantRefused(t *testing.T, what, stderr string, code int, want ...string) {
	t.Helper()
	if code == 0 {
		t.Errorf("%s: exit 0, want a refusal", what)
		return
	}
	for _, w := range want {
		if !strings.Contains(stderr, w) {
			t.Errorf("%s: stderr does not say %q:\n%s", what, w, stderr)
		}
	}
}

// TestCronNeverFires_Issue11Item6: "0 0 30 2 *" (February 30) restarted the app in a tight loop; it is refused on
// the command line, in a process file (with the file and line) and in the protocol.
func TestCronNeverFires_Issue11Item6(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	_, stderr, code := run(t, home, "start", fixture("echo.sh"), "--name", "feb30", "--cron-restart", "0 0 30 2 *")
	wantRefused(t, "--cron-restart '0 0 30 2 *'", stderr, code, "--cron-restart", "never fires")

	file := filepath.Join(home, "feb30.json")
	src := fmt.Sprintf("{\n  \"apps\": [{\n    \"name\": \"feb30\",\n    \"script\": %q,\n    \"cron_restart\": \"0 0 30 2 *\"\n  }]\n}\n", fixture("echo.sh"))
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, code = run(t, home, "start", file)
	wantRefused(t, "process file", stderr, code, "feb30.json:5:", "cron_restart", "never fires")

	mustRun(t, home, "ping")
	app := map[string]any{"name": "feb30", "script": fixture("echo.sh"), "cwd": home, "instances": 1,
		"exec_mode": "fork", "kill_signal": "SIGINT", "namespace": "default", "cron_restart": "0 0 30 2 *"}
	if e := rawCall(t, home, api.MethodStart, map[string]any{"apps": []any{map[string]any{"app": app}}}); e == nil ||
		!strings.Contains(e.Message, "never fires") {
		t.Errorf("protocol start with cron_restart '0 0 30 2 *': %v", e)
	}
	if l := jlist(t, home); len(l) != 0 {
		t.Errorf("started %v", names(l))
	}
}

// TestInstanceCap_Issue11Item7: 100,000 instances (-i, scale, the protocol) are refused with an error naming the
// cap, by the CLI and by the daemon itself.
func TestInstanceCap_Issue11Item7(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	_, stderr, code := run(t, home, "start", fixture("echo.sh"), "--name", "z", "-i", "100000")
	wantRefused(t, "-i 100000", stderr, code, "MaxInstances")
	mustRun(t, home, "start", fixture("echo.sh"), "--name", "z", "-o", "NULL", "-e", "NULL")
	_, stderr, code = run(t, home, "scale", "z", "100000")
	wantRefused(t, "scale z 100000", stderr, code, "MaxInstances")
	_, stderr, code = run(t, home, "scale", "z", "+100000")
	wantRefused(t, "scale z +100000", stderr, code, "MaxInstances")

	// The daemon does not rely on the CLI.
	for _, sp := range []api.ScaleParams{{Name: "z", Count: 100000}, {Name: "z", Count: 100000, Relative: true},
		{Name: "z", Count: 1024, Relative: true}} {
		if e := rawCall(t, home, api.MethodScale, sp); e == nil || !strings.Contains(e.Message, "MaxInstances") {
			t.Errorf("protocol scale %+v: %v, want a refusal naming MaxInstances", sp, e)
		}
	}
	app := one(t, home, "z").Config
	app.Name, app.Instances = "big", 100000
	if e := rawCall(t, home, api.MethodStart, api.StartParams{Apps: []api.StartApp{{App: app}}}); e == nil ||
		!strings.Contains(e.Message, "MaxInstances") {
		t.Errorf("protocol start of 100000 instances: %v", e)
	}
	if l := jlist(t, home); len(l) != 1 {
		t.Errorf("after the refusals: %d processes, want 1", len(l))
	}
}

// TestProcessCap_Issue11Item7: a daemon holds at most api.MaxProcesses processes, all apps together. The apps are
// registered stopped (--no-autostart): the cap counts table entries, and nothing needs to run.
func TestProcessCap_Issue11Item7(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	per := 1024
	full := api.MaxProcesses / per
	for i := range full - 1 {
		mustRun(t, home, "start", fixture("echo.sh"), "--name", "c"+strconv.Itoa(i), "-i", strconv.Itoa(per), "--no-autostart")
	}
	mustRun(t, home, "start", fixture("echo.sh"), "--name", "one", "--no-autostart")
	_, stderr, code := run(t, home, "start", fixture("echo.sh"), "--name", "last", "-i", strconv.Itoa(per), "--no-autostart")
	wantRefused(t, "one process over the cap", stderr, code, "MaxProcesses", strconv.Itoa(api.MaxProcesses))
	mustRun(t, home, "start", fixture("echo.sh"), "--name", "last", "-i", strconv.Itoa(per-1), "--no-autostart")
	_, stderr, code = run(t, home, "scale", "one", "2")
	wantRefused(t, "scale over the cap", stderr, code, "MaxProcesses")
	if n := len(jlist(t, home)); n != api.MaxProcesses {
		t.Errorf("%d processes, want %d", n, api.MaxProcesses)
	}
}

// TestStartEMFILE_Issue11Item7: a daemon out of file descriptors keeps running. 100 instances under a low
// RLIMIT_NOFILE: those that cannot get their pipes or log files are errored with a reason naming the cause, the
// others run, and the daemon answers.
func TestStartEMFILE_Issue11Item7(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("prlimit"); err != nil {
		t.Skip("needs prlimit")
	}
	home := newHome(t)
	mustRun(t, home, "ping")
	pid, err := strconv.Atoi(strings.TrimSpace(readFile(t, filepath.Join(home, api.PidName))))
	if err != nil {
		t.Fatal(err)
	}
	// Only the soft limit moves: raising a hard limit back needs CAP_SYS_RESOURCE, which a container's root may lack.
	soft, _, _ := strings.Cut(strings.TrimSpace(runPrlimit(t, "--pid", strconv.Itoa(pid), "--nofile", "--output=SOFT", "--noheadings")), " ")
	if out, err := exec.Command("prlimit", "--pid", strconv.Itoa(pid), "--nofile=150:").CombinedOutput(); err != nil {
		t.Fatalf("prlimit: %v: %s", err, out)
	}
	_, stderr, code := run(t, home, "start", fixture("echo.sh"), "--name", "z", "-i", "100")
	wantRefused(t, "100 instances with 150 descriptors", stderr, code, "failed to start", "too many open files")
	if !exists(pid) || zombie(pid) {
		t.Fatalf("the daemon died")
	}
	// Accepting the next connection needs a descriptor too; that the control server survives a failed accept is
	// item 4. Give the daemon room, so that this test sees the starts only.
	if out, err := exec.Command("prlimit", "--pid", strconv.Itoa(pid), "--nofile="+soft+":").CombinedOutput(); err != nil {
		t.Fatalf("prlimit: %v: %s", err, out)
	}
	list := jlist(t, home)
	online, errored := 0, 0
	for _, p := range list {
		switch p.Status {
		case api.StatusOnline, api.StatusLaunching:
			online++
		case api.StatusErrored:
			errored++
			if !strings.Contains(p.Reason, "too many open files") {
				t.Errorf("errored %s[%d]: reason %q does not name the cause", p.Name, p.ID, p.Reason)
			}
		}
	}
	if len(list) != 100 || online == 0 || errored == 0 {
		t.Errorf("%d processes, %d running, %d errored: want 100, some of each", len(list), online, errored)
	}
	if out := mustRun(t, home, "ls"); !strings.Contains(out, "errored") {
		t.Errorf("gpm ls:\n%s", out)
	}
}

func runPrlimit(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("prlimit", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("prlimit %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestNames_Issue11Item14: names with control characters, too long, all digits, or mapping to another app's file
// names are refused; instance_numbers in the protocol must be unique and not negative.
func TestNames_Issue11Item14(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	for name, want := range map[string]string{
		"a\nb":                   "control characters",
		"\x1b[31mred":            "control characters",
		strings.Repeat("n", 300): "MaxNameLen",
		"9":                      "all digits",
		"all":                    `"all"`,
	} {
		_, stderr, code := run(t, home, "start", fixture("echo.sh"), "--name", name)
		wantRefused(t, fmt.Sprintf("--name %q", name), stderr, code, want)
		if strings.ContainsAny(stderr, "\x1b") {
			t.Errorf("--name %q: the refusal prints the escape raw: %q", name, stderr)
		}
	}
	_, stderr, code := run(t, home, "start", fixture("echo.sh"), "--namespace", "ns\x1b[2J")
	wantRefused(t, "namespace with an escape", stderr, code, "namespace", "control characters")

	mustRun(t, home, "start", fixture("echo.sh"), "--name", "a b")
	_, stderr, code = run(t, home, "start", fixture("echo.sh"), "--name", "a-b")
	wantRefused(t, "a-b beside 'a b'", stderr, code, `"a-b"`, `"a b"`, "rename one")

	app := one(t, home, "a b").Config
	app.Name = "nums"
	for _, nums := range [][]int{{-1}, {0, 0}, {0, 5000}} {
		e := rawCall(t, home, api.MethodStart, api.StartParams{Apps: []api.StartApp{{App: app, InstanceNumbers: nums}}})
		if e == nil || !strings.Contains(e.Message, "instance_numbers") {
			t.Errorf("instance_numbers %v: %v, want a refusal", nums, e)
		}
	}
	app.Name = "123"
	if e := rawCall(t, home, api.MethodStart, api.StartParams{Apps: []api.StartApp{{App: app}}}); e == nil ||
		!strings.Contains(e.Message, "all digits") {
		t.Errorf("protocol start of an app named 123: %v", e)
	}
	if l := jlist(t, home); len(l) != 1 {
		t.Errorf("after the refusals: %v, want only 'a b'", names(l))
	}

	// resurrect reads names from dump.json, which a hand may have edited.
	mustRun(t, home, "save")
	dump := filepath.Join(home, api.DumpName)
	edited := strings.Replace(readFile(t, dump), `"name": "a b"`, `"name": "a\u001bb"`, 1)
	if err := os.WriteFile(dump, []byte(edited), 0o600); err != nil {
		t.Fatal(err)
	}
	mustRun(t, home, "delete", "all")
	out, stderr, _ := run(t, home, "resurrect")
	if !strings.Contains(out+stderr, "control characters") {
		t.Errorf("resurrect of a name with an escape does not say why it is skipped:\n%s%s", out, stderr)
	}
	if l := jlist(t, home); len(l) != 0 {
		t.Errorf("resurrect started %q", names(l))
	}
}

// TestScriptErrors_Issue11Item15: a script that is a directory says so; a missing script, cwd or interpreter in a
// process file is reported with the file and line.
func TestScriptErrors_Issue11Item15(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	dir := filepath.Join(home, "srv")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := run(t, home, "start", dir)
	wantRefused(t, "a directory", stderr, code, dir+" is a directory")
	if strings.Contains(stderr, "chmod") {
		t.Errorf("a directory is reported as not executable:\n%s", stderr)
	}
	for _, tt := range []struct{ field, value, want string }{
		{"script", "./nope.sh", filepath.Join(home, "nope.sh") + ": no such file"},
		{"cwd", "./gone", filepath.Join(home, "gone") + ": no such directory"},
		{"interpreter", "no-such-interpreter", "no-such-interpreter: not found in PATH"},
	} {
		file := filepath.Join(home, tt.field+".yml")
		other := "script: " + fixture("echo.sh")
		if tt.field == "script" {
			other = "cwd: " + home
		}
		src := fmt.Sprintf("apps:\n  - name: x\n    %s\n    %s: %s\n", other, tt.field, tt.value)
		if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		_, stderr, code := run(t, home, "start", file)
		wantRefused(t, "missing "+tt.field, stderr, code, tt.field+".yml:4:", "(x)."+tt.field, tt.want)
	}
	if l := jlist(t, home); len(l) != 0 {
		t.Errorf("started %v", names(l))
	}
}
