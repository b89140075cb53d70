package procfile

import (
	"errors"
	"fmt"
	"github.com/gpmd/gpm/config"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
)

// ImportedApp is one application of a PM2 dump.
type ImportedApp struct {
	App       config.App
	Stopped   bool  // every instance had status "stopped": register it without starting it
	Instances []int // the instance numbers (NODE_APP_INSTANCE, or the instance_var) in dump order; len == App.Instances
}

// dumpName names the input in errors; ImportPM2 reads bytes, and PM2 always calls the file dump.pm2.
const dumpName = "dump.pm2"

// pm2Fields maps the dump.pm2 keys gpm takes (REFERENCE §5.2) to process-file fields, whose setters do the coercion.
// Everything else is ignored: top-level copies of env keys, state (status is read apart), axm_*, versioning,
// km_link, _pm2_version, vizion*, pm_pid_path (PM2 always fills it with its own per-instance path), and the fields
// gpm does not support (kill_retry_time, ...).
var pm2Fields = map[string]string{
	"name": "name", "namespace": "namespace", "pm_exec_path": "script", "pm_cwd": "cwd",
	"exec_interpreter": "interpreter", "node_args": "interpreter_args", "args": "args", "exec_mode": "exec_mode",
	"instance_var": "instance_var", "increment_var": "increment_var",
	"merge_logs": "merge_logs", "log_date_format": "log_date_format", "log_type": "log_type", "disable_logs": "disable_logs",
	"max_memory_restart": "max_memory_restart", "min_uptime": "min_uptime", "max_restarts": "max_restarts",
	"restart_delay": "restart_delay", "exp_backoff_restart_delay": "exp_backoff_restart_delay",
	"kill_timeout": "kill_timeout", "listen_timeout": "listen_timeout", "cron_restart": "cron_restart",
	"stop_exit_codes": "stop_exit_codes", "wait_ready": "wait_ready", "autorestart": "autorestart",
	"autostart": "autostart", "uid": "uid", "gid": "gid",
	"watch": "watch", "ignore_watch": "ignore_watch", "watch_delay": "watch_delay",
	"treekill": "treekill", "filter_env": "filter_env", "shutdown_with_message": "shutdown_with_message",
}

// pm2LogKeys are the log paths of a dump, handled by importLogPath.
var pm2LogKeys = map[string]string{"pm_out_log_path": "out_file", "pm_err_log_path": "error_file", "pm_log_path": "log_file"}

// sessionVars are variables of a login shell, not of an app.
var sessionVars = map[string]bool{
	"PATH": true, "HOME": true, "SHELL": true, "USER": true, "LOGNAME": true, "MAIL": true, "TERM": true,
	"PWD": true, "OLDPWD": true, "SHLVL": true, "_": true, "LANG": true, "LANGUAGE": true, "DISPLAY": true,
	"HOSTNAME": true, "COLORTERM": true, "LS_COLORS": true, "EDITOR": true, "VISUAL": true, "PAGER": true,
	"MOTD_SHOWN": true, "NVM_DIR": true, "NVM_BIN": true, "NVM_INC": true, "NVM_CD_FLAGS": true,
}

// isSessionVar reports whether k belongs to the captured login session rather than to the app.
func isSessionVar(k string) bool {
	if sessionVars[k] {
		return true
	}
	for _, p := range []string{"SSH_", "XDG_", "LC_", "DBUS_", "TMUX", "SUDO_", "GPG_", "WINDOWID", "KITTY_", "VSCODE_", "TERM_"} {
		if strings.HasPrefix(k, p) {
			return true
		}
	}
	return false
}

// pm2InjectedEnv are the env keys PM2 adds itself (REFERENCE §5.2); they describe PM2, not the app.
var pm2InjectedEnv = []string{"unique_id", "PM2_HOME", "PM2_USAGE", "PM2_JSON_PROCESSING"}

