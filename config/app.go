// Package config describes applications: the App type that process files, CLI flags and the dump all produce,
// its defaults, and its validation. Parsing of PM2 ecosystem files (JSON5-ish, YAML, .config.js) lives here too.
package config

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/gpmd/gpm/activation"
)

// Millis is a duration in milliseconds: the unit PM2's files and dumps use for every delay and timeout.
type Millis int64

// D converts m to a time.Duration.
func (m Millis) D() time.Duration { return time.Duration(m) * time.Millisecond }

// Defaults PM2 users rely on; see ../shared/REFERENCE.md §1.3.
const (
	DefaultNamespace   = "default"
	DefaultInstanceVar = "NODE_APP_INSTANCE"
	DefaultKillSignal  = "SIGINT"
	DefaultKillTimeout = Millis(1600)
	DefaultMinUptime   = Millis(1000)
	DefaultMaxRestarts = 16
	// DefaultListenTimeout is how long a worker may take to become ready (PM2's listen_timeout).
	DefaultListenTimeout = Millis(3000)
	// NullLog is the log path that disables a stream, as in PM2.
	NullLog = "NULL"
	// LogJournal, as App.LogType, sends the app's lines to the systemd journal instead of files.
	LogJournal = "journal"
	// MaxLogRetain bounds log_retain: rotated files are listed at every rotation.
	MaxLogRetain = 10000
)

// App is the effective configuration of one application (all its instances).
//
// Important (!): the JSON names are an interface: they appear in `gpm jlist`, in dump.json and in process files.
// Keep them stable; when adding a field, also add it to the process-file field table (fields.go) and to the
// documentation in docs/PROTOCOL.md.
type App struct {
	// Name and Namespace follow CheckName.
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	// Script is what runs: an absolute path, or a bare command name looked up in PATH at start.
	Script          string   `json:"script"`
	Args            []string `json:"args,omitempty"`
	Interpreter     string   `json:"interpreter,omitempty"` // "" or "none": execute Script directly
	InterpreterArgs []string `json:"interpreter_args,omitempty"`
	Cwd             string   `json:"cwd"`

	Instances int `json:"instances"` // resolved count, 1..MaxInstances
	// Listen are sockets gpm binds once and hands to every instance as fds 3.. (activation.ParseSpec syntax).
	Listen       []string `json:"listen,omitempty"`
	ExecMode     string   `json:"exec_mode"` // "fork" or "cluster"
	InstanceVar  string   `json:"instance_var"`
	IncrementVar string   `json:"increment_var,omitempty"`

	// Env is the application's own environment (from the process file, env_<name>, or captured explicitly).
	// It is what dump.json stores; the caller's environment is kept in memory only.
	Env map[string]string `json:"env,omitempty"`

	Autorestart            bool   `json:"autorestart"`
	Autostart              bool   `json:"autostart"`
	StopExitCodes          []int  `json:"stop_exit_codes,omitempty"`
	RestartDelay           Millis `json:"restart_delay"`
	ExpBackoffRestartDelay Millis `json:"exp_backoff_restart_delay"`
	MaxRestarts            int    `json:"max_restarts"`
	MinUptime              Millis `json:"min_uptime"`
	KillSignal             string `json:"kill_signal"`
	KillTimeout            Millis `json:"kill_timeout"`
	ListenTimeout          Millis `json:"listen_timeout"`
	WaitReady              bool   `json:"wait_ready,omitempty"`
	// Stdin gives the app a pipe as its standard input, which `gpm send` and `gpm attach` write to; otherwise it
	// reads /dev/null (an app blocked on a terminal that is not there is worse than one that sees end of file).
	Stdin bool `json:"stdin,omitempty"`
	// Watchdog, when set, is passed as WATCHDOG_USEC: a worker that sends no WATCHDOG=1 for that long is restarted.
	Watchdog         Millis `json:"watchdog,omitempty"`
	MaxMemoryRestart int64  `json:"max_memory_restart,omitempty"` // bytes, of the app process's whole tree
	// Hard limits of each process's cgroup (cgroup containment only; refused at start where the controller is
	// missing): memory.max in bytes, cpu.max in percent of one cpu, pids.max.
	MemoryMax   int64  `json:"memory_max,omitempty"`
	CPUQuota    int    `json:"cpu_quota,omitempty"`
	TasksMax    int    `json:"tasks_max,omitempty"`
	CronRestart string `json:"cron_restart,omitempty"`
	// Watch are the paths whose changes restart the app, relative to Cwd (watch: true is ["."]); IgnoreWatch are
	// globs or names of files and directories that do not count (default: dot files and node_modules).
	Watch       []string `json:"watch,omitempty"`
	IgnoreWatch []string `json:"ignore_watch,omitempty"`
	WatchDelay  Millis   `json:"watch_delay,omitempty"`

	OutFile       string `json:"out_file,omitempty"`   // "" = default path; "NULL" or /dev/null = disabled
	ErrorFile     string `json:"error_file,omitempty"` // same
	LogFile       string `json:"log_file,omitempty"`   // combined out+err; "" = none
	MergeLogs     bool   `json:"merge_logs,omitempty"`
	Time          bool   `json:"time,omitempty"` // prefix lines with a timestamp
	LogDateFormat string `json:"log_date_format,omitempty"`
	LogType       string `json:"log_type,omitempty"` // "", "raw", "json", or "journal" (lines go to the systemd journal)
	DisableLogs   bool   `json:"disable_logs,omitempty"`
	// Rotation of the log files by the daemon (issue 12): before a write would take a file past LogMaxSize bytes,
	// and at the times of LogRotateCron; LogRetain rotated files are kept per file, gzipped with LogCompress. Zero
	// values take the defaults of `gpm set logrotate:KEY` (none: no rotation).
	LogMaxSize    int64  `json:"log_max_size,omitempty"`
	LogRetain     int    `json:"log_retain,omitempty"`
	LogCompress   bool   `json:"log_compress,omitempty"`
	LogRotateCron string `json:"log_rotate_cron,omitempty"`
	PidFile       string `json:"pid_file,omitempty"`

	User  string `json:"uid,omitempty"` // user name or number; honoured when the daemon is root
	Group string `json:"gid,omitempty"`

	// FilterEnv drops the variables of the caller's environment whose names start with one of these prefixes
	// (PM2's filter_env; true is [""]: all of them); the app's own env and gpm's variables stay.
	FilterEnv []string `json:"filter_env,omitempty"`
	// NoTreekill (PM2's treekill: false) sends the kill signal to the app's main process only, not to its process
	// group; what is still running at kill_timeout is killed with it all the same: no process outlives its app.
	NoTreekill bool `json:"no_treekill,omitempty"`
	// ShutdownWithMessage: a Node app (through gpm's shim) gets the message 'shutdown' (process.on('message'))
	// when the kill signal arrives, as PM2's IPC shutdown message; other apps get the kill signal.
	ShutdownWithMessage bool `json:"shutdown_with_message,omitempty"`

	// NonBlocking hands the Listen sockets to workers with O_NONBLOCK set; they are blocking by default, as with
	// systemd's NonBlocking=.
	NonBlocking bool `json:"non_blocking,omitempty"`

	// Actions are the commands `gpm trigger APP NAME [ARG]` runs (PM2's actions, declared in the process file):
	// each runs as the app's user, in its cwd, with its environment, ARG appended (config/actions.go).
	Actions map[string][]string `json:"actions,omitempty"`
}

