package procfile

import (
	"errors"
	"fmt"
	"github.com/gpmd/gpm/config"
	"math"
	"strings"

	"go.yaml.in/yaml/v3"
)

// setter applies one process-file field to the app being decoded. Its error completes "<app>.<field> ".
type setter func(c *appDecoder, n *yaml.Node) error

// fields maps every supported process-file field (REFERENCE §1.3) to its setter. Aliases are in fieldAliases.
//
// Important (!): when adding a field to App, add it here, to pm2Fields in pm2dump.go if PM2 dumps it, and to
// docs/PROTOCOL.md.
var fields = map[string]setter{
	"name":      str(func(a *config.App, s string) { a.Name = s }),
	"listen":    list(func(a *config.App, l []string) { a.Listen = l }),
	"script":    str(func(a *config.App, s string) { a.Script = s }),
	"args":      list(func(a *config.App, l []string) { a.Args = l }),
	"cwd":       str(func(a *config.App, s string) { a.Cwd = s }),
	"namespace": str(func(a *config.App, s string) { a.Namespace = s }),

	"non_blocking": boolean(func(a *config.App, b bool) { a.NonBlocking = b }),
	"actions":      setActions,

	// "none" is kept so that Normalize does not pick an interpreter by extension; Normalize then clears it.
	"interpreter":      str(func(a *config.App, s string) { a.Interpreter = s }),
	"interpreter_args": list(func(a *config.App, l []string) { a.InterpreterArgs = l }),
	"instances":        setInstances,
	"exec_mode":        setExecMode,
	"instance_var":     str(func(a *config.App, s string) { a.InstanceVar = s }),
	"increment_var":    str(func(a *config.App, s string) { a.IncrementVar = s }),
	"env": func(c *appDecoder, n *yaml.Node) error {
		env, err := envValues(n)
		c.app.Env = env
		return err
	},

	"autorestart": boolean(func(a *config.App, b bool) { a.Autorestart = b }),
	"autostart":   boolean(func(a *config.App, b bool) { a.Autostart = b }),
	"stop_exit_codes": func(c *appDecoder, n *yaml.Node) error {
		codes, err := intList(n, math.MinInt32, math.MaxInt32)
		c.app.StopExitCodes = codes
		return err
	},
	"restart_delay":             millis(func(a *config.App, m config.Millis) { a.RestartDelay = m }),
	"exp_backoff_restart_delay": millis(func(a *config.App, m config.Millis) { a.ExpBackoffRestartDelay = m }),
	"min_uptime":                millis(func(a *config.App, m config.Millis) { a.MinUptime = m }),
	"kill_timeout":              millis(func(a *config.App, m config.Millis) { a.KillTimeout = m }),
	"listen_timeout":            millis(func(a *config.App, m config.Millis) { a.ListenTimeout = m }),
	"max_restarts": func(c *appDecoder, n *yaml.Node) error {
		v, err := intValue(n, 0, math.MaxInt32)
		c.app.MaxRestarts = int(v)
		return err
	},
	"max_memory_restart": func(c *appDecoder, n *yaml.Node) error {
		v, err := sizeValue(n)
		c.app.MaxMemoryRestart = v
		return err
	},
	"memory_max": func(c *appDecoder, n *yaml.Node) error {
		v, err := sizeValue(n)
		c.app.MemoryMax = v
		return err
	},
	"cpu_quota": func(c *appDecoder, n *yaml.Node) error {
		s, ok := scalarString(n)
		if !ok {
			return fmt.Errorf("must be a percentage such as \"50%%\", got %s", describe(n))
		}
		v, err := config.ParseCPUQuota(s)
		c.app.CPUQuota = v
		return err
	},
	"tasks_max": func(c *appDecoder, n *yaml.Node) error {
		v, err := intValue(n, 1, config.MaxTasks)
		c.app.TasksMax = int(v)
		return err
	},
	"kill_signal": str(func(a *config.App, s string) { a.KillSignal = config.SignalName(s) }),
	"wait_ready":  boolean(func(a *config.App, b bool) { a.WaitReady = b }),
	"stdin":       boolean(func(a *config.App, b bool) { a.Stdin = b }),
	"watchdog":    millis(func(a *config.App, m config.Millis) { a.Watchdog = m }),
	"cron_restart": func(c *appDecoder, n *yaml.Node) error {
		s, ok := scalarString(n)
		if !ok {
			return fmt.Errorf("must be a cron expression such as \"0 3 * * *\", got %s", describe(n))
		}
		if strings.TrimSpace(s) == "0" { // PM2: 0 disables the cron restart
			s = ""
		}
		if s != "" {
			if _, err := config.ParseCron(s); err != nil {
				return err
			}
		}
		c.app.CronRestart = strings.TrimSpace(s)
		return nil
	},

	"watch": func(c *appDecoder, n *yaml.Node) error {
		if b, err := boolValue(n); err == nil {
			c.app.Watch = nil
			if b {
				c.app.Watch = []string{"."}
			}
			return nil
		}
		if s, ok := scalarString(n); ok && s == "" {
			// PM2 watches when watch is truthy, so '' is off (as --watch= is); as a path it was the app's cwd, whose
			// every change restarted it.
			c.app.Watch = nil
			return nil
		}
		l, err := pathList(n)
		if err != nil {
			return fmt.Errorf("must be true, false, a path or a list of paths: %w", err)
		}
		c.app.Watch = l
		return nil
	},
	"ignore_watch": func(c *appDecoder, n *yaml.Node) error {
		l, err := pathList(n)
		c.app.IgnoreWatch = l
		return err
	},
	"watch_delay": millis(func(a *config.App, m config.Millis) { a.WatchDelay = m }),

	"log_max_size": func(c *appDecoder, n *yaml.Node) error {
		v, err := sizeValue(n)
		c.app.LogMaxSize = v
		return err
	},
	"log_retain": func(c *appDecoder, n *yaml.Node) error {
		v, err := intValue(n, 0, config.MaxLogRetain)
		c.app.LogRetain = int(v)
		return err
	},
	"log_compress": boolean(func(a *config.App, b bool) { a.LogCompress = b }),
	"log_rotate_cron": func(c *appDecoder, n *yaml.Node) error {
		s, ok := scalarString(n)
		if !ok {
			return fmt.Errorf("must be a cron expression such as \"0 0 * * *\", got %s", describe(n))
		}
		if s = strings.TrimSpace(s); s != "" {
			if _, err := config.ParseCron(s); err != nil {
				return err
			}
		}
		c.app.LogRotateCron = s
		return nil
	},

	"out_file":   str(func(a *config.App, s string) { a.OutFile = s }),
	"error_file": str(func(a *config.App, s string) { a.ErrorFile = s }),
	"log_file": func(c *appDecoder, n *yaml.Node) error {
		if n := deref(n); n.Kind == yaml.ScalarNode && n.ShortTag() == "!!bool" {
			b, err := boolValue(n)
			c.app.LogFile, c.logDefault = "", b // true: see DefaultLog
			return err
		}
		s, err := stringValue(n)
		c.app.LogFile, c.logDefault = s, false
		if err != nil {
			return fmt.Errorf("must be a path or true, got %s", describe(n))
		}
		return nil
	},
	"merge_logs":      boolean(func(a *config.App, b bool) { a.MergeLogs = b }),
	"time":            boolean(func(a *config.App, b bool) { a.Time = b }),
	"log_date_format": str(func(a *config.App, s string) { a.LogDateFormat = s }),
	"log_type":        str(func(a *config.App, s string) { a.LogType = s }),
	"disable_logs":    boolean(func(a *config.App, b bool) { a.DisableLogs = b }),
	"pid_file":        str(func(a *config.App, s string) { a.PidFile = s }),
	"uid":             str(func(a *config.App, s string) { a.User = s }),
	"gid":             str(func(a *config.App, s string) { a.Group = s }),

	"filter_env": func(c *appDecoder, n *yaml.Node) error {
		if b, err := boolValue(n); err == nil {
			c.app.FilterEnv = nil
			if b {
				c.app.FilterEnv = []string{""}
			}
			return nil
		}
		l, err := stringList(n)
		if err != nil {
			return fmt.Errorf("must be true, false, a prefix or a list of prefixes: %w", err)
		}
		c.app.FilterEnv = l
		return nil
	},
	"treekill":              boolean(func(a *config.App, b bool) { a.NoTreekill = !b }),
	"shutdown_with_message": boolean(func(a *config.App, b bool) { a.ShutdownWithMessage = b }),
	// append_env_to_name is applied by decodeApp, which knows --env.
	"append_env_to_name": boolean(func(*config.App, bool) {}),
	// A process file given again restarts or reloads the apps it names: PM2's force (start a second copy of a
	// running script) has nothing to do there. wait_ip belongs to `gpm startup --wait-ip` (the unit waits for
	// network-online.target), not to an app.
	"force":   boolean(func(*config.App, bool) {}),
	"wait_ip": boolean(func(*config.App, bool) {}),
}

