package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/gpmd/gpm/api"
	"github.com/gpmd/gpm/client"
	"github.com/gpmd/gpm/config"
)

// expandTargets turns process-file targets into the names of their apps.
func (c *cli) expandTargets(targets []string, f *startFlags) ([]string, error) {
	var out []string
	for _, t := range targets {
		if t == "-" || config.IsProcessFile(t) {
			fileApps, err := c.loadFile(t, f)
			if err != nil {
				return nil, err
			}
			for _, a := range fileApps {
				out = append(out, a.Name)
			}
			continue
		}
		out = append(out, c.target(t))
	}
	return out, nil
}

// target is t as the daemon must see it: a relative path to an existing file becomes absolute (the daemon matches
// scripts by their absolute path or file name, api.Select); anything else is left alone.
func (c *cli) target(t string) string {
	if filepath.IsAbs(t) || !strings.Contains(t, "/") || strings.HasPrefix(t, "/") && strings.HasSuffix(t, "/") {
		return t
	}
	if _, err := os.Stat(c.abs(t)); err == nil {
		return c.abs(t)
	}
	return t
}

// cmdTargets builds stop, delete and reset: a method applied to targets.
func cmdTargets(method string) func(context.Context, *cli, []string) error {
	return func(ctx context.Context, c *cli, args []string) error {
		f := newStartFlags(c, method)
		if err := c.parse(f.fs, args); err != nil {
			return err
		}
		if f.fs.NArg() == 0 {
			return fmt.Errorf("no target given: name an id, a name, a namespace, all, or a process file")
		}
		// --watch on stop is PM2's "stop watching": gpm never watches a stopped app. Other options change an
		// app's configuration, which stop and delete do not.
		if opts := slices.DeleteFunc(f.configFlags(), func(s string) bool { return s == "--watch" }); len(opts) > 0 {
			return fmt.Errorf("%s: options of an app's configuration; %s does not apply them (gpm restart NAME %s does)",
				strings.Join(opts, ", "), method, strings.Join(opts, " "))
		}
		f.notices(c.stderr)
		targets, err := c.expandTargets(f.fs.Args(), f)
		if err != nil {
			return err
		}
		conn, err := c.client(ctx)
		if err != nil {
			return err
		}
		var out []api.Process
		if err := conn.Call(ctx, method, api.Targets{Targets: targets}, &out); err != nil {
			return err
		}
		c.report(out, false)
		return c.showList(ctx)
	}
}

// splitFiles applies onFile to each process-file target and returns the other targets.
func (c *cli) splitFiles(ctx context.Context, f *startFlags, onFile func(context.Context, *startFlags, string) error) ([]string, error) {
	if f.fs.NArg() == 0 {
		return nil, fmt.Errorf("no target given: name an id, a name, a namespace, all, or a process file")
	}
	var names []string
	for _, t := range f.fs.Args() {
		if t == "-" || config.IsProcessFile(t) {
			if err := onFile(ctx, f, t); err != nil {
				return nil, err
			}
			continue
		}
		names = append(names, c.target(t))
	}
	if f.env != "" && len(names) > 0 {
		// env_<name> blocks live in the process file; the daemon keeps only the environment they produced.
		fmt.Fprintf(c.stderr, "gpm: --env %s applies to process files: %s keep the environment they have (give their file to apply env_%s)\n",
			f.env, strings.Join(names, ", "), f.env)
	}
	return names, nil
}

func cmdRestart(ctx context.Context, c *cli, args []string) error {
	f := newStartFlags(c, "restart")
	if err := c.parse(f.fs, args); err != nil {
		return err
	}
	f.notices(c.stderr)
	// Restarting a file applies its configuration and starts what is missing.
	names, err := c.splitFiles(ctx, f, c.startFile)
	if err != nil || len(names) == 0 {
		return err
	}
	conn, err := c.client(ctx)
	if err != nil {
		return err
	}
	var out []api.Process
	if len(f.configFlags()) > 0 {
		out, err = c.restartWith(ctx, conn, f, names)
	} else {
		out, err = conn.Restart(ctx, f.updateEnv, names...)
	}
	c.report(out, false)
	if err != nil {
		return err
	}
	return c.showList(ctx)
}