// New returns an App with PM2's defaults.
func New() App {
	return App{
		Namespace:   DefaultNamespace,
		Instances:   1,
		ExecMode:    "fork",
		InstanceVar: DefaultInstanceVar,
		Autorestart: true,
		Autostart:   true,
		MaxRestarts: DefaultMaxRestarts,
		MinUptime:   DefaultMinUptime,
		KillSignal:  DefaultKillSignal,
		KillTimeout: DefaultKillTimeout,

		ListenTimeout: DefaultListenTimeout,
	}
}

// interpreters maps a script extension to the interpreter PM2 would pick.
var interpreters = map[string]string{
	".js": "node", ".cjs": "node", ".mjs": "node",
	".py": "python3", ".sh": "bash", ".rb": "ruby", ".php": "php", ".pl": "perl",
}

// DefaultInterpreter returns the interpreter for script by its extension, or "" to execute it directly.
func DefaultInterpreter(script string) string {
	return interpreters[strings.ToLower(filepath.Ext(script))]
}

// nodeScript reports whether script is a file PM2 runs with node: no extension, not executable, and node is
// installed (PM2's test/e2e/cli/binary.sh).
func nodeScript(script string) bool {
	if filepath.Ext(script) != "" || !filepath.IsAbs(script) {
		return false
	}
	st, err := os.Stat(script)
	if err != nil || !st.Mode().IsRegular() || executable(st.Mode()) {
		return false
	}
	_, err = exec.LookPath("node")
	return err == nil
}

