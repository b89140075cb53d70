package procfile

import (
	"errors"
	"github.com/gpmd/gpm/config"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// parseError parses src as the process file name and returns its *FieldError; it fails the test on success or on
// another kind of error.
func parseError(t *testing.T, name, src string) *config.FieldError {
	t.Helper()
	f, err := Parse(name, []byte(src), base, LoadOptions{NumCPU: 4})
	if err == nil {
		t.Fatalf("no error; apps %+v", f.Apps)
	}
	var fe *config.FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("error %q (%T) is not a *FieldError", err, err)
	}
	return fe
}

// TestCronNeverFires_Issue11Item6: "0 0 30 2 *" (February 30) never fires; robfig's Next returns the zero time for
// it and the daemon restarted the app in a tight loop. It is refused wherever it enters, with the file and line.
func TestCronNeverFires_Issue11Item6(t *testing.T) {
	fe := parseError(t, "e.json", "{script: 'a.js',\n cron_restart: '0 0 30 2 *'}")
	if fe.File != "e.json" || fe.Line != 2 || fe.Field != "cron_restart" || !strings.Contains(fe.Msg, "never fires") {
		t.Errorf("process file: %+v (%v), want e.json:2 cron_restart never fires", fe, fe)
	}
	if _, err := config.ParseCron("0 0 30 2 *"); err == nil {
		t.Errorf("ParseCron(0 0 30 2 *): no error")
	}
	for _, ok := range []string{"0 0 29 2 *", "0 3 * * *", "@yearly"} { // a leap day fires within five years
		if _, err := config.ParseCron(ok); err != nil {
			t.Errorf("ParseCron(%q): %v", ok, err)
		}
	}
	// The protocol and dump.json reach the daemon as an App: Validate refuses it too.
	a := config.New()
	a.Name, a.Script, a.Cwd, a.CronRestart = "x", "/bin/true", "/", "0 0 30 2 *"
	var vfe *config.FieldError
	if err := a.Validate(); !errors.As(err, &vfe) || vfe.Field != "cron_restart" {
		t.Errorf("Validate: %v, want a cron_restart error", err)
	}
}

// TestInstancesCap_Issue11Item7: one cap (MaxInstances) for every way a count arrives.
func TestInstancesCap_Issue11Item7(t *testing.T) {
	fe := parseError(t, "e.yml", "name: x\nscript: a.js\ninstances: 100000\n")
	if fe.Line != 3 || fe.Field != "instances" || !strings.Contains(fe.Msg, "MaxInstances") {
		t.Errorf("process file: %v, want line 3 naming MaxInstances", fe)
	}
	f := parse(t, "e.yml", "name: x\nscript: a.js\ninstances: 1024\n", LoadOptions{})
	if f.Apps[0].Instances != config.MaxInstances {
		t.Errorf("instances: 1024 gave %d", f.Apps[0].Instances)
	}
	a := config.New()
	a.Name, a.Script, a.Cwd, a.Instances = "x", "/bin/true", "/", 100000
	if err := a.Validate(); err == nil || !strings.Contains(err.Error(), "MaxInstances") {
		t.Errorf("Validate of 100000 instances: %v", err)
	}
	// PM2's dump: one element per instance; more than MaxInstances of one app is refused.
	var b strings.Builder
	b.WriteString("[")
	for i := 0; i <= config.MaxInstances; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`{"name": "a", "pm_exec_path": "/a.js"}`)
	}
	b.WriteString("]")
	if _, err := ImportPM2([]byte(b.String())); err == nil || !strings.Contains(err.Error(), "MaxInstances") {
		t.Errorf("dump.pm2 with %d instances: %v", config.MaxInstances+1, err)
	}
}

