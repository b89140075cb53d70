// Command gpm is a process manager for programs in any language, with PM2's commands: it starts, keeps alive,
// clusters, logs and saves applications through a daemon that it starts on demand.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/gpmd/gpm/activation"
	"github.com/gpmd/gpm/api"
	"github.com/gpmd/gpm/client"
	"github.com/gpmd/gpm/platform"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

// cliExeEnv carries the thin CLI's path to gpmd when it hands over startup or unstartup (thin.go), for the units
// they write.
const cliExeEnv = "GPM_CLI_EXE"

// cli is one invocation: its streams, its home, and the connection it opens on demand.
type cli struct {
	stdout, stderr io.Writer
	stdin          io.Reader
	home           string
	cwd            string
	conn           *client.Client
	// timeout is --timeout: how long a call waits for the daemon (client.Client.SetTimeout); nil leaves
	// GPM_TIMEOUT's, or the default.
	timeout *time.Duration
	// optional are the optional-value flags of a flag set (joinOptional), applied by parse.
	optional map[*pflag.FlagSet][]optionalValue
	// partial: some apps of a process file were left out (their error printed); the command exits 1 at its end.
	partial bool
}

type command struct {
	run     func(ctx context.Context, c *cli, args []string) error
	usage   string
	summary string
}

// commands is the command table, built on first use (commandTable): its entries and closures are 68 allocations at
// package init that `gpm --version`, answered before any set-up, has no use for (issue 13). Not a package-level
// initialiser: the commands' functions refer to the table (usage, --help).
func commands() map[string]*command {
	commandsOnce.Do(func() { commandTable = newCommandTable() })
	return commandTable
}

var (
	commandsOnce sync.Once
	commandTable map[string]*command
)

