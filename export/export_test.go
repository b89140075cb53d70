package export

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/gpmd/gpm/config"
	"github.com/gpmd/gpm/config/procfile"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// lookPath resolves interpreters the same way on every machine, so that the goldens do not depend on this one.
func lookPath(name string) (string, error) {
	switch name {
	case "bash", "sh":
		return "/bin/" + name, nil
	}
	return "", exec.ErrNotFound
}

// testApps are the cases every format is rendered for: a plain app, a cluster app with sockets and readiness, and
// one that uses what the targets cannot carry.
func testApps(t *testing.T) map[string][]config.App {
	t.Helper()
	plain := config.New()
	plain.Name, plain.Script, plain.Cwd = "worker", "/srv/app/worker.sh", "/srv/app"
	plain.Interpreter = "bash"
	plain.Args = []string{"--queue", "jobs of 100%", "$HOME"}
	plain.Env = map[string]string{"QUEUE": "jobs", "GREETING": `say "hi" 100%`}
	plain.Autorestart = false
	plain.KillTimeout = 5000

	web := config.New()
	web.Name, web.Script, web.Cwd = "web", "/srv/app/server.sh", "/srv/app"
	web.Interpreter = "sh"
	web.Instances = 3
	web.Listen = []string{"http=tcp://127.0.0.1:8080", "udp://0.0.0.0:5353", "unix:///run/web/admin.sock"}
	web.WaitReady = true
	web.Env = map[string]string{"PORT": "8080"}
	web.KillSignal = "SIGTERM"
	web.KillTimeout = 10000
	web.RestartDelay = 2500
	web.StopExitCodes = []int{0, 3}
	web.MaxMemoryRestart = 256 << 20
	web.MemoryMax = 512 << 20
	web.CPUQuota = 150
	web.TasksMax = 64
	web.Watchdog = 30000
	web.User, web.Group = "www-data", "www-data"

	odd := config.New()
	odd.Name, odd.Script, odd.Cwd = "Odd_App.v2", "/usr/bin/env", "/"
	odd.Interpreter = ""
	odd.CronRestart = "0 3 * * *"
	odd.Watch = []string{"/srv"}
	odd.NoTreekill = true
	odd.ExpBackoffRestartDelay = 100
	return map[string][]config.App{"plain": {plain}, "cluster": {web, web}, "unsupported": {odd}}
}

// render renders the apps of each case in format and checks them against testdata/<format>-<case>.golden (-update
// rewrites them).
func render(t *testing.T, format string) map[string][]File {
	t.Helper()
	out := map[string][]File{}
	for name, apps := range testApps(t) {
		files, err := Formats[format](apps, Options{LookPath: lookPath})
		if err != nil {
			t.Fatalf("%s %s: %v", format, name, err)
		}
		out[name] = files
		var b bytes.Buffer
		for _, f := range files {
			b.WriteString("# ==> " + f.Name + " <==\n")
			b.Write(f.Data)
		}
		golden := filepath.Join("testdata", format+"-"+name+".golden")
		if *update {
			if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (go test -update writes it)", err)
		}
		if !bytes.Equal(b.Bytes(), want) {
			t.Errorf("%s %s differs from %s (go test -update rewrites it):\n%s", format, name, golden, b.Bytes())
		}
	}
	return out
}

func TestNoApps(t *testing.T) {
	for name, f := range Formats {
		if _, err := f(nil, Options{}); !errors.Is(err, ErrNoApps) {
			t.Errorf("%s of no app: %v, want ErrNoApps", name, err)
		}
	}
}

// TestSystemd: the goldens, then every unit through systemd's own parser (`systemd-analyze verify`), which fails
// the test on any output: unknown keys and bad values are only warnings there.
func TestSystemd(t *testing.T) {
	cases := render(t, "systemd")
	if names := fileNames(cases["cluster"]); strings.Join(names, " ") != "web@.service web.socket web-1.socket web-2.socket" {
		t.Errorf("cluster app with 3 instances and 3 sockets: files %v", names)
	}
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Skip("systemd-analyze is not installed")
	}
	// verify drops a marker in /run/systemd on a host whose init is not systemd; leave the host as it was.
	marker := "/run/systemd/systemd-units-load"
	if _, err := os.Stat(marker); os.IsNotExist(err) {
		t.Cleanup(func() { os.Remove(marker) })
	}
	for name, files := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			args := []string{"verify", "--man=no"}
			for _, f := range files {
				if err := os.WriteFile(filepath.Join(dir, f.Name), f.Data, 0o644); err != nil {
					t.Fatal(err)
				}
				unit := f.Name
				if strings.HasSuffix(unit, "@.service") {
					unit = strings.Replace(unit, "@.", "@1.", 1) // a template is verified through an instance
				}
				args = append(args, filepath.Join(dir, unit))
			}
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, "systemd-analyze", args...)
			cmd.Dir = dir
			out, err := cmd.CombinedOutput()
			// The users of the unit do not exist here; that is the machine's business, not the unit's.
			out = dropLines(out, "Failed to resolve user", "Failed to resolve group", "www-data")
			if err != nil || len(bytes.TrimSpace(out)) > 0 {
				t.Errorf("systemd-analyze %s: %v\n%s", strings.Join(args, " "), err, out)
			}
		})
	}
}