// TestImportPM2InstanceNumbersUnique_Issue11Item14: numbers from the dump are never negative nor repeated (the
// daemon refuses both in instance_numbers).
func TestImportPM2InstanceNumbersUnique_Issue11Item14(t *testing.T) {
	src := `[{"name": "a", "pm_exec_path": "/a.js", "NODE_APP_INSTANCE": 1},
		{"name": "a", "pm_exec_path": "/a.js"},
		{"name": "a", "pm_exec_path": "/a.js", "NODE_APP_INSTANCE": 1},
		{"name": "a", "pm_exec_path": "/a.js", "NODE_APP_INSTANCE": -4}]`
	apps, err := ImportPM2([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if got := apps[0].Instances; !reflect.DeepEqual(got, []int{1, 0, 2, 3}) {
		t.Errorf("instance numbers %v, want [1 0 2 3]", got)
	}
}

// TestNames_Issue11Item14: the name rules (CheckName), enforced in process files with the file and line, in
// Validate (CLI flags, protocol, dump.json) and in PM2's dump.
func TestNames_Issue11Item14(t *testing.T) {
	bad := map[string]string{
		"":                       "must not be empty",
		"a\nb":                   "control characters",
		"red\x1b[31m":            "control characters",
		"tab\there":              "control characters",
		"c1\u0085":               "control characters",
		strings.Repeat("n", 129): "MaxNameLen",
		"9":                      "all digits",
		"0042":                   "all digits",
		"all":                    `"all"`,
		"a/b":                    "path separators",
		`a\b`:                    "path separators",
		"bad\xffutf8":            "UTF-8",
		"nul\x00":                "control characters",
		strings.Repeat("é", 65):  "MaxNameLen",
		"x" + strings.Repeat("y", config.MaxNameLen): "MaxNameLen",
	}
	for name, want := range bad {
		if err := config.CheckName(name); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("CheckName(%q) = %v, want %q", name, err, want)
		}
	}
	for _, name := range []string{"api", "a b", "my_app.v2", "9a", "a9", "café", "ALL", strings.Repeat("n", config.MaxNameLen), "-x"} {
		if err := config.CheckName(name); err != nil {
			t.Errorf("CheckName(%q): %v", name, err)
		}
	}

	fe := parseError(t, "e.json", "{apps: [{script: 'a.js'},\n {name: 'x\\u001b[2J',\n script: 'a.js'}]}")
	if fe.Line != 2 || fe.Field != "name" || !strings.Contains(fe.Msg, "control characters") {
		t.Errorf("escape in a name: %v, want line 2", fe)
	}
	fe = parseError(t, "e.yml", "- script: a.js\n  namespace: \"ns\\nx\"\n")
	if fe.Line != 2 || fe.Field != "namespace" {
		t.Errorf("newline in a namespace: %v, want line 2", fe)
	}
	fe = parseError(t, "e.yml", "name: 123\nscript: a.js\n")
	if fe.Line != 1 || !strings.Contains(fe.Msg, "all digits") {
		t.Errorf("all-digit name: %v", fe)
	}
	// A name derived from the script obeys the same rules (a script "9.sh" would be app 9).
	fe = parseError(t, "e.yml", "script: ./9.sh\n")
	if fe.Field != "name" || !strings.Contains(fe.Msg, "all digits") {
		t.Errorf("name derived from 9.sh: %v", fe)
	}

	a := config.New()
	a.Name, a.Script, a.Cwd = "x\ny", "/bin/true", "/"
	if err := a.Validate(); err == nil {
		t.Errorf("Validate accepted a newline in a name")
	}
	if _, err := ImportPM2([]byte("[{\"name\": \"7\",\n \"pm_exec_path\": \"/a.js\"}]")); err == nil ||
		!strings.Contains(err.Error(), "dump.pm2:1") || !strings.Contains(err.Error(), "all digits") {
		t.Errorf("dump.pm2 with an app named 7: %v", err)
	}
}

// TestCheckRunnable_Issue11Item15: a script that is a directory says so; a missing script, cwd or interpreter is
// located in the process file (file, line of the field or of the app).
func TestCheckRunnable_Issue11Item15(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "run.sh"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "plain.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, src string
		line      int
		field     string
		want      string
	}{
		{"directory", "apps:\n- name: d\n  script: ./sub\n", 3, "script", sub + " is a directory"},
		{"missing script", "apps:\n- name: m\n\n  script: ./nope.sh\n", 4, "script", filepath.Join(dir, "nope.sh") + ": no such file"},
		{"missing script with interpreter", "- name: i\n  interpreter: sh\n  script: ./nope.py\n", 3, "script", "no such file"},
		{"missing cwd", "apps:\n- name: c\n  script: ./run.sh\n  cwd: ./gone\n", 4, "cwd", filepath.Join(dir, "gone") + ": no such directory"},
		{"missing interpreter", "- name: p\n  script: ./run.sh\n  interpreter: no-such-interp\n", 3, "interpreter", "not found in PATH"},
		{"default interpreter missing", "- name: q\n  script: ./x.rb\n", 1, "interpreter", "not found in PATH"},
		// With an extension: an extensionless one runs with node when node is installed (issue 14 item 14).
		{"not executable", "- name: n\n  script: ./plain.txt\n", 2, "script", "not executable"},
		{"command not found", "- name: k\n  script: no-such-command\n", 2, "script", "not found in PATH"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name == "default interpreter missing" {
				if err := os.WriteFile(filepath.Join(dir, "x.rb"), nil, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			f, err := Parse("e.yml", []byte(tt.src), dir, LoadOptions{NumCPU: 1})
			if err != nil {
				t.Fatal(err)
			}
			err = f.CheckRunnable("/nonexistent-bin")
			var fe *config.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("CheckRunnable: %v (%T), want a *FieldError", err, err)
			}
			if fe.File != "e.yml" || fe.Line != tt.line || fe.Field != tt.field || !strings.Contains(fe.Msg, tt.want) {
				t.Errorf("got %v (line %d, field %s), want e.yml:%d %s %q", fe, fe.Line, fe.Field, tt.line, tt.field, tt.want)
			}
			if strings.Contains(fe.Msg, "chmod") && tt.name == "directory" {
				t.Errorf("a directory is reported as not executable: %v", fe)
			}
		})
	}
	f, err := Parse("e.yml", []byte("- name: ok\n  script: ./run.sh\n- name: sh\n  script: sh\n"), dir, LoadOptions{NumCPU: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.CheckRunnable("/bin:/usr/bin"); err != nil {
		t.Errorf("runnable apps: %v", err)
	}
}
