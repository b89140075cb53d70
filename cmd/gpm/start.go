package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/gpmd/gpm/api"
	"github.com/gpmd/gpm/client"
	"github.com/gpmd/gpm/config"
)

// startFlags are PM2's options for start, restart and startOrRestart.
type startFlags struct {
	fs                                 *pflag.FlagSet
	name, namespace, instances, interp string
	interpArgs, cwd, out, errf, log    string
	logDateFormat, logType, pid, env   string
	memMax, cpuQuota, tasksMax         string
	maxMem, killSignal, cron, uid, gid string
	only                               []string
	listen                             []string
	parallel                           int
	stopExitCodes                      []int
	restartDelay, expBackoff, watchdog string
	watchDelay                         string
	ignoreWatch                        []string
	killTimeout, listenTimeout         string
	minUptime, maxRestarts             string
	mergeLogs, timePrefix, disableLogs bool
	noAutorestart, noAutostart         bool
	waitReady, updateEnv, force        bool
	watch, filterEnv, ext              string
	fork, attach, noDaemon, stdin      bool
	noTreekill, shutdownWithMessage    bool
	logMaxSize, logRetain, logCron     string
	logCompress, logJournal            bool
}

func newStartFlags(c *cli, name string) *startFlags {
	f := &startFlags{fs: c.flags(name)}
	fs := f.fs
	fs.StringVarP(&f.name, "name", "n", "", "app name (default: script name without extension)")
	fs.StringVar(&f.namespace, "namespace", "", "namespace (default \"default\")")
	fs.StringVarP(&f.instances, "instances", "i", "", "number of instances: N, max (CPUs), -N (CPUs-N)")
	fs.StringVar(&f.interp, "interpreter", "", "interpreter (default by extension: .js node, .py python3, .sh bash, ...; none = execute directly)")
	fs.StringVar(&f.interpArgs, "interpreter-args", "", "arguments for the interpreter")
	fs.StringVar(&f.interpArgs, "node-args", "", "alias of --interpreter-args")
	fs.StringVar(&f.cwd, "cwd", "", "working directory")
	fs.StringVarP(&f.out, "output", "o", "", "stdout log file (NULL or /dev/null disables)")
	fs.StringVarP(&f.errf, "error", "e", "", "stderr log file (NULL or /dev/null disables)")
	fs.StringVarP(&f.log, "log", "l", "", "combined out+err log file (default path without a value)")
	fs.Lookup("log").NoOptDefVal = "default"
	fs.BoolVar(&f.mergeLogs, "merge-logs", false, "one log file for all instances")
	fs.StringVar(&f.logDateFormat, "log-date-format", "", "prefix log lines with this date format (moment.js style)")
	fs.BoolVar(&f.timePrefix, "time", false, "prefix log lines with the time")
	fs.StringVar(&f.logType, "log-type", "", "json: write log lines as JSON")
	fs.BoolVar(&f.disableLogs, "disable-logs", false, "write no log files")
	fs.StringVarP(&f.pid, "pid", "p", "", "pid file path")
	fs.StringVar(&f.env, "env", "", "use env_<name> of the process file")
	fs.BoolVarP(&f.updateEnv, "update-env", "a", false, "refresh the environment from this shell on restart")
	fs.BoolVarP(&f.force, "force", "f", false, "start even if the script already runs")
	fs.StringSliceVar(&f.only, "only", nil, "with a process file: only these apps")
	fs.StringVar(&f.maxMem, "max-memory-restart", "", "restart when memory exceeds this (200M, 1G)")
	fs.StringVar(&f.memMax, "memory-max", "", "hard memory limit of each process's cgroup (memory.max: 200M, 1G)")
	fs.StringVar(&f.cpuQuota, "cpu-quota", "", "cpu limit of each process's cgroup in percent of one cpu (cpu.max: 50%)")
	fs.StringVar(&f.tasksMax, "tasks-max", "", "most processes and threads in each process's cgroup (pids.max)")
	fs.StringVar(&f.maxRestarts, "max-restarts", "", "unstable restarts before errored (default 16)")
	fs.StringVar(&f.minUptime, "min-uptime", "", "uptime under which an exit counts as unstable (default 1s)")
	fs.StringVar(&f.restartDelay, "restart-delay", "", "delay before a restart (ms or 2s)")
	fs.StringVar(&f.expBackoff, "exp-backoff-restart-delay", "", "first delay of an exponential backoff (ms)")
	fs.StringVarP(&f.killTimeout, "kill-timeout", "k", "", "delay before SIGKILL on stop (ms, default 1600)")
	fs.StringVar(&f.killSignal, "kill-signal", "", "signal sent on stop (default SIGINT)")
	fs.StringVar(&f.listenTimeout, "listen-timeout", "", "time a worker has to become ready (ms)")
	fs.BoolVar(&f.waitReady, "wait-ready", false, "the app is online once it sends READY=1 on NOTIFY_SOCKET (or process.send('ready') in Node)")
	fs.StringVar(&f.watchdog, "watchdog", "", "restart a worker that sends no WATCHDOG=1 for this long (WATCHDOG_USEC)")
	fs.IntSliceVar(&f.stopExitCodes, "stop-exit-codes", nil, "exit codes that do not restart the app")
	fs.BoolVar(&f.noAutorestart, "no-autorestart", false, "do not restart the app when it exits")
	fs.BoolVar(&f.noAutostart, "no-autostart", false, "register the app without starting it")
	fs.StringVarP(&f.cron, "cron-restart", "c", "", "restart at these times: a cron expression (\"0 3 * * *\", seconds first optional, @daily), 0 to disable")
	fs.StringVar(&f.cron, "cron", "", "alias of --cron-restart")
	fs.StringVar(&f.uid, "uid", "", "run as this user (daemon must be root)")
	fs.StringVar(&f.gid, "gid", "", "run with this group (daemon must be root)")
	fs.StringVar(&f.watch, "watch", "", "restart the app when a file under its cwd changes; --watch PATH[,PATH] (or --watch=PATHS): under these paths; --watch=false: stop watching")
	fs.Lookup("watch").NoOptDefVal = "true"
	fs.StringVar(&f.ext, "ext", "", "PM2's watched extensions: gpm watches every file under the paths (narrow with --ignore-watch); accepted, ignored with a notice")
	fs.StringVar(&f.logMaxSize, "log-max-size", "", "rotate a log file before it grows past this size (10M)")
	fs.StringVar(&f.logRetain, "log-retain", "", "rotated log files kept per file (default 30)")
	fs.BoolVar(&f.logCompress, "log-compress", false, "gzip rotated log files")
	fs.StringVar(&f.logCron, "log-rotate-cron", "", "also rotate the log files at these times (cron, \"0 0 * * *\")")
	fs.BoolVar(&f.logJournal, "log-journal", false, "send the app's lines to the systemd journal (log_type: journal)")
	fs.StringSliceVar(&f.ignoreWatch, "ignore-watch", nil, "names or globs whose changes do not count (default: dot files, node_modules)")
	fs.StringVar(&f.watchDelay, "watch-delay", "", "wait this long after a change before restarting")
	fs.StringArrayVar(&f.listen, "listen", nil, "socket to bind once and pass to every instance as fd 3.. (tcp://host:port, unix:///path, udp://..., systemd:NAME; name=ADDR names it)")
	fs.IntVar(&f.parallel, "parallel", 1, "reload: instances replaced at a time")
	fs.BoolVarP(&f.fork, "execute-command", "x", false, "fork mode (the default)")
	fs.StringVar(&f.filterEnv, "filter-env", "", "do not pass the variables of this shell whose names start with these prefixes (a,b); without a value, none of them but PATH")
	fs.Lookup("filter-env").NoOptDefVal = "true"
	fs.BoolVar(&f.noTreekill, "no-treekill", false, "send the kill signal to the main process only (treekill: false); what is left at kill_timeout is killed with it")
	fs.BoolVar(&f.shutdownWithMessage, "shutdown-with-message", false, "stop Node apps with the message 'shutdown' (process.on('message')) instead of the kill signal")
	fs.BoolVar(&f.stdin, "stdin", false, "give the app a pipe as stdin, for gpm send and gpm attach (default: /dev/null)")
	fs.BoolVar(&f.attach, "attach", false, "after starting, print the apps' logs until interrupted (as gpm logs)")
	fs.BoolVar(&f.noDaemon, "no-daemon", false, "run the daemon in the foreground with these apps, printing their logs; interrupting it stops them (for containers)")
	c.optional = map[*pflag.FlagSet][]optionalValue{fs: c.startOptional()}
	return f
}