func newCommandTable() map[string]*command {
	return map[string]*command{
		"start":          {cmdStart, "start <script|binary|file|name|id>... [options] [-- args]", "start and daemonize apps"},
		"stop":           {cmdTargets(api.MethodStop), "stop <id|name|namespace|/regexp/|script|all|file>...", "stop apps"},
		"reload":         {cmdReload, "reload <id|name|namespace|/regexp/|script|all|file>... [--parallel N] [--update-env]", "replace workers with no downtime: each new worker is ready before the old one stops"},
		"startOrReload":  {cmdStartOrReload, "startOrReload <file>", "start the file's apps, reloading those that run"},
		"restart":        {cmdRestart, "restart <id|name|namespace|/regexp/|script|all|file>... [--update-env]", "restart apps"},
		"delete":         {cmdTargets(api.MethodDelete), "delete <id|name|namespace|/regexp/|script|all|file>...", "stop apps and remove them from the list"},
		"reset":          {cmdTargets(api.MethodReset), "reset <id|name|namespace|all>...", "zero restart counters"},
		"scale":          {cmdScale, "scale <name> <N|+N|-N>", "set the number of instances"},
		"list":           {cmdList, "list", "list apps in a table"},
		"jlist":          {cmdJlist, "jlist", "list apps as JSON"},
		"prettylist":     {cmdPrettylist, "prettylist", "list apps as indented JSON"},
		"update":         {cmdUpdate, "update", "after an upgrade: save the list (as gpm save does), restart the daemon on this binary, resurrect"},
		"ecosystem":      {cmdEcosystem, "ecosystem", "write " + ecosystemName + ", a process file to start from"},
		"monit":          {cmdMonit, "monit [--once]", "live console: apps, cpu and memory history, logs; keys restart, reload, stop, delete, scale (? lists them)"},
		"describe":       {cmdDescribe, "describe <id|name>", "show everything about an app"},
		"env":            {cmdEnv, "env <id>", "print the environment of a process"},
		"id":             {cmdID, "id <name>", "print the ids of an app"},
		"pid":            {cmdPid, "pid [name]", "print pids"},
		"logs":           {cmdLogs, "logs [id|name|namespace] [--lines N] [--nostream] [--out|--err] [--json|--raw]", "print and follow logs"},
		"flush":          {cmdFlush, "flush [id|name|namespace]...", "empty log files"},
		"reloadLogs":     {cmdReloadLogs, "reloadLogs", "reopen log files after an outside rotation"},
		"set":            {cmdSet, "set <key> <value>", "store a setting (logrotate:max_size 10M, logrotate:retain 5, logrotate:compress true, logrotate:rotateInterval '0 0 * * *')"},
		"get":            {cmdGet, "get [key]", "print a setting, or all of them"},
		"unset":          {cmdUnset, "unset <key>", "remove a setting"},
		"sendSignal":     {cmdSendSignal, "sendSignal <signal> <id|name|namespace|all>...", "send a signal to apps"},
		"save":           {cmdSave, "save [--force]", "save the process list for resurrect"},
		"resurrect":      {cmdResurrect, "resurrect", "start the saved process list"},
		"cleardump":      {cmdClearDump, "cleardump", "empty the saved process list"},
		"web":            {cmdWeb, "web [ADDR|unix:PATH] [--public] [--cert F --key F] [--off] [--rotate-token] [--status]", "serve the HTTP API, metrics and dashboard (default 127.0.0.1:9615); prints a link with the token"},
		"startOrRestart": {cmdStartOrRestart, "startOrRestart <file>", "start the file's apps, restarting those that run"},
		"import":         {cmdImport, "import pm2 [dump.pm2]", "register the apps of a PM2 dump"},
		"ping":           {cmdPing, "ping", "start the daemon if needed and check it answers"},
		"kill":           {cmdKill, "kill", "stop every app, then the daemon (the dump is left alone)"},
		"version":        {cmdVersion, "version", "print versions"},
		"daemon":         {cmdDaemon, "daemon [--resurrect]", "run the daemon in the foreground (what a service unit runs)"},
		"startup":        {cmdStartup, "startup [systemd|launchd|windows] [--user] [-u USER] [--service-name N] [--system] [--print]", "start the daemon at boot as an OS service (its saved list comes back)"},
		"conf":           {cmdConf, "conf [key]", "print gpm's settings (home, socket, dump, logs, timeout)"},
		"report":         {cmdReport, "report", "print a diagnostic bundle for a bug report: versions, settings, the daemon log's tail, the list"},
		"send":           {cmdSend, "send <id|name|namespace|/regexp/> <line>...", "write a line to the stdin of an app started with --stdin"},
		"attach":         {cmdAttach, "attach <id|name> [separator]", "print an app's logs and send it each line typed (the app must have been started with --stdin)"},
		"install":        {cmdInstall, "install <dir|file.tar.gz|executable|npm-package>", "install a module (an app of namespace modules; gpm set NAME:KEY VALUE configures it)"},
		"uninstall":      {cmdUninstall, "uninstall <module>", "delete a module: its processes, files and settings"},
		"module":         {cmdModule, "module ls", "list the installed modules"},
		"trigger":        {cmdTrigger, "trigger <id|name|namespace> <action> [arg]", "run an app's action and print each process's answer"},
		"export":         {cmdExport, "export systemd|kubernetes|nomad [app...|file] [--dir D] [--image I]", "write the apps as systemd units, Kubernetes manifests or a Nomad job (from the daemon's list, or a process file)"},
		"run":            {cmdRun, "run <file|script|binary>... [options] [--json] [--exit-on-error] [--no-auto-exit] [-- args]", "run apps in the foreground with the daemon in this process, their output on stdout/stderr (a container's PID 1, PM2's pm2-runtime)"},
		"unstartup":      {cmdUnstartup, "unstartup [systemd|launchd|windows] [--user] [-u USER] [--service-name N] [--system] [--print]", "remove the service that gpm startup installed"},
	}
}