// fieldAliases maps the other names PM2 accepts to the canonical field.
var fieldAliases = map[string]string{
	"exec": "script", "cmd": "script", "command": "script",
	"exec_interpreter": "interpreter",
	"node_args":        "interpreter_args", "interpreterArgs": "interpreter_args",
	"cron":   "cron_restart",
	"output": "out_file", "out": "out_file", "out_log": "out_file",
	"error": "error_file", "err": "error_file", "err_file": "error_file", "err_log": "error_file",
	"log":          "log_file",
	"combine_logs": "merge_logs",
	"pid":          "pid_file",
	"user":         "uid",
	"ignoreWatch":  "ignore_watch",
	"watchDelay":   "watch_delay",
}

// unsupported lists PM2 fields gpm knows but does not implement yet, each with the value at which ignoring it changes
// nothing (so `watch: false` in a generated file does not warn); "" means always warn.
var unsupported = map[string]string{
	"watch_options":   "",
	"kill_retry_time": "", "port": "",
	"windowsHide": "true", "source_map_support": "", "disable_source_map_support": "",
	"vizion": "", "pmx": "", "automation": "", "trace": "", "disable_trace": "", "v8": "", "event_loop_inspector": "",
	"deep_monitoring": "", "node_version": "", "post_update": "", "install_url": "", "io": "", "name_prefix": "",
	"execute_command": "", "write": "", "username": "",
}