// apply sets on a what the flags changed.
func (f *startFlags) apply(a *config.App) error {
	set := func(name string) bool { return f.fs.Changed(name) }
	var err error
	if set("name") {
		a.Name = f.name
	}
	if set("namespace") {
		a.Namespace = f.namespace
	}
	if set("no-treekill") {
		a.NoTreekill = f.noTreekill
	}
	if set("shutdown-with-message") {
		a.ShutdownWithMessage = f.shutdownWithMessage
	}
	if set("instances") {
		if a.Instances, err = instances(f.instances); err != nil {
			return err
		}
	}
	if set("interpreter") {
		a.Interpreter = f.interp
	}
	if set("interpreter-args") || set("node-args") {
		a.InterpreterArgs = strings.Fields(f.interpArgs)
	}
	if set("cwd") {
		a.Cwd = f.cwd
	}
	if set("output") {
		a.OutFile = f.out
	}
	if set("error") {
		a.ErrorFile = f.errf
	}
	if set("log") {
		a.LogFile = f.log
	}
	if set("merge-logs") {
		a.MergeLogs = f.mergeLogs
	}
	if set("log-date-format") {
		a.LogDateFormat = f.logDateFormat
	}
	if set("time") {
		a.Time = f.timePrefix
	}
	if set("log-type") {
		a.LogType = f.logType
	}
	if set("disable-logs") {
		a.DisableLogs = f.disableLogs
	}
	if set("pid") {
		a.PidFile = f.pid
	}
	if set("watch") {
		a.Watch = watchList(f.watch)
	}
	if set("log-journal") && f.logJournal {
		a.LogType = config.LogJournal
	}
	if set("log-max-size") {
		if a.LogMaxSize, err = config.ParseSize(f.logMaxSize); err != nil {
			return fmt.Errorf("--log-max-size: %w", err)
		}
	}
	if set("log-retain") {
		if a.LogRetain, err = strconv.Atoi(f.logRetain); err != nil || a.LogRetain < 0 || a.LogRetain > config.MaxLogRetain {
			return fmt.Errorf("--log-retain: expected a number 0..%d (config.MaxLogRetain), got %q", config.MaxLogRetain, f.logRetain)
		}
	}
	if set("log-compress") {
		a.LogCompress = f.logCompress
	}
	if set("log-rotate-cron") {
		a.LogRotateCron = strings.TrimSpace(f.logCron)
		if a.LogRotateCron != "" {
			if _, err := config.ParseCron(a.LogRotateCron); err != nil {
				return fmt.Errorf("--log-rotate-cron: %w", err)
			}
		}
	}
	if set("ignore-watch") {
		a.IgnoreWatch = f.ignoreWatch
	}
	if set("cron-restart") || set("cron") {
		a.CronRestart = strings.TrimSpace(f.cron)
		if a.CronRestart == "0" {
			a.CronRestart = ""
		}
		if a.CronRestart != "" {
			if _, err := config.ParseCron(a.CronRestart); err != nil {
				return fmt.Errorf("--cron-restart: %w", err)
			}
		}
	}
	if set("max-memory-restart") {
		if a.MaxMemoryRestart, err = config.ParseSize(f.maxMem); err != nil {
			return fmt.Errorf("--max-memory-restart: %w", err)
		}
	}
	if set("memory-max") {
		if a.MemoryMax, err = config.ParseSize(f.memMax); err != nil {
			return fmt.Errorf("--memory-max: %w", err)
		}
	}
	if set("cpu-quota") {
		if a.CPUQuota, err = config.ParseCPUQuota(f.cpuQuota); err != nil {
			return fmt.Errorf("--cpu-quota: %w", err)
		}
	}
	if set("tasks-max") {
		if a.TasksMax, err = config.ParseTasksMax(f.tasksMax); err != nil {
			return fmt.Errorf("--tasks-max: %w", err)
		}
	}
	if set("max-restarts") {
		if a.MaxRestarts, err = strconv.Atoi(f.maxRestarts); err != nil || a.MaxRestarts < 0 {
			return fmt.Errorf("--max-restarts: expected a number >= 0, got %q", f.maxRestarts)
		}
	}
	for _, d := range []struct {
		flag string
		val  string
		dst  *config.Millis
	}{{"min-uptime", f.minUptime, &a.MinUptime}, {"restart-delay", f.restartDelay, &a.RestartDelay},
		{"exp-backoff-restart-delay", f.expBackoff, &a.ExpBackoffRestartDelay},
		{"kill-timeout", f.killTimeout, &a.KillTimeout}, {"listen-timeout", f.listenTimeout, &a.ListenTimeout},
		{"watchdog", f.watchdog, &a.Watchdog}, {"watch-delay", f.watchDelay, &a.WatchDelay}} {
		if set(d.flag) {
			if *d.dst, err = config.ParseMillis(d.val); err != nil {
				return fmt.Errorf("--%s: %w", d.flag, err)
			}
		}
	}
	if set("kill-signal") {
		a.KillSignal = config.SignalName(f.killSignal)
	}
	if set("wait-ready") {
		a.WaitReady = f.waitReady
	}
	if set("stop-exit-codes") {
		a.StopExitCodes = f.stopExitCodes
	}
	if set("no-autorestart") {
		a.Autorestart = !f.noAutorestart
	}
	if set("no-autostart") {
		a.Autostart = !f.noAutostart
	}
	if set("listen") {
		a.Listen = f.listen
		if !set("instances") && a.Instances < 1 {
			a.Instances = 1
		}
		a.ExecMode = "cluster"
	}
	if set("stdin") {
		a.Stdin = f.stdin
	}
	if set("uid") {
		a.User = f.uid
	}
	if set("gid") {
		a.Group = f.gid
	}
	return nil
}

