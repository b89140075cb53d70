package procfile

import (
	"errors"
	"github.com/gpmd/gpm/config"
	"os"
	"reflect"
	"strings"
	"testing"
)

func TestImportPM2(t *testing.T) {
	data, err := os.ReadFile("testdata/dump.pm2")
	if err != nil {
		t.Fatal(err)
	}
	apps, err := ImportPM2(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(apps) != 2 {
		t.Fatalf("got %d apps, want api and worker (the pmx_module is skipped): %+v", len(apps), apps)
	}
	api, worker := apps[0], apps[1]

	if api.Stopped || !reflect.DeepEqual(api.Instances, []int{0, 1}) {
		t.Errorf("api: stopped %v, instances %v", api.Stopped, api.Instances)
	}
	a := api.App
	want := config.App{
		Name: "api", Namespace: "default", Script: "/srv/api/server.js", Args: []string{"--port", "3000"},
		Interpreter: "node", InterpreterArgs: []string{"--max-old-space-size=512"}, Cwd: "/srv/api",
		Instances: 2, ExecMode: "cluster", InstanceVar: "NODE_APP_INSTANCE", IncrementVar: "PORT",
		// The login session PM2 captured (PATH, HOME, SHELL, SSH_*, LANG) is dropped; the app's own variables stay.
		Env:         map[string]string{"NODE_ENV": "production", "PORT": "3000"},
		Autorestart: true, Autostart: true, MaxRestarts: 10, MinUptime: 2000, KillSignal: "SIGINT", KillTimeout: 5000,
		ListenTimeout: 8000, WaitReady: true, MaxMemoryRestart: 209715200, CronRestart: "0 3 * * *",
		OutFile: "", ErrorFile: "/srv/api/logs/err.log", LogFile: config.DefaultLog, LogDateFormat: "YYYY-MM-DD HH:mm Z",
	}
	if !reflect.DeepEqual(a, want) {
		t.Errorf("api:\n got %+v\nwant %+v", a, want)
	}

	w := worker.App
	if !worker.Stopped || !reflect.DeepEqual(worker.Instances, []int{0}) || w.Instances != 1 {
		t.Errorf("worker: stopped %v, instances %v/%d", worker.Stopped, worker.Instances, w.Instances)
	}
	switch {
	case w.Interpreter != "python3" || w.ExecMode != "fork" || w.Autorestart:
		t.Errorf("worker: interpreter %q mode %q autorestart %v", w.Interpreter, w.ExecMode, w.Autorestart)
	case w.RestartDelay != 1500 || w.ExpBackoffRestartDelay != 100 || !reflect.DeepEqual(w.StopExitCodes, []int{0, 3}):
		t.Errorf("worker: delays %d/%d, stop codes %v", w.RestartDelay, w.ExpBackoffRestartDelay, w.StopExitCodes)
	case w.OutFile != "/var/log/worker/out.log" || w.ErrorFile != "/dev/null" || w.LogFile != "" || w.PidFile != "":
		t.Errorf("worker: logs %q %q %q pid %q", w.OutFile, w.ErrorFile, w.LogFile, w.PidFile)
	case w.Env["QUEUE"] != "jobs" || w.Env["unique_id"] != "" || w.Env["PM2_HOME"] != "" || w.Env["worker"] != "":
		t.Errorf("worker: env %v", w.Env)
	}
}

func TestImportPM2Edges(t *testing.T) {
	tests := []struct {
		name, src string
		want      string // error substring; "" = no error
		apps      int
	}{
		{"empty", "[]", "", 0},
		{"cleardump blank", "", "", 0},
		{"not an array", `{"name": "x"}`, "expected a JSON array", 0},
		{"bad JSON", "[\n{\"name\": \"a\",,}\n]", "dump.pm2:2:", 0},
		{"no name", `[{"pm_exec_path": "/a"}]`, "without a name", 0},
		{"bad field", "[{\"name\": \"a\", \"pm_exec_path\": \"/a.js\",\n \"min_uptime\": \"soon\"}]",
			`dump.pm2:2: dump[0] (a).min_uptime must be milliseconds`, 0},
		{"renamed instance var", `[{"name": "a", "pm_exec_path": "/a.js", "instance_var": "ID", "ID": 3, "exec_mode": "fork_mode"},
			{"name": "a", "pm_exec_path": "/a.js", "instance_var": "ID", "ID": 5}]`, "", 1},
		{"none interpreter", `[{"name": "b", "pm_exec_path": "/bin/b.js", "exec_interpreter": "none"}]`, "", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			apps, err := ImportPM2([]byte(tt.src))
			if tt.want != "" {
				if err == nil || !strings.Contains(err.Error(), tt.want) || apps != nil {
					t.Errorf("err = %v, apps %v; want error containing %q", err, apps, tt.want)
				}
				return
			}
			if err != nil || len(apps) != tt.apps {
				t.Fatalf("apps %+v, err %v", apps, err)
			}
			switch tt.name {
			case "renamed instance var":
				if !reflect.DeepEqual(apps[0].Instances, []int{3, 5}) || apps[0].App.Instances != 2 {
					t.Errorf("instances %v", apps[0].Instances)
				}
			case "none interpreter":
				if apps[0].App.Interpreter != "" {
					t.Errorf("interpreter %q, want direct execution", apps[0].App.Interpreter)
				}
			}
		})
	}
	var fe *config.FieldError
	if _, err := ImportPM2([]byte(`[{"name": "a", "pm_exec_path": "/a", "exec_mode": "x"}]`)); !errors.As(err, &fe) || fe.Field != "exec_mode" {
		t.Errorf("err = %v, want a FieldError for exec_mode", err)
	}
}