func str(set func(*config.App, string)) setter {
	return func(c *appDecoder, n *yaml.Node) error {
		s, err := stringValue(n)
		if err == nil {
			set(&c.app, s)
		}
		return err
	}
}

func list(set func(*config.App, []string)) setter {
	return func(c *appDecoder, n *yaml.Node) error {
		l, err := stringList(n)
		if err == nil {
			set(&c.app, l)
		}
		return err
	}
}

func boolean(set func(*config.App, bool)) setter {
	return func(c *appDecoder, n *yaml.Node) error {
		b, err := boolValue(n)
		if err == nil {
			set(&c.app, b)
		}
		return err
	}
}

func millis(set func(*config.App, config.Millis)) setter {
	return func(c *appDecoder, n *yaml.Node) error {
		m, err := millisValue(n)
		if err == nil {
			set(&c.app, m)
		}
		return err
	}
}

// setInstances resolves PM2's instance count: N, "N", "max" or 0 (one per CPU), -N (all CPUs but N); at least 1,
// at most MaxInstances.
func setInstances(c *appDecoder, n *yaml.Node) error {
	var v int64
	if s, ok := scalarString(n); ok && strings.EqualFold(strings.TrimSpace(s), "max") {
		v = 0
	} else if f, ok := number(n); ok && f == math.Trunc(f) && math.Abs(f) <= math.MaxInt32 {
		v = int64(f)
	} else {
		return fmt.Errorf(`must be a number, "max" or -N, got %s`, describe(n))
	}
	if v > config.MaxInstances {
		return errors.New(config.InstancesMsg(int(v)))
	}
	cpus := int64(c.numCPU)
	switch {
	case v == 0:
		v = cpus
	case v < 0:
		v = cpus + v
	}
	c.app.Instances = int(max(v, 1))
	return nil
}

func setExecMode(c *appDecoder, n *yaml.Node) error {
	s, ok := scalarString(n)
	switch m := strings.ToLower(strings.TrimSpace(s)); {
	case ok && (m == "fork" || m == "fork_mode"):
		c.app.ExecMode = "fork"
	case ok && (m == "cluster" || m == "cluster_mode"):
		c.app.ExecMode = "cluster"
	default:
		return fmt.Errorf("must be fork or cluster (fork_mode and cluster_mode also work), got %s", describe(n))
	}
	return nil
}