func dropLines(b []byte, subs ...string) []byte {
	var out []byte
	for _, l := range bytes.SplitAfter(b, []byte("\n")) {
		keep := true
		for _, s := range subs {
			keep = keep && !bytes.Contains(l, []byte(s))
		}
		if keep {
			out = append(out, l...)
		}
	}
	return out
}

func fileNames(files []File) []string {
	var out []string
	for _, f := range files {
		out = append(out, f.Name)
	}
	return out
}

// TestKubernetes: the goldens; each document parses as YAML with the fields the API server requires (apps/v1
// Deployment: a selector that matches its template's labels, containers with a name and an image); the process
// file in the ConfigMap loads as gpm run will load it; `kubectl create --dry-run=client` accepts the files when
// kubectl can reach an API server (it needs one for the kinds).
func TestKubernetes(t *testing.T) {
	for name, files := range render(t, "kubernetes") {
		t.Run(name, func(t *testing.T) {
			for _, f := range files {
				dec := yaml.NewDecoder(bytes.NewReader(f.Data))
				kinds := map[string]map[string]any{}
				for {
					var doc map[string]any
					if err := dec.Decode(&doc); err != nil {
						if err.Error() == "EOF" {
							break
						}
						t.Fatalf("%s: %v", f.Name, err)
					}
					for _, field := range []string{"apiVersion", "kind", "metadata"} {
						if doc[field] == nil {
							t.Errorf("%s: a document without %s", f.Name, field)
						}
					}
					kinds[doc["kind"].(string)] = doc
				}
				checkDeployment(t, f.Name, kinds["Deployment"])
				cm := kinds["ConfigMap"]
				data, _ := cm["data"].(map[string]any)
				if len(data) != 1 {
					t.Fatalf("%s: ConfigMap data %v, want the one process file", f.Name, data)
				}
				for file, content := range data {
					checkRunFile(t, file, content.(string))
				}
				if name == "cluster" && kinds["Service"] == nil {
					t.Errorf("%s: an app with listen and no Service", f.Name)
				}
			}
			kubectlDryRun(t, files)
		})
	}
}

func checkDeployment(t *testing.T, file string, d map[string]any) {
	t.Helper()
	if d == nil {
		t.Fatalf("%s: no Deployment", file)
	}
	get := func(m any, path ...string) any {
		for _, p := range path {
			mm, ok := m.(map[string]any)
			if !ok {
				return nil
			}
			m = mm[p]
		}
		return m
	}
	if d["apiVersion"] != "apps/v1" {
		t.Errorf("%s: Deployment apiVersion %v", file, d["apiVersion"])
	}
	sel, labels := get(d, "spec", "selector", "matchLabels"), get(d, "spec", "template", "metadata", "labels")
	if sel == nil || !equalYAML(sel, labels) {
		t.Errorf("%s: selector %v does not match the template's labels %v", file, sel, labels)
	}
	if r, ok := get(d, "spec", "replicas").(int); !ok || r < 1 {
		t.Errorf("%s: replicas %v", file, get(d, "spec", "replicas"))
	}
	cs, _ := get(d, "spec", "template", "spec", "containers").([]any)
	if len(cs) != 1 || get(cs[0], "name") == nil || get(cs[0], "image") == nil {
		t.Fatalf("%s: containers %v, want one with a name and an image", file, cs)
	}
	cmd, _ := get(cs[0], "command").([]any)
	if len(cmd) < 2 || cmd[0] != "gpm" || cmd[1] != "run" {
		t.Errorf("%s: command %v, want gpm run", file, cmd)
	}
}