// watchList turns --watch's value into the app's watch paths: "true" (a bare --watch) is the app's cwd, "false"
// none, anything else a comma-separated list of paths.
func watchList(v string) []string {
	switch v {
	case "true":
		return []string{"."}
	case "false", "":
		return nil
	}
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// instances resolves -i: N, "max" (CPUs), 0 (CPUs), -N (CPUs-N, at least 1).
func instances(s string) (int, error) {
	cpus := runtime.NumCPU()
	if s == "max" {
		return cpus, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("-i/--instances: expected a number, max or -N, got %q", s)
	}
	switch {
	case n == 0:
		return cpus, nil
	case n < 0:
		return max(cpus+n, 1), nil
	}
	return n, nil
}

// splitDash separates the arguments after "--" (the app's own) from the rest.
func splitDash(fs *pflag.FlagSet, args []string) (own, appArgs []string) {
	if i := fs.ArgsLenAtDash(); i >= 0 {
		return fs.Args()[:i], fs.Args()[i:]
	}
	return fs.Args(), nil
}

func cmdStart(ctx context.Context, c *cli, args []string) (result error) {
	f := newStartFlags(c, "start")
	if err := c.parse(f.fs, args); err != nil {
		return err
	}
	f.notices(c.stderr)
	targets, appArgs := splitDash(f.fs, args)
	if len(targets) == 0 {
		return fmt.Errorf("nothing to start: give a script, a binary, a process file or a name")
	}
	if f.noDaemon {
		execWebProgram(c.home) // as gpm daemon and gpm run: gpmd-web when the API is on
		l, err := c.foreground(ctx)
		if err != nil {
			return err
		}
		defer l.stop()
		defer func() {
			// A signal (which cancels ctx and stops the daemon too) or gpm kill that came before the apps started is
			// a clean stop, as in gpm run: the daemon's own end is the result.
			if result == nil {
				return
			}
			if ended, _ := l.ended(); ended || ctx.Err() != nil {
				result = l.stop()
			}
		}()
		f.attach = true
	}
	var apps []api.StartApp
	var fromFile []bool
	var restart []string
	var cl interface {
		List(context.Context) ([]api.Process, error)
	}
	for _, t := range targets {
		if t == "-" || config.IsProcessFile(t) {
			fileApps, err := c.loadRunnable(t, f)
			if err != nil {
				return err
			}
			for _, a := range fileApps {
				apps = append(apps, api.StartApp{App: a})
				fromFile = append(fromFile, true)
			}
			continue
		}
		if _, err := os.Stat(c.abs(t)); err != nil && !filepath.IsAbs(t) {
			// Not a file here: an app name or id means "restart it" (PM2's smart start).
			if cl == nil {
				conn, err := c.client(ctx)
				if err != nil {
					return err
				}
				cl = conn
			}
			list, err := cl.List(ctx)
			if err != nil {
				return err
			}
			if r, ok := restartTarget(list, t, f); ok {
				restart = append(restart, r)
				continue
			}
		}
		a := config.New()
		// A command line that is not a file is split, or run by a shell: config.App.Normalize.
		a.Script = t
		a.Args = appArgs
		if err := f.apply(&a); err != nil {
			return err
		}
		if err := a.Normalize(c.cwd); err != nil {
			return fmt.Errorf("%s: %w", t, err)
		}
		apps = append(apps, api.StartApp{App: a})
		fromFile = append(fromFile, false)
	}
	conn, err := c.client(ctx)
	if err != nil {
		return err
	}
	var copies []api.StartApp
	if slices.Contains(fromFile, false) {
		list, err := conn.List(ctx)
		if err != nil {
			return err
		}
		// A process file restarts what it names; a script given twice is a mistake PM2 also refuses, and with
		// --force adds copies of it (PM2's `start echo.js -f`).
		var keep []api.StartApp
		for i, sa := range apps {
			switch {
			case fromFile[i] || !hasName(list, sa.App.Name):
				keep = append(keep, sa)
			case f.force:
				copies = append(copies, sa)
			default:
				return fmt.Errorf("an app named %q already exists: gpm restart %s, another --name, or --force to add a copy of it", sa.App.Name, sa.App.Name)
			}
		}
		apps = keep
	}
	var out []api.Process
	if len(apps) > 0 {
		res, err := c.start(ctx, conn, api.StartParams{Apps: apps, CallerEnv: f.callerEnv()})
		out = append(out, res...)
		if err != nil {
			c.printList(rowsOf(out))
			return err
		}
	}
	for _, sa := range copies {
		res, err := c.addCopies(ctx, conn, f, sa.App)
		out = append(out, res...)
		if err != nil {
			return err
		}
	}
	if len(restart) > 0 {
		var res []api.Process
		if len(f.configFlags()) > 0 {
			res, err = c.restartWith(ctx, conn, f, restart)
		} else {
			res, err = conn.Restart(ctx, f.updateEnv, restart...)
		}
		out = append(out, res...)
		if err != nil {
			return err
		}
	}
	c.report(out, false)
	if err := c.showList(ctx); err != nil {
		return err
	}
	if f.attach {
		return c.follow(ctx, out)
	}
	return nil
}

// addCopies is `start -f` of an app that exists: PM2 starts another copy of it. A gpm app's processes are its
// instances, so a copy is one more instance (app.Instances more), with the app's configuration; options that
// would change that configuration are refused rather than applied to the copies alone.
func (c *cli) addCopies(ctx context.Context, conn *client.Client, f *startFlags, a config.App) ([]api.Process, error) {
	if opts := slices.DeleteFunc(f.configFlags(), func(s string) bool { return s == "--name" || s == "--instances" }); len(opts) > 0 {
		return nil, fmt.Errorf("%s already exists: --force adds copies of it as it is configured; %s would change its configuration (gpm restart %s %s)",
			a.Name, strings.Join(opts, ", "), a.Name, strings.Join(opts, " "))
	}
	return conn.Scale(ctx, a.Name, a.Instances, true)
}

// follow prints the logs of the processes in out until interrupted: start --attach. It begins with their last
// lines, which hold what the apps printed before the stream was open.
func (c *cli) follow(ctx context.Context, out []api.Process) error {
	var args []string
	seen := map[string]bool{}
	for _, p := range out {
		if !seen[p.Name] {
			seen[p.Name] = true
			args = append(args, p.Name)
		}
	}
	return cmdLogs(ctx, c, args)
}

// known reports whether t selects something in list, as the daemon would resolve it.
func known(list []api.Process, t string) bool { return len(pick(list, t)) > 0 }

// restartTarget says whether `gpm start T` restarts what T selects (PM2's smart start), and what to restart. With
// --name, PM2 restarts an app only when both its script and its name match: a --name that no app has makes T a new
// app's command even when T also selects a running one (`gpm start sleep --name b -- 5` beside an app running
// sleep), and a --name of one of the apps T selects restarts that app alone. Any other --name goes to the restart,
// which refuses it as a rename.
func restartTarget(list []api.Process, t string, f *startFlags) (string, bool) {
	sel := pick(list, t)
	switch {
	case len(sel) == 0:
		return "", false
	case !f.fs.Changed("name"):
		return t, true
	case !hasName(list, f.name):
		return "", false
	case hasName(sel, f.name):
		return f.name, true
	}
	return t, true
}

func envNow() map[string]string {
	m := map[string]string{}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return m
}

// cmdStartOrRestart starts a process file's apps; those already running restart with the file's configuration.
func cmdStartOrRestart(ctx context.Context, c *cli, args []string) error {
	return c.fileCommand(ctx, "startOrRestart", args, c.startFile)
}

// fileCommand runs a command whose one argument is a process file.
func (c *cli) fileCommand(ctx context.Context, name string, args []string, run func(context.Context, *startFlags, string) error) error {
	f := newStartFlags(c, name)
	if err := c.parse(f.fs, args); err != nil {
		return err
	}
	if f.fs.NArg() != 1 {
		return fmt.Errorf("expected one process file")
	}
	return run(ctx, f, f.fs.Arg(0))
}

func (c *cli) startFile(ctx context.Context, f *startFlags, path string) error {
	fileApps, err := c.loadRunnable(path, f)
	if err != nil {
		return err
	}
	conn, err := c.client(ctx)
	if err != nil {
		return err
	}
	p := api.StartParams{CallerEnv: f.callerEnv()}
	for _, a := range fileApps {
		p.Apps = append(p.Apps, api.StartApp{App: a})
	}
	out, err := c.start(ctx, conn, p)
	c.report(out, false)
	if err != nil {
		return err
	}
	return c.showList(ctx)
}

// start asks the daemon to start p's apps and returns what it says of them, decoded as the table needs them
// (without their configs: shown).
func (c *cli) start(ctx context.Context, conn *client.Client, p api.StartParams) ([]api.Process, error) {
	var res []shown
	err := conn.Call(ctx, api.MethodStart, p, &res)
	return processes(res), err
}

// abs is path relative to the directory gpm was run in.
func (c *cli) abs(path string) string {
	if filepath.IsAbs(path) {
		return path
	}
	return filepath.Join(c.cwd, path)
}