// ImportPM2 parses a PM2 dump.pm2 (a JSON array with one element per instance, REFERENCE §5.2) into applications,
// grouped by name in order of first appearance. The first element of a group gives the configuration; the group's
// size gives App.Instances (at most MaxInstances, else an error). Instance numbers are the dump's, made distinct
// within an app: a missing, odd or repeated one becomes the lowest free number. Entries flagged pmx_module (PM2
// modules) are skipped. An empty array gives (nil, nil).
//
// Environment: the rule of §5.2 taken literally: App.Env is the element's `env` object only; the copies of env keys
// at the top level of the element, and the other uppercase top-level keys, are ignored. The keys PM2 injects itself
// (unique_id, PM2_HOME, PM2_USAGE, PM2_JSON_PROCESSING, the key named after the app, and the instance variable) are
// dropped, and so are the variables of the login session PM2 captured from the shell that ran `pm2 start` (PATH,
// HOME, SSH_*, ... see isSessionVar): gpm gives apps the environment of the CLI that imports them instead, and a
// later `gpm save` must not write someone's session to disk. Everything else in `env` is kept: the dump cannot tell
// the app's own variables from other exported ones.
//
// Log paths: PM2 inserts "-<pm_id>" before ".log" unless merge_logs is set, so that suffix is removed; a path that is
// PM2's own default (under $PM2_HOME/logs) is dropped so that gpm uses its default, and the default combined log
// becomes DefaultLog.
//
// Errors name dump.pm2, the line, the element ("dump[3] (api)") and the field; an error means no apps.
func ImportPM2(data []byte) ([]ImportedApp, error) {
	root, err := parseJSON5(data)
	var se *syntaxError
	if errors.As(err, &se) {
		se.File = dumpName
		return nil, se
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dumpName, err)
	}
	if isNull(root) {
		return nil, nil
	}
	if root.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("%s:%d: expected a JSON array of processes, got %s", dumpName, root.Line, describe(root))
	}
	var out []ImportedApp
	byName := map[string]int{}
	for i, el := range root.Content {
		if el.Kind != yaml.MappingNode {
			return nil, fmt.Errorf("%s:%d: dump[%d]: expected a process object, got %s", dumpName, el.Line, i, describe(el))
		}
		pairs, err := mappingPairs(el, 0)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: dump[%d] %w", dumpName, el.Line, i, err)
		}
		get := func(key string) *yaml.Node {
			for _, p := range pairs {
				if p.key.Value == key {
					return p.value
				}
			}
			return nil
		}
		if b, err := boolValue(get("pmx_module")); err == nil && b {
			continue
		}
		name, _ := scalarString(get("name"))
		if name == "" {
			return nil, fmt.Errorf("%s:%d: dump[%d]: a process without a name", dumpName, el.Line, i)
		}
		j, seen := byName[name]
		if !seen {
			app, err := importApp(i, name, el, pairs, get)
			if err != nil {
				return nil, err
			}
			j = len(out)
			byName[name] = j
			out = append(out, ImportedApp{App: app, Stopped: true})
		}
		imp := &out[j]
		if len(imp.Instances) == config.MaxInstances {
			return nil, fmt.Errorf("%s:%d: dump[%d] (%s): more than %d instances (config.MaxInstances)", dumpName,
				el.Line, i, name, config.MaxInstances)
		}
		n, err := intValue(get(imp.App.InstanceVar), 0, config.MaxInstances-1)
		if err != nil || slices.Contains(imp.Instances, int(n)) {
			// Absent (older dumps), odd or repeated: the lowest number not taken, so that numbers stay unique.
			for n = 0; slices.Contains(imp.Instances, int(n)); n++ {
			}
		}
		imp.Instances = append(imp.Instances, int(n))
		imp.App.Instances = len(imp.Instances)
		if s, _ := scalarString(get("status")); s != "stopped" {
			imp.Stopped = false
		}
	}
	return out, nil
}

// importApp builds the App of the first dump element of a group.
func importApp(i int, name string, el *yaml.Node, pairs []pair, get func(string) *yaml.Node) (config.App, error) {
	base, _ := scalarString(get("pm_cwd"))
	if base == "" {
		script, _ := scalarString(get("pm_exec_path"))
		base = filepath.Dir(script)
	}
	d := &fileDecoder{file: dumpName, lines: true, base: base, numCPU: 1}
	c := &appDecoder{fileDecoder: d, app: config.New(), label: fmt.Sprintf("dump[%d] (%s)", i, name), node: el,
		fieldLines: map[string]int{}, index: i, named: true}
	merge, err := boolValue(get("merge_logs"))
	if err != nil { // absent: PM2 merges by default in fork mode
		mode, _ := scalarString(get("exec_mode"))
		merge = mode != "cluster_mode" && mode != "cluster"
	}
	pm2Home, _ := scalarString(get("PM2_HOME"))
	for _, p := range pairs {
		key := p.key.Value
		if canon, ok := pm2Fields[key]; ok && !isNull(p.value) {
			c.fieldLines[canon] = p.key.Line
			if err := fields[canon](c, p.value); err != nil {
				return config.App{}, c.fieldError(p.key, key, err)
			}
		}
	}
	if env := get("env"); env != nil && !isNull(env) {
		vars, err := envValues(env)
		if err != nil {
			return config.App{}, c.fieldError(env, "env", err)
		}
		if h := vars["PM2_HOME"]; h != "" {
			pm2Home = h
		}
		for _, k := range pm2InjectedEnv {
			delete(vars, k)
		}
		for k := range vars {
			if isSessionVar(k) {
				delete(vars, k)
			}
		}
		delete(vars, name)              // JSON of the app's module_conf
		delete(vars, c.app.InstanceVar) // gpm sets it per instance
		if len(vars) > 0 {
			c.app.Env = vars
		}
	}
	for _, p := range pairs {
		if field, ok := pm2LogKeys[p.key.Value]; ok && !isNull(p.value) {
			s, err := stringValue(p.value)
			if err != nil {
				return config.App{}, c.fieldError(p.key, p.key.Value, err)
			}
			importLogPath(&c.app, field, s, name, pm2Home, merge)
			c.logDefault = c.logDefault || field == "log_file" && c.app.LogFile == config.DefaultLog
		}
	}
	if c.logDefault {
		c.app.LogFile = ""
	}
	if err := c.app.Normalize(base); err != nil {
		return config.App{}, c.locate(err)
	}
	if c.logDefault {
		c.app.LogFile = config.DefaultLog
	}
	return c.app, nil
}

var instanceSuffix = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`-\d+(\.log)$`) }) // compiled on first use: see yamlErrLine

// pm2SafeName is how PM2 puts a name in a file name (REFERENCE §5.1).
var pm2SafeName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`[^a-zA-Z0-9.-]`) })

// importLogPath sets one log path of a, undoing what PM2 did to it (see ImportPM2).
func importLogPath(a *config.App, field, path, name, pm2Home string, merge bool) {
	if !merge {
		path = instanceSuffix().ReplaceAllString(path, "$1")
	}
	if pm2Home != "" && filepath.Dir(path) == filepath.Join(pm2Home, "logs") {
		safe := pm2SafeName().ReplaceAllString(name, "-")
		switch base := filepath.Base(path); {
		case field == "log_file" && base == safe+".log":
			path = config.DefaultLog
		case field != "log_file" && (base == safe+"-out.log" || base == safe+"-error.log"):
			path = ""
		}
	}
	switch field {
	case "out_file":
		a.OutFile = path
	case "error_file":
		a.ErrorFile = path
	case "log_file":
		a.LogFile = path
	}
}