func cmdScale(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("scale")
	fs.SetInterspersed(false) // "-2" is a count, not a flag
	if err := c.parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return fmt.Errorf("expected an app name and a count: N, +N or -N")
	}
	s := fs.Arg(1)
	n, err := strconv.Atoi(s)
	if err != nil {
		return fmt.Errorf("count %q: expected N, +N or -N", s)
	}
	relative := strings.HasPrefix(s, "+") || strings.HasPrefix(s, "-")
	sp := api.ScaleParams{Name: fs.Arg(0), Count: n, Relative: relative}
	if err := sp.Validate(); err != nil {
		return err
	}
	conn, err := c.client(ctx)
	if err != nil {
		return err
	}
	if _, err := conn.Scale(ctx, sp.Name, sp.Count, sp.Relative); err != nil {
		return err
	}
	return c.showList(ctx)
}

func cmdLogsFlush(ctx context.Context, c *cli, method string, args []string) error {
	fs := c.flags(method)
	if err := c.parse(fs, args); err != nil {
		return err
	}
	conn, err := c.client(ctx)
	if err != nil {
		return err
	}
	if method == "reloadLogs" {
		if err := conn.ReloadLogs(ctx); err != nil {
			return err
		}
		fmt.Fprintln(c.stdout, "[gpm] log files reopened")
		return nil
	}
	paths, err := conn.Flush(ctx, fs.Args()...)
	if err != nil {
		return err
	}
	for _, p := range paths {
		fmt.Fprintf(c.stdout, "[gpm] flushed %s\n", p)
	}
	return nil
}

func cmdFlush(ctx context.Context, c *cli, args []string) error {
	return cmdLogsFlush(ctx, c, "flush", args)
}

func cmdReloadLogs(ctx context.Context, c *cli, args []string) error {
	return cmdLogsFlush(ctx, c, "reloadLogs", args)
}

func cmdSendSignal(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("sendSignal")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() < 2 {
		return fmt.Errorf("expected a signal and at least one target")
	}
	conn, err := c.client(ctx)
	if err != nil {
		return err
	}
	out, err := conn.Signal(ctx, fs.Arg(0), fs.Args()[1:]...)
	if err != nil {
		return err
	}
	for _, p := range out {
		fmt.Fprintf(c.stdout, "[gpm] sent %s to %s (id %d, pid %d)\n", config.SignalName(fs.Arg(0)), p.Name, p.ID, p.PID)
	}
	return nil
}

func cmdSave(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("save")
	force := fs.BoolP("force", "f", false, "save even an empty list")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	conn, err := c.client(ctx)
	if err != nil {
		return err
	}
	return c.save(ctx, conn, *force)
}

// save saves the daemon's list and says where.
func (c *cli) save(ctx context.Context, conn *client.Client, force bool) error {
	res, err := conn.Save(ctx, force)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "[gpm] saved %d app(s), %d process(es) to %s\n", res.Apps, res.Procs, res.Path)
	return nil
}

func cmdResurrect(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("resurrect")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	conn, err := c.client(ctx)
	if err != nil {
		return err
	}
	res, err := conn.Resurrect(ctx)
	if err != nil {
		return err
	}
	if res.Warning != "" {
		fmt.Fprintf(c.stderr, "gpm: warning: %s\n", res.Warning)
	}
	fmt.Fprintf(c.stdout, "[gpm] resurrected from %s: %d started, %d kept stopped, %d already present\n",
		res.Source, len(res.Started), len(res.Stopped), len(res.Skipped))
	for _, s := range res.Started {
		fmt.Fprintf(c.stdout, "  started  %s\n", s)
	}
	for _, s := range res.Stopped {
		fmt.Fprintf(c.stdout, "  stopped  %s\n", s)
	}
	for _, s := range res.Skipped {
		fmt.Fprintf(c.stdout, "  skipped  %s (already present)\n", s)
	}
	return c.showList(ctx)
}

func cmdClearDump(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("cleardump")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	conn, err := c.client(ctx)
	if err != nil {
		return err
	}
	if err := conn.ClearDump(ctx); err != nil {
		return err
	}
	fmt.Fprintln(c.stdout, "[gpm] saved list emptied")
	return nil
}