// Normalize fills what can be derived and makes paths absolute: Cwd against base (the CLI's working directory or the
// process file's directory), Script against Cwd when it names a file there, the default name and interpreter.
// It validates the result.
func (a *App) Normalize(base string) error {
	if a.Cwd == "" {
		a.Cwd = base
	}
	a.Cwd = expandHome(a.Cwd)
	if !filepath.IsAbs(a.Cwd) {
		a.Cwd = filepath.Join(base, a.Cwd)
	}
	a.Script = expandHome(a.Script)
	if err := a.commandScript(); err != nil {
		return err
	}
	if a.Script != "" && !filepath.IsAbs(a.Script) {
		// A path with a separator, or a file present in cwd, is a path; anything else is a command found in PATH.
		candidate := filepath.Join(a.Cwd, a.Script)
		if strings.ContainsRune(a.Script, filepath.Separator) || strings.ContainsRune(a.Script, '/') {
			a.Script = candidate
		} else if st, err := os.Stat(candidate); err == nil && !st.IsDir() {
			a.Script = candidate
		} else if !strings.ContainsAny(a.Script, " \t") && a.Interpreter == "" {
			// A command found in PATH is recorded by its path, as PM2 does (`start ls` shows /usr/bin/ls): the
			// app then runs the same program whatever PATH its later starts get.
			if p, err := exec.LookPath(a.Script); err == nil && filepath.IsAbs(p) {
				a.Script = p
			}
		}
	}
	if a.Name == "" && a.Script != "" {
		base := filepath.Base(a.Script)
		a.Name = strings.TrimSuffix(base, filepath.Ext(base))
	}
	if a.Interpreter == "" {
		a.Interpreter = DefaultInterpreter(a.Script)
		if a.Interpreter == "" && nodeScript(a.Script) {
			a.Interpreter = "node"
		}
	}
	if a.Interpreter == "none" {
		a.Interpreter = ""
	}
	if a.Namespace == "" {
		a.Namespace = DefaultNamespace
	}
	if len(a.Listen) > 0 {
		// Workers sharing sockets handed to them: that is what cluster mode means here, in any language.
		a.ExecMode = "cluster"
	}
	if a.InstanceVar == "" {
		a.InstanceVar = DefaultInstanceVar
	}
	if a.KillSignal == "" {
		a.KillSignal = DefaultKillSignal
	}
	for _, p := range []*string{&a.OutFile, &a.ErrorFile, &a.LogFile, &a.PidFile} {
		*p = a.logPath(*p)
	}
	return a.Validate()
}

func (a *App) logPath(p string) string {
	if p == "" || p == NullLog || p == os.DevNull || p == DefaultLog {
		return p
	}
	p = expandHome(p)
	if !filepath.IsAbs(p) {
		p = filepath.Join(a.Cwd, p)
	}
	return p
}

func expandHome(p string) string {
	if p == "~" || strings.HasPrefix(p, "~/") {
		if h, err := os.UserHomeDir(); err == nil {
			return filepath.Join(h, p[1:])
		}
	}
	return p
}

