package procfile

import (
	"errors"
	"fmt"
	"github.com/gpmd/gpm/config"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// base is the directory relative paths resolve against in these tests.
var base = filepath.FromSlash("/srv/app")

func parse(t *testing.T, name, src string, opts LoadOptions) *File {
	t.Helper()
	if opts.NumCPU == 0 {
		opts.NumCPU = 8
	}
	f, err := Parse(name, []byte(src), base, opts)
	if err != nil {
		t.Fatalf("Parse(%s): %v", name, err)
	}
	return f
}

func TestParseShapes(t *testing.T) {
	tests := []struct {
		name, file, src string
		want            []string // app names
	}{
		{"PM2 JSON5 example", "e.json", "// c\n{ apps: [ { name: 'x', script: 'a.js', }, ] }", []string{"x"}},
		{"strict JSON", "e.json", `{"apps": [{"name": "a", "script": "a.js"}, {"name": "b", "script": "b.js"}]}`, []string{"a", "b"}},
		{"pm2 key", "e.json", `{pm2: [{name: "a", script: "a.js"}]}`, []string{"a"}},
		{"apps single object", "e.json", `{apps: {name: "solo", script: "a.js"}}`, []string{"solo"}},
		{"bare array", "e.json", `[{script: "one.js"}, {script: "two.js"}]`, []string{"one", "two"}},
		{"single object", "e.json5", `{name: "only", script: "a.js"}`, []string{"only"}},
		{"YAML", "e.yml", "apps:\n  - name: y\n    script: a.js\n", []string{"y"}},
		{"YAML ending in an empty document", "e.yml", "apps:\n  - name: y\n    script: a.js\n---\n", []string{"y"}},
		{"YAML bare list", "e.yaml", "- script: a.py\n- script: b.py\n", []string{"a", "b"}},
		{"YAML flow", "e.yaml", "{apps: [{name: f, script: a.js}]}", []string{"f"}},
		{"sniffed JSON", "-", `{"apps": [{"name": "s", "script": "a.js"}]}`, []string{"s"}},
		{"sniffed YAML", "-", "# yaml\napps:\n- name: s\n  script: a.js\n", []string{"s"}},
		{"sniffed YAML flow", "", "{apps: [{name: f, script: a.js}]}", []string{"f"}},
		{"YAML merge key", "e.yml", "x: &d {script: a.js, instances: 2}\napps:\n- {<<: *d, name: m}\n", []string{"m"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := parse(t, tt.file, tt.src, LoadOptions{})
			var got []string
			for _, a := range f.Apps {
				got = append(got, a.Name)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("apps = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseJSON5File(t *testing.T) {
	f, err := Load("testdata/comments.json", LoadOptions{NumCPU: 8, Env: "production"})
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Apps) != 2 || len(f.Warnings) != 0 {
		t.Fatalf("apps = %d, warnings = %q", len(f.Apps), f.Warnings)
	}
	dir, _ := filepath.Abs("testdata")
	api, worker := f.Apps[0], f.Apps[1]
	wantEnv := map[string]string{"PORT": "3000", "DEBUG": "false", "OPTS": `{"a":[1,"two"]}`, "NODE_ENV": "production"}
	switch {
	case api.Instances != 4 || api.ExecMode != "cluster":
		t.Errorf("api: instances %d, exec_mode %q", api.Instances, api.ExecMode)
	case api.MaxMemoryRestart != 200<<20 || api.MinUptime != 2000:
		t.Errorf("api: max_memory_restart %d, min_uptime %d", api.MaxMemoryRestart, api.MinUptime)
	case !reflect.DeepEqual(api.Env, wantEnv):
		t.Errorf("api: env %q, want %q", api.Env, wantEnv)
	case api.Cwd != dir || api.Interpreter != "node":
		t.Errorf("api: cwd %q (want %q), interpreter %q", api.Cwd, dir, api.Interpreter)
	case worker.Script != filepath.Join(dir, "worker.sh") || !reflect.DeepEqual(worker.Args, []string{"--queue", "high prio", "-v"}):
		t.Errorf("worker: script %q, args %q", worker.Script, worker.Args)
	case worker.KillTimeout != 16 || worker.RestartDelay != 500:
		t.Errorf("worker: kill_timeout %d, restart_delay %d", worker.KillTimeout, worker.RestartDelay)
	case worker.LogFile != config.DefaultLog:
		t.Errorf("worker: log_file %q, want %q", worker.LogFile, config.DefaultLog)
	}
}

func TestParseYAMLExample(t *testing.T) {
	f, err := Load("testdata/ecosystem.yml", LoadOptions{NumCPU: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Apps) != 2 {
		t.Fatalf("apps = %+v", f.Apps)
	}
	http, py := f.Apps[0], f.Apps[1]
	if http.Name != "HTTP" || http.Instances != 4 || http.ExecMode != "fork" {
		t.Errorf("HTTP = %+v", http)
	}
	if py.Interpreter != "/usr/bin/python3" || !reflect.DeepEqual(py.InterpreterArgs, []string{"-u"}) ||
		py.Env["DEFAULT_STR"] != "PYTHONENV" {
		t.Errorf("PythonApp = %+v", py)
	}
}

func TestCoercions(t *testing.T) {
	tests := []struct {
		field string // JSON5 member(s) added to {name: 'c', script: 'a.js'}
		check func(a config.App) bool
	}{
		{`instances: "4"`, func(a config.App) bool { return a.Instances == 4 }},
		{`instances: 'max'`, func(a config.App) bool { return a.Instances == 8 }},
		{`instances: 0`, func(a config.App) bool { return a.Instances == 8 }},
		{`instances: -1`, func(a config.App) bool { return a.Instances == 7 }},
		{`instances: "-2"`, func(a config.App) bool { return a.Instances == 6 }},
		{`instances: -20`, func(a config.App) bool { return a.Instances == 1 }},
		{`exec_mode: 'cluster'`, func(a config.App) bool { return a.ExecMode == "cluster" }},
		{`exec_mode: 'cluster_mode'`, func(a config.App) bool { return a.ExecMode == "cluster" }},
		{`exec_mode: 'fork_mode'`, func(a config.App) bool { return a.ExecMode == "fork" }},
		{`max_restarts: "5"`, func(a config.App) bool { return a.MaxRestarts == 5 }},
		{`min_uptime: "2s"`, func(a config.App) bool { return a.MinUptime == 2000 }},
		{`kill_timeout: "3000"`, func(a config.App) bool { return a.KillTimeout == 3000 }},
		{`listen_timeout: '1.5s'`, func(a config.App) bool { return a.ListenTimeout == 1500 }},
		{`restart_delay: "500ms"`, func(a config.App) bool { return a.RestartDelay == 500 }},
		{`exp_backoff_restart_delay: 100`, func(a config.App) bool { return a.ExpBackoffRestartDelay == 100 }},
		{`max_memory_restart: "1G"`, func(a config.App) bool { return a.MaxMemoryRestart == 1<<30 }},
		{`max_memory_restart: 1048576`, func(a config.App) bool { return a.MaxMemoryRestart == 1<<20 }},
		{`args: "-a 'b c' \"d\\\"e\""`, func(a config.App) bool { return reflect.DeepEqual(a.Args, []string{"-a", "b c", `d"e`}) }},
		{`args: ['-x', 5]`, func(a config.App) bool { return reflect.DeepEqual(a.Args, []string{"-x", "5"}) }},
		{`node_args: "--inspect --harmony"`, func(a config.App) bool {
			return reflect.DeepEqual(a.InterpreterArgs, []string{"--inspect", "--harmony"})
		}},
		{`interpreterArgs: ["-u"]`, func(a config.App) bool { return reflect.DeepEqual(a.InterpreterArgs, []string{"-u"}) }},
		{`exec_interpreter: 'none'`, func(a config.App) bool { return a.Interpreter == "" }},
		{`stop_exit_codes: 0`, func(a config.App) bool { return reflect.DeepEqual(a.StopExitCodes, []int{0}) }},
		{`stop_exit_codes: [0, "2"]`, func(a config.App) bool { return reflect.DeepEqual(a.StopExitCodes, []int{0, 2}) }},
		{`autorestart: "false"`, func(a config.App) bool { return !a.Autorestart }},
		{`autostart: false, wait_ready: 'true'`, func(a config.App) bool { return !a.Autostart && a.WaitReady }},
		{`cron: '0 3 * * *'`, func(a config.App) bool { return a.CronRestart == "0 3 * * *" }},
		{`cron_restart: 0`, func(a config.App) bool { return a.CronRestart == "" }},
		{`cron_restart: ' */10 * * * * * '`, func(a config.App) bool { return a.CronRestart == "*/10 * * * * *" }},
		{`cron_restart: '@daily'`, func(a config.App) bool { return a.CronRestart == "@daily" }},
		{`watch: true`, func(a config.App) bool { return reflect.DeepEqual(a.Watch, []string{"."}) }},
		{`watch: 'false'`, func(a config.App) bool { return a.Watch == nil }},
		// PM2 watches when watch is truthy: an empty string (a template's `watch: process.env.WATCH || ''`) is
		// off, as --watch= is in gpm's CLI; it was a path, the app's whole cwd, restarted on every change in it.
		{`watch: ''`, func(a config.App) bool { return a.Watch == nil }},
		{`watch: 'src dir'`, func(a config.App) bool { return reflect.DeepEqual(a.Watch, []string{"src dir"}) }},
		{`watch: ['src', 'config'], ignore_watch: 'logs', watch_delay: '2s'`, func(a config.App) bool {
			return reflect.DeepEqual(a.Watch, []string{"src", "config"}) && reflect.DeepEqual(a.IgnoreWatch, []string{"logs"}) && a.WatchDelay == 2000
		}},
		{`ignoreWatch: ['*.log', 'tmp'], watchDelay: 300`, func(a config.App) bool {
			return reflect.DeepEqual(a.IgnoreWatch, []string{"*.log", "tmp"}) && a.WatchDelay == 300
		}},
		{`kill_signal: 'term'`, func(a config.App) bool { return a.KillSignal == "SIGTERM" }},
		{`output: 'out.log', err: '/var/err.log', log: 'all.log'`, func(a config.App) bool {
			return a.OutFile == filepath.Join(base, "out.log") && a.ErrorFile == "/var/err.log" && a.LogFile == filepath.Join(base, "all.log")
		}},
		{`out_file: 'NULL', log_file: false`, func(a config.App) bool { return a.OutFile == config.NullLog && a.LogFile == "" }},
		{`combine_logs: true, time: true, log_type: 'json'`, func(a config.App) bool { return a.MergeLogs && a.Time && a.LogType == "json" }},
		{`pid: 'app.pid', user: 'www', gid: 33`, func(a config.App) bool {
			return a.PidFile == filepath.Join(base, "app.pid") && a.User == "www" && a.Group == "33"
		}},
		{`cwd: 'sub', namespace: 'ns'`, func(a config.App) bool { return a.Cwd == filepath.Join(base, "sub") && a.Namespace == "ns" }},
		{`instance_var: 'INSTANCE_ID', increment_var: 'PORT'`, func(a config.App) bool {
			return a.InstanceVar == "INSTANCE_ID" && a.IncrementVar == "PORT"
		}},
		{`env: {N: 1.50, H: 0x10, B: true, Z: null, L: [1, {x: 'y'}]}`, func(a config.App) bool {
			return reflect.DeepEqual(a.Env, map[string]string{"N": "1.5", "H": "16", "B": "true", "Z": "", "L": `[1,{"x":"y"}]`})
		}},
		{`env: {A: 1e21, B: 1e-7, C: -Infinity, D: 2.50e2, E: [NaN]}`, func(a config.App) bool {
			return reflect.DeepEqual(a.Env, map[string]string{"A": "1e+21", "B": "1e-7", "C": "-Infinity", "D": "250", "E": "[null]"})
		}},
		{`log_date_format: 'YYYY', disable_logs: true`, func(a config.App) bool { return a.LogDateFormat == "YYYY" && a.DisableLogs }},
		{`interpreter: null`, func(a config.App) bool { return a.Interpreter == "node" }},
	}
	for _, tt := range tests {
		t.Run(tt.field, func(t *testing.T) {
			f := parse(t, "c.json", "{name: 'c', script: 'a.js', "+tt.field+"}", LoadOptions{})
			if len(f.Warnings) > 0 {
				t.Errorf("warnings: %q", f.Warnings)
			}
			if !tt.check(f.Apps[0]) {
				t.Errorf("unexpected app: %+v", f.Apps[0])
			}
		})
	}
}

func TestScriptAliases(t *testing.T) {
	for _, alias := range []string{"script", "exec", "cmd", "command"} {
		f := parse(t, "e.json", "{"+alias+": 'other.js'}", LoadOptions{})
		if a := f.Apps[0]; a.Script != "other.js" || a.Name != "other" || len(f.Warnings) > 0 {
			t.Errorf("%s: script %q name %q warnings %q", alias, a.Script, a.Name, f.Warnings)
		}
	}
}

func TestEnvSelection(t *testing.T) {
	src := `apps:
- name: a
  script: a.js
  env_production: {NODE_ENV: production, ONLY_PROD: "1"}
  env: {NODE_ENV: development, PORT: 80}
  env_staging: {NODE_ENV: staging}
`
	tests := []struct {
		env  string
		want map[string]string
	}{
		{"", map[string]string{"NODE_ENV": "development", "PORT": "80"}},
		{"production", map[string]string{"NODE_ENV": "production", "PORT": "80", "ONLY_PROD": "1"}},
		{"staging", map[string]string{"NODE_ENV": "staging", "PORT": "80"}},
		{"unknown", map[string]string{"NODE_ENV": "development", "PORT": "80"}},
	}
	for _, tt := range tests {
		f := parse(t, "e.yml", src, LoadOptions{Env: tt.env})
		if got := f.Apps[0].Env; !reflect.DeepEqual(got, tt.want) {
			t.Errorf("--env %q: env = %v, want %v", tt.env, got, tt.want)
		}
	}
	// env_<name> without env creates it.
	f := parse(t, "e.json", `{script: 'a.js', env_prod: {A: 1}}`, LoadOptions{Env: "prod"})
	if !reflect.DeepEqual(f.Apps[0].Env, map[string]string{"A": "1"}) {
		t.Errorf("env = %v", f.Apps[0].Env)
	}
}

func TestOnly(t *testing.T) {
	src := `[{name: 'a', script: 'a.js'}, {name: 'b', script: 'b.js'}, {name: 'c', script: 'c.js'}]`
	f := parse(t, "e.json", src, LoadOptions{Only: []string{"c,a"}})
	if len(f.Apps) != 2 || f.Apps[0].Name != "a" || f.Apps[1].Name != "c" {
		t.Errorf("--only c,a: %+v", f.Apps)
	}
	_, err := Parse("e.json", []byte(src), base, LoadOptions{Only: []string{"a", "zz"}})
	if err == nil || !strings.Contains(err.Error(), "--only zz") {
		t.Errorf("--only zz: err = %v", err)
	}
}

func TestWarnings(t *testing.T) {
	src := "{\n apps: [{\n  name: 'w',\n  script: 'a.js',\n  colour: 'red',\n  kill_retry_time: 50,\n  treekill: true,\n" +
		"  exec: 'b.js',\n }],\n deploy: {},\n static: [{path: '.'}],\n extra: 1,\n}"
	f := parse(t, "w.json", src, LoadOptions{})
	want := []string{
		"w.json: apps[0] (w): unknown field colour (line 5)",
		"w.json: apps[0] (w): field kill_retry_time is not supported by gpm yet, ignored (line 6)",
		"w.json: apps[0] (w): field exec repeats script (line 4); the later value is used (line 8)",
		"w.json: static (pm2 serve) apps are not supported by gpm yet, ignored (line 11)",
		"w.json: unknown top-level field extra (line 12)",
	}
	if !reflect.DeepEqual(f.Warnings, want) {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(f.Warnings, "\n"), strings.Join(want, "\n"))
	}
	if f.Apps[0].Script != "b.js" {
		t.Errorf("script = %q, want the later b.js", f.Apps[0].Script)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, file, src string
		line            int
		field           string // non-empty: must be a *FieldError for this field
		want            []string
	}{
		{"missing comma", "e.json", "{\n apps: [\n  {name: 'a', script: 'a.js'}\n  {name: 'b'}\n ]\n}", 4, "",
			[]string{"e.json:4:3: syntax error", "expected ',' or ']'"}},
		{"unterminated string", "e.json", "{\n name: 'a,\n}", 2, "", []string{"e.json:2:", "unterminated string"}},
		{"unterminated comment", "e.json", "{}\n\n/* no end", 3, "", []string{"e.json:3:1:", "unterminated /* comment"}},
		{"bare word value", "e.json", "{\n\n name: api }", 3, "", []string{`unexpected identifier "api"`}},
		{"trailing garbage", "e.json", "{script: 'a'}\n}", 2, "", []string{"after the end of the top-level value"}},
		{"malformed YAML", "e.yml", "apps:\n  - name: a\n    script: a.js\n   bad: [\n", 4, "", []string{"e.yml:4: syntax error"}},
		{"malformed YAML tab", "e.yml", "apps:\n- name: a\n\tscript: x\n", 3, "", []string{"e.yml:3: syntax error"}},
		{"YAML open quote", "e.yml", "apps:\n  - name: a\n    script: a.js\n  - name: b\n    script: 'x\n    env: {}\n", 5, "",
			[]string{"e.yml:5: syntax error"}},
		{"YAML indentation", "e.yml", "apps:\n  - name: a\n    env:\n      A: 1\n     B: 2\n", 5, "", []string{"e.yml:5:"}},
		{"YAML missing colon", "e.yml", "name: a\nscript: b\nenv 2\ncwd: /\n", 3, "", []string{"e.yml:3:", "expected ':'"}},
		{"YAML unclosed flow", "e.yml", "apps:\n  - name: a\n    args: [a, b\n    env: 1\n", 3, "", []string{"e.yml:3:"}},
		{"YAML error deep in a long file", "e.yml", "apps:\n" + strings.Repeat("- name: a\n  script: a.js\n  env: {A: 1}\n", 900) +
			" bad: [\n", 2702, "", []string{"e.yml:2702:"}},
		// PM2 loads a YAML file with js-yaml's load, which refuses a second document; reading the first alone
		// started some of the apps and silently left out the rest.
		{"YAML second document", "e.yml", "apps:\n  - name: a\n    script: a.js\n---\napps:\n  - name: b\n    script: b.js\n", 4, "",
			[]string{"e.yml:4: syntax error", "a second YAML document"}},
		{"YAML second document after ...", "e.yml", "name: a\nscript: a.js\n...\n---\nname: b\nscript: b.js\n", 4, "",
			[]string{"e.yml:4: syntax error", "a second YAML document"}},
		{"YAML broken second document", "e.yml", "name: a\nscript: a.js\n---\nname: b\n bad: [\n", 5, "", []string{"e.yml:5: syntax error"}},
		{"YAML alias cycle", "e.yml", "x: &a {b: *a}\napps: [{script: a, env: *a}]\n", 0, "", []string{"refers to a node that contains it"}},
		{"YAML billion laughs", "e.yml", laughs(), 0, "", []string{"aliases expand to more than"}},
		{"instances", "ecosystem.json", "{apps: [\n{name: 'a', script: 'a.js'},\n{\n name: 'api',\n script: 'a.js',\n\n instances: 'lots'}]}",
			7, "instances", []string{`ecosystem.json:7: apps[1] (api).instances must be a number, "max" or -N, got "lots"`}},
		{"exec_mode", "e.yml", "name: x\nscript: a.js\nexec_mode: spread\n", 3, "exec_mode",
			[]string{`e.yml:3: x.exec_mode must be fork or cluster`, `got "spread"`}},
		{"min_uptime", "e.json", "[{script: 'a.js',\n min_uptime: '2 weeks'}]", 2, "min_uptime",
			[]string{`e.json:2: apps[0] (a).min_uptime must be milliseconds or a duration`}},
		{"max_memory_restart", "e.json", "{script: 'a.js',\n max_memory_restart: true}", 2, "max_memory_restart",
			[]string{`e.json:2: a.max_memory_restart must be bytes or a size`, "got true"}},
		{"bool", "e.json", "{script: 'a.js', autorestart: 'yes'}", 1, "autorestart", []string{`must be true or false, got "yes"`}},
		{"max_restarts", "e.json", "{script: 'a.js', max_restarts: -1}", 1, "max_restarts", []string{"must be between 0 and"}},
		{"cron out of range", "e.json", "{script: 'a.js',\n cron_restart: '61 * * * *'}", 2, "cron_restart",
			[]string{`e.json:2: a.cron_restart must be a cron expression such as "0 3 * * *"`, "61"}},
		{"cron not cron", "e.json", "{script: 'a.js', cron: 'at noon'}", 1, "cron", []string{"must be a cron expression"}},
		{"watch", "e.json", "{script: 'a.js', watch: {a: 1}}", 1, "watch", []string{"must be true, false, a path or a list of paths"}},
		{"args quote", "e.json", "{script: 'a.js', args: \"'open\"}", 1, "args", []string{"unterminated ' quote"}},
		{"env not object", "e.json", "{script: 'a.js',\n env_prod: 'x'}", 2, "env_prod", []string{"must be an object"}},
		{"kill_signal", "e.yml", "script: a.js\nkill_signal: SIGFOO\n", 2, "kill_signal", []string{"unknown signal"}},
		{"log_type", "e.yml", "name: x\nscript: a.js\nlog_type: xml\n", 3, "log_type", []string{"x.log_type expected json"}},
		{"no script", "e.json", "{apps: [{name: 'a', script: 'a.js'},\n {name: 'nos'}]}", 2, "script",
			[]string{"apps[1] (nos).script is required"}},
		{"duplicate names", "e.yml", "- name: a\n  script: a.js\n- script: a.js\n", 3, "name",
			[]string{`apps[1] (a).name "a" is already used by apps[0] (a) (line 1)`}},
		{"not an object", "e.json", "{apps: [1]}", 1, "", []string{"apps[0]: expected an app object", "got 1"}},
		{"apps not a list", "e.json", "{apps: 'x'}", 1, "", []string{"apps must be a list"}},
		{"empty", "e.json", "// nothing\n", 0, "", []string{"e.json: the file defines no apps"}},
		{"empty list", "e.yml", "apps: []\n", 1, "", []string{"defines no apps"}},
		{"scalar root", "e.yml", "hello\n", 1, "", []string{"expected {apps: [...]}"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse(tt.file, []byte(tt.src), base, LoadOptions{NumCPU: 4})
			if err == nil {
				t.Fatalf("no error; apps %+v", f.Apps)
			}
			if f != nil {
				t.Errorf("got a File with an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			var fe *config.FieldError
			var se *syntaxError
			switch {
			case errors.As(err, &fe):
				if fe.Line != tt.line || fe.Field != tt.field || fe.File != tt.file {
					t.Errorf("FieldError %+v, want line %d field %q", fe, tt.line, tt.field)
				}
			case tt.field != "":
				t.Errorf("error %q (%T) is not a *FieldError", err, err)
			case errors.As(err, &se):
				if se.Line != tt.line {
					t.Errorf("syntax error at line %d, want %d: %v", se.Line, tt.line, err)
				}
			}
		})
	}
}

// laughs is a YAML "billion laughs": 9^9 strings once its aliases are expanded.
func laughs() string {
	var b strings.Builder
	b.WriteString("l0: &l0 [x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 9; i++ {
		fmt.Fprintf(&b, "l%d: &l%d [%s*l%d]\n", i, i, strings.Repeat(fmt.Sprintf("*l%d, ", i-1), 8), i-1)
	}
	b.WriteString("apps:\n- script: a.js\n  env: {X: *l8}\n")
	return b.String()
}

func TestLoadStdin(t *testing.T) {
	f, err := Load("-", LoadOptions{Stdin: strings.NewReader("apps:\n- script: ./run.sh\n")})
	if err != nil {
		t.Fatal(err)
	}
	if f.Path != "-" || len(f.Apps) != 1 || !filepath.IsAbs(f.Apps[0].Script) || f.Apps[0].Name != "run" {
		t.Errorf("stdin: %+v", f)
	}
	_, err = Load("-", LoadOptions{Stdin: strings.NewReader("{\"apps\": [\n{\"script\": 1,}\n")})
	if err == nil || !strings.HasPrefix(err.Error(), "<stdin>:3:") {
		t.Errorf("stdin error = %v, want it at <stdin>:3", err)
	}
}

func TestLoadErrors(t *testing.T) {
	if _, err := Load("testdata/nope.json", LoadOptions{}); err == nil || !strings.Contains(err.Error(), "nope.json") {
		t.Errorf("missing file: %v", err)
	}
	if _, err := Load("app.py", LoadOptions{}); err == nil || !strings.Contains(err.Error(), "not a process file") {
		t.Errorf("app.py: %v", err)
	}
}

// The limit fields of issue 12 parse from a process file (their checks: config's TestLimitFields_Issue12).
func TestLimitFieldsParsed_Issue12(t *testing.T) {
	f, err := Parse("e.yaml", []byte("apps:\n  - name: x\n    script: /bin/true\n    memory_max: 512M\n    cpu_quota: 50%\n    tasks_max: 100\n"), t.TempDir(), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if x := f.Apps[0]; x.MemoryMax != 512<<20 || x.CPUQuota != 50 || x.TasksMax != 100 {
		t.Errorf("parsed limits %d %d %d", x.MemoryMax, x.CPUQuota, x.TasksMax)
	}
}