func cmdPing(ctx context.Context, c *cli, args []string) error {
	conn, err := c.client(ctx)
	if err != nil {
		return err
	}
	if err := conn.Ping(ctx); err != nil {
		return err
	}
	fmt.Fprintln(c.stdout, `{"msg":"pong"}`)
	return nil
}

func cmdKill(ctx context.Context, c *cli, args []string) error {
	conn, err := c.existing(ctx)
	if errors.Is(err, client.ErrNotRunning) {
		fmt.Fprintln(c.stdout, "[gpm] no daemon running")
		return nil
	}
	if err != nil {
		return err
	}
	if err := conn.Kill(ctx); err != nil {
		return err
	}
	fmt.Fprintln(c.stdout, "[gpm] every app stopped, daemon exited")
	return nil
}

// cmdUpdate is PM2's update: the saved list is brought up to date, the daemon stops every app and exits, and a
// daemon started from this binary resurrects them. A daemon that a service manager runs is its to restart.
func cmdUpdate(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("update")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	conn, err := c.existing(ctx)
	if errors.Is(err, client.ErrNotRunning) {
		fmt.Fprintln(c.stdout, "[gpm] no daemon running: the next command starts one from this binary")
		return nil
	}
	if err != nil {
		return err
	}
	v, err := conn.Version(ctx)
	if err != nil {
		return err
	}
	if v.Supervised {
		return fmt.Errorf("the daemon (pid %d) runs under a service manager: gpm save, then restart its service (the one gpm startup installed, e.g. systemctl restart gpm-USER); it resurrects the saved list", v.PID)
	}
	if err := c.save(ctx, conn, true); err != nil {
		return err
	}
	if err := conn.Kill(ctx); err != nil {
		return err
	}
	conn.Close()
	c.conn = nil
	fmt.Fprintf(c.stdout, "[gpm] daemon %s (pid %d) stopped; starting gpm %s\n", v.Version, v.PID, version)
	return cmdResurrect(ctx, c, nil)
}

// printVersion prints this program's version line.
func printVersion(w io.Writer) { fmt.Fprintf(w, "gpm %s (protocol %d)\n", version, api.Version) }

func cmdVersion(ctx context.Context, c *cli, args []string) error {
	printVersion(c.stdout)
	if conn, err := c.existing(ctx); err == nil {
		if v, err := conn.Version(ctx); err == nil {
			fmt.Fprintf(c.stdout, "daemon %s (protocol %d, pid %d, home %s)\n", v.Version, v.Protocol, v.PID, v.Home)
		}
	}
	return nil
}

func cmdReload(ctx context.Context, c *cli, args []string) error {
	f := newStartFlags(c, "reload")
	if err := c.parse(f.fs, args); err != nil {
		return err
	}
	f.notices(c.stderr)
	names, err := c.splitFiles(ctx, f, c.reloadFile)
	if err != nil || len(names) == 0 {
		return err
	}
	return c.reload(ctx, f, names)
}

func (c *cli) reload(ctx context.Context, f *startFlags, names []string) error {
	conn, err := c.client(ctx)
	if err != nil {
		return err
	}
	var out []api.Process
	if len(f.configFlags()) > 0 {
		out, err = c.reloadWith(ctx, conn, f, names)
	} else {
		out, err = conn.Reload(ctx, f.parallel, f.updateEnv, names...)
	}
	c.report(out, true)
	if err != nil {
		return err
	}
	return c.showList(ctx)
}

// reloadFile applies a process file with no downtime: running apps take the file's configuration and are
// reloaded worker by worker, missing apps are started.
func (c *cli) reloadFile(ctx context.Context, f *startFlags, path string) error {
	fileApps, err := c.loadRunnable(path, f)
	if err != nil {
		return err
	}
	conn, err := c.client(ctx)
	if err != nil {
		return err
	}
	p := api.ReloadParams{Apps: fileApps, Parallel: f.parallel, UpdateEnv: f.updateEnv, CallerEnv: f.callerEnv()}
	var out []api.Process
	err = conn.Call(ctx, api.MethodReload, p, &out)
	c.report(out, true)
	if err != nil {
		return err
	}
	return c.showList(ctx)
}

func cmdStartOrReload(ctx context.Context, c *cli, args []string) error {
	return c.fileCommand(ctx, "startOrReload", args, c.reloadFile)
}