var aliases = map[string]string{
	"ls": "list", "l": "list", "ps": "list", "status": "list", "del": "delete", "desc": "describe", "info": "describe",
	"show": "describe", "dump": "save", "init": "ecosystem", "reload-logs": "reloadLogs", "send-signal": "sendSignal",
	"--version": "version", "startOrGracefulReload": "startOrReload", "gracefulReload": "reload", "-v": "version", "-V": "version",
	"modules": "module",
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == activation.TrampolineArg {
		// The daemon starts socket workers through gpm itself, so they find LISTEN_PID equal to their own pid.
		err := activation.RunTrampoline(os.Args[2:])
		fmt.Fprintf(os.Stderr, "gpm: %v\n", err)
		os.Exit(127)
	}
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// exitStatus is an error that ends the command with this exit code (and prints nothing): gpm run's app codes.
type exitStatus int

func (e exitStatus) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// run executes one command line and returns the exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	// Options before the command: --system selects the system daemon (api.UseSystem): /run/gpm/gpm.sock,
	// /var/lib/gpm; --timeout D is how long to wait for the daemon's answer (GPM_TIMEOUT does the same).
	var timeout *time.Duration
	for len(args) > 0 {
		if args[0] == "--system" {
			args = args[1:]
			if err := api.UseSystem(); err != nil {
				fmt.Fprintf(stderr, "gpm: %v\n", err)
				return 1
			}
			continue
		}
		v, ok := strings.CutPrefix(args[0], "--timeout=")
		if args[0] == "--timeout" && len(args) > 1 {
			v, ok, args = args[1], true, args[1:]
		}
		if !ok {
			break
		}
		args = args[1:]
		d, err := client.ParseTimeout(v)
		if err != nil {
			fmt.Fprintf(stderr, "gpm: --timeout: %v\n", err)
			return 1
		}
		timeout = &d
	}
	if api.System() {
		if err := api.UseSystem(); err != nil { // GPM_SYSTEM=1 from the environment means the same
			fmt.Fprintf(stderr, "gpm: %v\n", err)
			return 1
		}
	}
	if len(args) == 0 {
		// As PM2: a bare `gpm` is a mistake in a script; the usage goes with the failure.
		usage(stderr)
		return 1
	}
	if args[0] == "help" || args[0] == "--help" || args[0] == "-h" {
		usage(stdout)
		return 0
	}
	if len(args) == 1 && (args[0] == "--version" || args[0] == "-v" || args[0] == "-V") {
		// As pm2 --version: this program's version alone, asked of no daemon (gpm version adds the daemon's), and
		// before anything else a command sets up.
		printVersion(stdout)
		return 0
	}
	name := args[0]
	if a, ok := aliases[name]; ok {
		name = a
	}
	cmd, ok := commands()[name]
	if !ok {
		if code, found := runPlugin(args[0], args[1:], stdin, stdout, stderr); found {
			return code
		}
		fmt.Fprintf(stderr, "gpm: unknown command %q (gpm help lists them; a plugin is an executable gpm-%s in PATH)\n", args[0], args[0])
		return 1
	}
	if err := handOff(name, args[1:]); err != nil {
		fmt.Fprintf(stderr, "gpm: %v\n", err)
		return 1
	}
	home, err := api.Home()
	if err != nil {
		fmt.Fprintf(stderr, "gpm: %v\n", err)
		return 1
	}
	cwd, err := os.Getwd()
	if err != nil {
		fmt.Fprintf(stderr, "gpm: %v\n", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	c := &cli{stdout: stdout, stderr: stderr, stdin: stdin, home: home, cwd: cwd, timeout: timeout}
	defer func() {
		if c.conn != nil {
			c.conn.Close()
		}
	}()
	if err := cmd.run(ctx, c, c.globalOptions(args[1:])); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return 0
		}
		var code exitStatus
		if errors.As(err, &code) { // gpm run: its app's exit code
			return int(code)
		}
		msg := err.Error()
		var ae *api.Error
		if errors.As(err, &ae) {
			msg = ae.Message
		}
		fmt.Fprintf(stderr, "gpm %s: %s\n", name, strings.TrimSpace(msg))
		return 1
	}
	if c.partial {
		return 1
	}
	return 0
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "gpm %s: a process manager for any language, with PM2's commands\n\nUsage: gpm [--system] [--timeout DURATION] <command> [options]\n\n", version)
	table := commands()
	names := make([]string, 0, len(table))
	for n := range table {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-15s %s\n", n, table[n].summary)
	}
	fmt.Fprintf(w, "\nGPM_HOME (default ~/.gpm) holds the daemon's socket, logs and dump. gpm <command> --help shows options.\n")
	fmt.Fprintf(w, "gpm --timeout DURATION <command> (or %s) is how long to wait for the daemon's answer (default %v, 0: for ever);\n"+
		"start, stop, restart, reload, scale, delete, resurrect and kill wait as long as the daemon answers a ping.\n", api.TimeoutEnv, client.DefaultTimeout)
	fmt.Fprintf(w, "gpm --system <command> talks to the system daemon (%s; root and group gpm).\n", api.SystemSocket)
}

