//go:build linux

package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// moduleFixture writes a module directory whose app prints its module environment, then waits.
func moduleFixture(t *testing.T, name string) string {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, dir, "gpm-module.json", `{"name":"`+name+`","version":"1.2.3","command":["./run.sh","arg1"],"settings":{"greeting":"hi"}}`)
	writeFile(t, dir, "run.sh", "#!/bin/sh\necho \"name=$GPM_MODULE_NAME arg=$1 socket=$GPM_SOCKET config=$GPM_MODULE_CONFIG\"\nexec sleep 1000\n")
	if err := os.Chmod(filepath.Join(dir, "run.sh"), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestModules_Issue10: a module installed from a directory runs in namespace modules with its environment, is
// hidden from ls unless --all, is listed by `module ls`; `gpm set` restarts it with the new setting; it survives
// save/kill/resurrect; uninstall removes its process, files and settings.
func TestModules_Issue10(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	out := mustRun(t, home, "install", moduleFixture(t, "echo-mod"))
	if !strings.Contains(out, "module echo-mod 1.2.3 installed") {
		t.Errorf("install output:\n%s", out)
	}
	p := waitOnline(t, home, "echo-mod")
	if p.Namespace != "modules" {
		t.Errorf("namespace %q, want modules", p.Namespace)
	}
	log := waitFileContains(t, outLog(home, "echo-mod"), `config={"greeting":"hi"}`)
	if want := "name=echo-mod arg=arg1 socket=" + filepath.Join(home, "gpm.sock"); !strings.Contains(log, want) {
		t.Errorf("module env: want %q in\n%s", want, log)
	}
	if _, err := os.Stat(filepath.Join(home, "modules", "echo-mod", "run.sh")); err != nil {
		t.Errorf("files not copied: %v", err)
	}
	mustRun(t, home, "start", "sleep", "--name", "plain", "--", "1000")
	if ls := mustRun(t, home, "ls"); strings.Contains(ls, "echo-mod") || !strings.Contains(ls, "plain") {
		t.Errorf("ls shows modules or misses the app:\n%s", ls)
	}
	if ls := mustRun(t, home, "ls", "--all"); !strings.Contains(ls, "echo-mod") {
		t.Errorf("ls --all misses the module:\n%s", ls)
	}
	if ls := mustRun(t, home, "module", "ls"); !strings.Contains(ls, "echo-mod") || !strings.Contains(ls, "1.2.3") || !strings.Contains(ls, "online") {
		t.Errorf("module ls:\n%s", ls)
	}

	mustRun(t, home, "set", "echo-mod:greeting", "hello")
	waitFileContains(t, outLog(home, "echo-mod"), `config={"greeting":"hello"}`)
	q := waitOnline(t, home, "echo-mod")
	if q.PID == p.PID {
		t.Errorf("set did not restart the module (pid %d)", q.PID)
	}
	if got := mustRun(t, home, "get", "echo-mod:greeting"); strings.TrimSpace(got) != "hello" {
		t.Errorf("get echo-mod:greeting = %q", got)
	}
	if got := mustRun(t, home, "get", "echo-mod"); !strings.Contains(got, "echo-mod:greeting: hello") {
		t.Errorf("get echo-mod:\n%s", got)
	}

	mustRun(t, home, "save")
	mustRun(t, home, "kill")
	mustRun(t, home, "resurrect")
	r := waitOnline(t, home, "echo-mod")
	if env := envOf(t, home, r.ID); env["GPM_MODULE_CONFIG"] != `{"greeting":"hello"}` {
		t.Errorf("after resurrect: GPM_MODULE_CONFIG %q", env["GPM_MODULE_CONFIG"])
	}
	// unset goes back to the default, restarting it.
	mustRun(t, home, "unset", "echo-mod:greeting")
	waitFor(t, 10*time.Second, func() bool {
		return strings.Count(readFile(t, outLog(home, "echo-mod")), `config={"greeting":"hi"}`) >= 2
	}, "the module restarted with its default after unset")

	mustRun(t, home, "uninstall", "echo-mod")
	if ps := procs(t, home, "echo-mod"); len(ps) != 0 {
		t.Errorf("module still listed after uninstall: %+v", ps)
	}
	if _, err := os.Stat(filepath.Join(home, "modules", "echo-mod")); !os.IsNotExist(err) {
		t.Errorf("module files left: %v", err)
	}
	if _, _, code := run(t, home, "uninstall", "echo-mod"); code == 0 {
		t.Errorf("uninstall of a module not installed: exit 0")
	}
	one(t, home, "plain")
}

// TestModulesArchive_Issue10: an archive is installed; one with a ../ entry is refused, and leaves nothing.
func TestModulesArchive_Issue10(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	mk := func(extra string) string {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		tw := tar.NewWriter(zw)
		files := [][2]string{{"pkg/gpm-module.json", `{"name":"arch-mod","command":["./run.sh"]}`}, {"pkg/run.sh", "#!/bin/sh\nexec sleep 1000\n"}}
		if extra != "" {
			files = append(files, [2]string{extra, "x"})
		}
		for _, f := range files {
			tw.WriteHeader(&tar.Header{Name: f[0], Mode: 0o755, Size: int64(len(f[1])), Typeflag: tar.TypeReg})
			tw.Write([]byte(f[1]))
		}
		tw.Close()
		zw.Close()
		return writeFile(t, t.TempDir(), "m.tar.gz", buf.String())
	}
	_, stderr, code := run(t, home, "install", mk("pkg/../../escape"))
	if code == 0 || !strings.Contains(stderr, "unsafe path") {
		t.Errorf("archive with ../: exit %d, stderr %s", code, stderr)
	}
	if ents, _ := os.ReadDir(filepath.Join(home, "modules")); len(ents) != 0 {
		t.Errorf("refused archive left %v", ents)
	}
	mustRun(t, home, "install", mk(""))
	waitOnline(t, home, "arch-mod")
}

// TestTrigger_Issue10: a process-file action runs as the app (its cwd and env, ARG appended) and its output is
// printed; a failing one exits 1; run-time actions declared on the notify stream answer per instance.
func TestTrigger_Issue10(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	dir := t.TempDir()
	eco := writeFile(t, dir, "eco.json", `{"apps":[
	  {"name":"fileact","script":"sleep","args":["1000"],"cwd":"`+dir+`","env":{"WHO":"file-app"},
	   "actions":{"greet":["sh","-c","echo \"greet $1 from $WHO in $(pwd)\"","sh"],"broken":"sh -c 'echo bad; exit 3'"}},
	  {"name":"rtact","script":"python3","args":["`+fixture("actions.py")+`"],"instances":2}]}`)
	mustRun(t, home, "start", eco)
	waitOnline(t, home, "fileact")
	out := mustRun(t, home, "trigger", "fileact", "greet", "world")
	if want := "greet world from file-app in " + dir; strings.TrimSpace(out) != want {
		t.Errorf("trigger greet: %q, want %q", out, want)
	}
	out, stderr, code := run(t, home, "trigger", "fileact", "broken")
	if code != 1 || strings.TrimSpace(out) != "bad" || !strings.Contains(stderr, "exit code 3") {
		t.Errorf("trigger broken: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	if _, stderr, code := run(t, home, "trigger", "fileact", "nope"); code != 1 || !strings.Contains(stderr, "broken, greet") {
		t.Errorf("trigger of an unknown action: exit %d, stderr %q", code, stderr)
	}

	// Both workers declare their actions once they run: trigger until both answer.
	waitFor(t, 20*time.Second, func() bool {
		_, _, code := run(t, home, "trigger", "rtact", "hello", "you")
		return code == 0
	}, "both rtact workers to declare their actions")
	out = mustRun(t, home, "trigger", "rtact", "hello", "you")
	ids := procs(t, home, "rtact")
	for _, p := range ids {
		for _, want := range []string{"--- rtact[" + itoa(p.ID) + "]", "hello you from " + itoa(p.ID)} {
			if !strings.Contains(out, want) {
				t.Errorf("trigger rtact hello: %q missing in\n%s", want, out)
			}
		}
	}
	if out := mustRun(t, home, "trigger", itoa(ids[0].ID), "multi"); out != "line one\nline two\n" {
		t.Errorf("multi-line reply: %q", out)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestPlugin_Issue10: `gpm NAME` runs gpm-NAME from PATH with GPM_HOME and GPM_SOCKET, its exit code passed on.
func TestPlugin_Issue10(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	bin := t.TempDir()
	writeFile(t, bin, "gpm-hello.sh", "#!/bin/sh\necho \"args=$* home=$GPM_HOME socket=$GPM_SOCKET\"\nexit 7\n")
	installExecutable(t, filepath.Join(bin, "gpm-hello.sh"), filepath.Join(bin, "gpm-hello"))
	o := opts{env: []string{"PATH=" + bin + ":" + os.Getenv("PATH")}}
	out, _, code := runWith(t, home, o, "hello", "a", "--b")
	if want := "args=a --b home=" + home + " socket=" + filepath.Join(home, "gpm.sock"); code != 7 || strings.TrimSpace(out) != want {
		t.Errorf("plugin: exit %d, %q; want 7, %q", code, out, want)
	}
	if _, stderr, code := runWith(t, home, o, "nosuchplugin"); code != 1 || !strings.Contains(stderr, "unknown command") {
		t.Errorf("no plugin: exit %d, %q", code, stderr)
	}
}

// TestNotifyCrash_Issue10: the shipped notify-crash module, installed with gpm install and configured with gpm set,
// posts an app's crash (name, id, exit code, its last log lines) to a webhook.
func TestNotifyCrash_Issue10(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(dir, "notify-crash"), "./modules/notify-crash")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build notify-crash: %v\n%s", err, out)
	}
	manifest, err := os.ReadFile(filepath.Join(root, "modules", "notify-crash", "gpm-module.json"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "gpm-module.json", string(manifest))

	posts := make(chan map[string]any, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m map[string]any
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil || r.Method != http.MethodPost {
			t.Errorf("webhook got %s: %v", r.Method, err)
		}
		select {
		case posts <- m:
		default:
		}
	}))
	defer srv.Close()

	mustRun(t, home, "install", dir)
	mustRun(t, home, "set", "notify-crash:webhook", srv.URL+"/hook")
	// The log names the webhook by its host: its path or query is the token of a Slack or Discord webhook.
	waitFileContains(t, filepath.Join(home, "logs", "notify-crash-error.log"), `following crashes (webhook "`+srv.URL+`/…"`)
	// The module logs that it follows before its subscription reaches the daemon: the app crashes again and again
	// (every 0.2 s, restarted after 0.5 s), so that a crash comes after it whatever the machine's load.
	mustRun(t, home, "start", "sh", "--name", "crasher", "--restart-delay", "500", "--", "-c", "echo last-words-1; echo last-words-2 >&2; sleep 0.2; exit 3")
	var m map[string]any
	select {
	case m = <-posts:
	case <-time.After(patient(20 * time.Second)):
		t.Fatalf("no post within %v; the module's log:\n%s", patient(20*time.Second), readFile(t, filepath.Join(home, "logs", "notify-crash-error.log")))
	}
	mustRun(t, home, "stop", "crasher")
	p := one(t, home, "crasher")
	if m["name"] != "crasher" || m["id"] != float64(p.ID) || m["exit_code"] != 3.0 {
		t.Errorf("post: %v", m)
	}
	got, _ := json.Marshal(m["lines"])
	for _, want := range []string{"last-words-1", "last-words-2"} {
		if !strings.Contains(string(got), want) {
			t.Errorf("post lines %s: %q missing", got, want)
		}
	}
}

// TestModulesPM2_Issue10: a PM2 module that is a plain Node program (package.json, no gpm manifest) runs with
// package.json's config as its defaults and gpm set's values over them.
func TestModulesPM2_Issue10(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is not installed")
	}
	home := newHome(t)
	dir := t.TempDir()
	writeFile(t, dir, "package.json", `{"name":"pm2-hello","version":"0.3.0","main":"app.js","config":{"greeting":"hi"}}`)
	writeFile(t, dir, "app.js", `console.log("config=" + process.env.GPM_MODULE_CONFIG); setInterval(() => {}, 1000);`)
	mustRun(t, home, "install", dir)
	waitOnline(t, home, "pm2-hello")
	waitFileContains(t, outLog(home, "pm2-hello"), `config={"greeting":"hi"}`)
	mustRun(t, home, "set", "pm2-hello:greeting", "hey")
	waitFileContains(t, outLog(home, "pm2-hello"), `config={"greeting":"hey"}`)
}