func equalYAML(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// checkRunFile loads the process file an export gives gpm run, as gpm run will.
func checkRunFile(t *testing.T, name, content string) {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := procfile.Load(p, procfile.LoadOptions{})
	if err != nil {
		t.Fatalf("the process file for gpm run does not load: %v\n%s", err, content)
	}
	if len(f.Apps) != 1 || f.Apps[0].Instances != 1 {
		t.Errorf("the process file for gpm run: %d apps, want one with one instance", len(f.Apps))
	}
	for _, l := range f.Apps[0].Listen {
		if strings.Contains(l, "127.0.0.1") {
			t.Errorf("listen %s in a container: unreachable from its Service", l)
		}
	}
}

func kubectlDryRun(t *testing.T, files []File) {
	t.Helper()
	if _, err := exec.LookPath("kubectl"); err != nil {
		t.Log("kubectl is not installed: the YAML and field checks above stand alone")
		return
	}
	for _, f := range files {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		cmd := exec.CommandContext(ctx, "kubectl", "create", "--dry-run=client", "--validate=false", "-o", "name", "-f", "-")
		cmd.Stdin = bytes.NewReader(f.Data)
		out, err := cmd.CombinedOutput()
		cancel()
		if err != nil && (bytes.Contains(out, []byte("connection refused")) || bytes.Contains(out, []byte("server API"))) {
			t.Log("kubectl reaches no API server (its dry run needs one to know the kinds): the checks above stand alone")
			return
		}
		if err != nil {
			t.Errorf("kubectl create --dry-run=client %s: %v\n%s", f.Name, err, out)
		}
	}
}

// TestNomad: the goldens; `nomad job validate` when nomad is installed, else the structure of Nomad's API JSON
// that a job needs (ID, Type, task groups with a count and tasks with a driver and its config), and the embedded
// process file loads as gpm run will load it.
func TestNomad(t *testing.T) {
	for name, files := range render(t, "nomad") {
		t.Run(name, func(t *testing.T) {
			for _, f := range files {
				var doc struct {
					Job struct {
						ID, Type   string
						TaskGroups []struct {
							Name  string
							Count int
							Tasks []struct {
								Name, Driver string
								Config       map[string]any
								Templates    []struct{ EmbeddedTmpl, DestPath string }
								KillTimeout  int64
							}
						}
					}
				}
				dec := json.NewDecoder(bytes.NewReader(f.Data))
				dec.DisallowUnknownFields()
				if err := dec.Decode(&doc); err != nil && !strings.Contains(err.Error(), "unknown field") {
					t.Fatalf("%s: %v", f.Name, err)
				}
				j := doc.Job
				if j.ID == "" || j.Type != "service" || len(j.TaskGroups) != 1 {
					t.Fatalf("%s: job %+v", f.Name, j)
				}
				g := j.TaskGroups[0]
				if g.Name == "" || g.Count < 1 || len(g.Tasks) != 1 {
					t.Fatalf("%s: task group %+v", f.Name, g)
				}
				task := g.Tasks[0]
				if task.Name == "" || task.Driver != "docker" || task.Config["image"] == nil || task.KillTimeout <= 0 {
					t.Errorf("%s: task %+v", f.Name, task)
				}
				if len(task.Templates) != 1 || !strings.HasPrefix(task.Templates[0].DestPath, "local/") {
					t.Fatalf("%s: templates %+v, want the process file in local/", f.Name, task.Templates)
				}
				checkRunFile(t, filepath.Base(task.Templates[0].DestPath), task.Templates[0].EmbeddedTmpl)
				nomadValidate(t, f)
			}
		})
	}
}

func nomadValidate(t *testing.T, f File) {
	t.Helper()
	if _, err := exec.LookPath("nomad"); err != nil {
		return // the structure check above stands alone
	}
	p := filepath.Join(t.TempDir(), f.Name)
	if err := os.WriteFile(p, f.Data, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "nomad", "job", "validate", "-json", p).CombinedOutput(); err != nil {
		t.Errorf("nomad job validate -json %s: %v\n%s", f.Name, err, out)
	}
}

// k8sExpand is how the kubelet reads a container's env value (k8s.io/kubernetes third_party/forked/golang/expansion,
// the rule of the API's EnvVar.value): $(NAME) of a variable defined before it is replaced, $$ is one $, anything
// else stays as written.
func k8sExpand(in string, defined map[string]string) string {
	var b strings.Builder
	for i := 0; i < len(in); i++ {
		if in[i] != '$' || i+1 == len(in) {
			b.WriteByte(in[i])
			continue
		}
		switch in[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(in[i+2:], ')')
			if end < 0 {
				b.WriteString("$(")
				i++
				continue
			}
			name := in[i+2 : i+2+end]
			if v, ok := defined[name]; ok {
				b.WriteString(v)
			} else {
				b.WriteString("$(" + name + ")")
			}
			i += 2 + end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}

// An env value reaches the container as it is in the app, whatever $ it holds: the kubelet turns $$ into $ and
// $(NAME) into another variable's value.
func TestKubernetesEnvDollar(t *testing.T) {
	a := config.New()
	a.Name, a.Script, a.Cwd = "dollars", "/srv/app/run.sh", "/srv/app"
	a.Env = map[string]string{"A_HOST": "db", "PASSWORD": "pa$$w$(A_HOST)rd$", "PRICE": "$5 $(", "PLAIN": "no dollar"}
	files, err := Kubernetes([]config.App{a}, Options{LookPath: lookPath})
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(files[0].Data))
	for {
		var doc struct {
			Kind string
			Spec struct {
				Template struct {
					Spec struct {
						Containers []struct {
							Env []struct{ Name, Value string }
						}
					}
				}
			}
		}
		if err := dec.Decode(&doc); err != nil {
			t.Fatalf("%s: no Deployment: %v", files[0].Name, err)
		}
		if doc.Kind != "Deployment" {
			continue
		}
		defined := map[string]string{}
		got := map[string]string{}
		for _, e := range doc.Spec.Template.Spec.Containers[0].Env {
			v := k8sExpand(e.Value, defined)
			defined[e.Name], got[e.Name] = v, v
		}
		for k, want := range a.Env {
			if got[k] != want {
				t.Errorf("env %s reaches the container as %q, want %q", k, got[k], want)
			}
		}
		return
	}
}

// A path of the app reaches systemd as written: % is systemd's specifier character in WorkingDirectory=,
// ListenStream= and FileDescriptorName= (an unknown one makes the unit fail, a known one changes the path); a
// newline, which a unit cannot hold, is refused by name instead of starting a directive of its own.
func TestSystemdPaths(t *testing.T) {
	a := config.New()
	a.Name, a.Script, a.Cwd = "pct", "/bin/true", "/srv/100%Zdone"
	a.Listen = []string{"unix:///run/50%25Z/admin.sock"} // a URL: %25 is %
	files, err := Systemd([]config.App{a}, Options{LookPath: lookPath})
	if err != nil {
		t.Fatal(err)
	}
	var all []byte
	for _, f := range files {
		all = append(all, f.Data...)
	}
	for _, want := range []string{"WorkingDirectory=/srv/100%%Zdone\n", "ListenStream=/run/50%%Z/admin.sock\n"} {
		if !bytes.Contains(all, []byte(want)) {
			t.Errorf("no line %q in\n%s", want, all)
		}
	}
	if _, err := exec.LookPath("systemd-analyze"); err == nil {
		marker := "/run/systemd/systemd-units-load"
		if _, err := os.Stat(marker); os.IsNotExist(err) {
			t.Cleanup(func() { os.Remove(marker) })
		}
		dir := t.TempDir()
		args := []string{"verify", "--man=no"}
		for _, f := range files {
			if err := os.WriteFile(filepath.Join(dir, f.Name), f.Data, 0o644); err != nil {
				t.Fatal(err)
			}
			args = append(args, filepath.Join(dir, f.Name))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, "systemd-analyze", args...).CombinedOutput()
		if err != nil || len(bytes.TrimSpace(out)) > 0 {
			t.Errorf("systemd-analyze %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}

	for _, bad := range []func(*config.App){
		func(a *config.App) { a.Cwd = "/srv/a\nExecStartPre=/bin/false" },
		func(a *config.App) { a.User = "web\nExecStartPre=/bin/false" },
		func(a *config.App) { a.Group = "web\rExecStartPre=/bin/false" },
		func(a *config.App) { a.Listen = []string{"unix:///run/a%0AExecStartPre=/bin/false"} },
	} {
		b := a.Clone()
		b.Cwd, b.Listen = "/srv", nil
		bad(&b)
		files, err := Systemd([]config.App{b}, Options{LookPath: lookPath})
		if err == nil {
			var all []byte
			for _, f := range files {
				all = append(all, f.Data...)
			}
			t.Errorf("cwd %q, uid %q, gid %q, listen %q: no error, units\n%s", b.Cwd, b.User, b.Group, b.Listen, all)
		}
	}
}