// client returns a connection to the daemon, starting one when none answers.
func (c *cli) client(ctx context.Context) (*client.Client, error) {
	if c.conn != nil {
		return c.conn, nil
	}
	exe, err := daemonExe()
	if err != nil {
		return nil, err
	}
	if api.System() {
		// The system daemon is systemd's to start (gpm.socket starts it on this very connection); a CLI must not
		// start an unmanaged one as whoever runs it.
		conn, err := client.Dial(ctx, c.home)
		if errors.Is(err, client.ErrNotRunning) {
			return nil, fmt.Errorf("the system daemon is not running and gpm.socket is not listening on %s: "+
				"sudo systemctl enable --now gpm.socket (or sudo gpm --system startup)", api.SocketPath(c.home))
		}
		if err != nil {
			return nil, err
		}
		c.use(conn)
		return conn, nil
	}
	// The daemon Connect may start would hold whatever this CLI inherited without close-on-exec for as long as it
	// runs: a pipe of the tool that ran the CLI would never see its end. (Not in the client library: marking a
	// program's descriptors is its own business.)
	platform.CloseOnExecInherited()
	conn, started, err := client.Connect(ctx, c.home, exe)
	if err != nil {
		return nil, err
	}
	c.use(conn)
	if started {
		v, err := conn.Version(ctx)
		if err != nil {
			conn.Close()
			c.conn = nil
			return nil, err
		}
		fmt.Fprintf(c.stderr, "gpm: started daemon (pid %d, GPM_HOME %s)\n", v.PID, c.home)
	}
	return conn, nil
}

// use makes conn this invocation's connection, with --timeout applied.
func (c *cli) use(conn *client.Client) {
	if c.timeout != nil {
		conn.SetTimeout(*c.timeout)
	}
	c.conn = conn
}

// existing returns a connection only if a daemon already runs.
func (c *cli) existing(ctx context.Context) (*client.Client, error) {
	if c.conn != nil {
		return c.conn, nil
	}
	conn, err := client.Dial(ctx, c.home)
	if err != nil {
		return nil, err
	}
	c.use(conn)
	return conn, nil
}

// flags returns a flag set for a command; its usage goes to stdout on --help.
func (c *cli) flags(name string) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parse parses args; --help prints the command's usage and ends it with pflag.ErrHelp, a bad flag is a one-line
// error.
func (c *cli) parse(fs *pflag.FlagSet, args []string) error {
	err := fs.Parse(joinOptional(args, c.optional[fs]))
	if errors.Is(err, pflag.ErrHelp) {
		cmd := commands()[fs.Name()]
		fmt.Fprintf(c.stdout, "Usage: gpm %s\n\n%s\n\n", cmd.usage, cmd.summary)
		fs.SetOutput(c.stdout)
		fs.PrintDefaults()
		return err
	}
	if err != nil {
		return fmt.Errorf("%v (gpm %s --help lists the options)", err, fs.Name())
	}
	return nil
}