// Validate reports the first field that cannot work, naming it as a process file would.
func (a *App) Validate() error {
	switch {
	case a.Script == "":
		return &FieldError{Field: "script", Msg: "is required: the file or command to run"}
	case a.Instances < 1:
		return &FieldError{Field: "instances", Msg: fmt.Sprintf("must resolve to at least 1, got %d", a.Instances)}
	case a.Instances > MaxInstances:
		return &FieldError{Field: "instances", Msg: InstancesMsg(a.Instances)}
	case a.ExecMode != "fork" && a.ExecMode != "cluster":
		return &FieldError{Field: "exec_mode", Msg: fmt.Sprintf("expected fork or cluster, got %q", a.ExecMode)}
	case a.MaxRestarts < 0:
		return &FieldError{Field: "max_restarts", Msg: "must not be negative"}
	case a.MemoryMax < 0:
		return &FieldError{Field: "memory_max", Msg: "must not be negative"}
	case a.CPUQuota < 0 || a.CPUQuota > MaxCPUQuota:
		return &FieldError{Field: "cpu_quota", Msg: fmt.Sprintf("must be 1 to %d (config.MaxCPUQuota) percent of one cpu, got %d", MaxCPUQuota, a.CPUQuota)}
	case a.TasksMax < 0 || a.TasksMax > MaxTasks:
		return &FieldError{Field: "tasks_max", Msg: fmt.Sprintf("must be 1 to %d (config.MaxTasks), got %d", MaxTasks, a.TasksMax)}
	case a.KillTimeout < 0 || a.RestartDelay < 0 || a.MinUptime < 0 || a.ExpBackoffRestartDelay < 0 || a.ListenTimeout < 0 || a.Watchdog < 0:
		return &FieldError{Field: "kill_timeout/restart_delay/min_uptime", Msg: "durations must not be negative"}
	case a.LogType != "" && a.LogType != "json" && a.LogType != "raw" && a.LogType != LogJournal:
		return &FieldError{Field: "log_type", Msg: fmt.Sprintf("expected json, raw or journal, got %q", a.LogType)}
	case a.LogMaxSize < 0:
		return &FieldError{Field: "log_max_size", Msg: "must not be negative"}
	case a.LogRetain < 0 || a.LogRetain > MaxLogRetain:
		return &FieldError{Field: "log_retain", Msg: fmt.Sprintf("must be 0..%d (config.MaxLogRetain), got %d", MaxLogRetain, a.LogRetain)}
	}
	// Variable names gpm puts in the app's environment: one with '=' would give the app another variable (and
	// value) than the one named, and a NUL cannot be passed at all.
	for _, v := range [][2]string{{"instance_var", a.InstanceVar}, {"increment_var", a.IncrementVar}} {
		if strings.ContainsAny(v[1], "=\x00") {
			return &FieldError{Field: v[0], Msg: fmt.Sprintf("%q is not a variable name (no '=' or NUL in one)", v[1])}
		}
	}
	for k, v := range a.Env {
		if k == "" || strings.ContainsAny(k, "=\x00") || strings.ContainsRune(v, 0) {
			return &FieldError{Field: "env", Msg: fmt.Sprintf("%q: a variable's name must be non-empty without '=' or NUL, and its value without NUL", k)}
		}
	}
	if _, ok := SignalNumber(a.KillSignal); !ok {
		return &FieldError{Field: "kill_signal", Msg: fmt.Sprintf("unknown signal %q (expected a name such as SIGINT or SIGTERM)", a.KillSignal)}
	}
	for _, l := range a.Listen {
		if _, err := activation.ParseSpec(l); err != nil {
			return &FieldError{Field: "listen", Msg: err.Error()}
		}
	}
	if err := CheckName(a.Name); err != nil {
		return &FieldError{Field: "name", Msg: err.Error()}
	}
	if err := CheckName(a.Namespace); err != nil {
		return &FieldError{Field: "namespace", Msg: err.Error()}
	}
	if a.CronRestart != "" {
		if _, err := ParseCron(a.CronRestart); err != nil {
			return &FieldError{Field: "cron_restart", Msg: err.Error()}
		}
	}
	if a.LogRotateCron != "" {
		if _, err := ParseCron(a.LogRotateCron); err != nil {
			return &FieldError{Field: "log_rotate_cron", Msg: err.Error()}
		}
	}
	return a.checkActions()
}

// Clone returns a deep copy of a.
func (a App) Clone() App {
	b := a
	b.Args = append([]string(nil), a.Args...)
	b.InterpreterArgs = append([]string(nil), a.InterpreterArgs...)
	b.StopExitCodes = append([]int(nil), a.StopExitCodes...)
	b.Listen = append([]string(nil), a.Listen...)
	b.Watch = append([]string(nil), a.Watch...)
	b.IgnoreWatch = append([]string(nil), a.IgnoreWatch...)
	b.Actions = cloneActions(a.Actions)
	if a.Env != nil {
		b.Env = make(map[string]string, len(a.Env))
		for k, v := range a.Env {
			b.Env[k] = v
		}
	}
	return b
}

// FieldError is a problem with one field of an application, optionally located in a file.
type FieldError struct {
	File  string // process file, if any
	Line  int    // 1-based, 0 when unknown
	App   string // application name or index ("apps[2]"), if known
	Field string
	Msg   string
}

func (e *FieldError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
		}
		b.WriteString(": ")
	}
	if e.App != "" {
		b.WriteString(e.App)
		b.WriteString(".")
	}
	b.WriteString(e.Field)
	b.WriteString(" ")
	b.WriteString(e.Msg)
	return b.String()
}

// DefaultLog, as App.LogFile, asks for the default combined out+err log (PM2's `log_file: true`, which PM2 writes to
// ~/.pm2/logs/<name>.log). The daemon owns the log directory, so the loader cannot resolve the path; it leaves this
// marker instead. No path can collide with it: after Normalize every other LogFile is "", NullLog, os.DevNull or
// absolute.
//
// Important (!): Normalize joins any relative LogFile with Cwd, so the loader sets the marker after Normalize; code
// that normalizes an App again must keep LogFile == DefaultLog as it is (app.go's logPath should pass it through,
// as it does NullLog).
const DefaultLog = "default"
