package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/pflag"

	"github.com/gpmd/gpm/api"
	"github.com/gpmd/gpm/client"
	"github.com/gpmd/gpm/config"
)

// actionFlags are the start-family flags that say how to act, not how the app is configured.
var actionFlags = map[string]bool{
	"update-env": true, "env": true, "only": true, "parallel": true, "force": true, "attach": true,
	"no-daemon": true, "ext": true, "filter-env": true,
	"execute-command": true,
}

// configFlags returns the flags given that change an app's configuration ("--name", ...).
func (f *startFlags) configFlags() []string {
	var out []string
	f.fs.Visit(func(fl *pflag.Flag) {
		if !actionFlags[fl.Name] {
			out = append(out, "--"+fl.Name)
		}
	})
	return out
}

// notices says, once per command, which PM2 options were accepted without an effect, and why.
func (f *startFlags) notices(w io.Writer) {
	if f.fs.Changed("ext") {
		fmt.Fprintln(w, "gpm: --ext ignored: gpm watches every file under the watched paths; leave some out with --ignore-watch")
	}
}

// callerEnv is the environment this CLI passes to the apps it starts, without what --filter-env leaves out:
// every variable but PATH when it has no value (PM2's filter_env: true; without PATH no command would be found),
// else those starting with one of its prefixes.
func (f *startFlags) callerEnv() map[string]string {
	env := envNow()
	if !f.fs.Changed("filter-env") {
		return env
	}
	if f.filterEnv == "true" {
		return map[string]string{"PATH": env["PATH"]}
	}
	for _, prefix := range strings.Split(f.filterEnv, ",") {
		if prefix = strings.TrimSpace(prefix); prefix == "" {
			continue
		}
		for k := range env {
			if strings.HasPrefix(k, prefix) {
				delete(env, k)
			}
		}
	}
	return env
}

// reconfigured returns the apps that targets select, as the daemon runs them, with the options given applied:
// what `gpm restart api --max-memory-restart 300M` (PM2 applies such options) sends back as their new
// configuration. An option gpm cannot apply to a running app is an error, never ignored.
func (c *cli) reconfigured(ctx context.Context, conn *client.Client, f *startFlags, targets []string) ([]config.App, error) {
	list, err := conn.List(ctx)
	if err != nil {
		return nil, err
	}
	sel, err := api.Select(targets, list, processKey)
	if err != nil {
		return nil, err
	}
	if f.fs.Changed("name") && slices.ContainsFunc(sel, func(p api.Process) bool { return p.Name != f.name }) {
		return nil, fmt.Errorf("--name: gpm does not rename an app in place (its logs, pid files and ids follow the name): gpm delete it, then gpm start it with --name")
	}
	var apps []config.App
	seen := map[string]bool{}
	for _, p := range sel {
		if seen[p.Name] {
			continue
		}
		seen[p.Name] = true
		a := p.Config
		if err := f.apply(&a); err != nil {
			return nil, fmt.Errorf("%s: %w", a.Name, err)
		}
		c.resolvePaths(f, &a)
		if err := a.Validate(); err != nil {
			return nil, fmt.Errorf("%s: %w", a.Name, err)
		}
		apps = append(apps, a)
	}
	return apps, nil
}

// resolvePaths makes the paths that the flags set absolute as config.App.Normalize would: cwd against this shell's
// directory, log and pid files against the app's cwd. An interpreter "none" means none.
func (c *cli) resolvePaths(f *startFlags, a *config.App) {
	if f.fs.Changed("cwd") {
		a.Cwd = c.abs(a.Cwd)
	}
	for flag, p := range map[string]*string{"output": &a.OutFile, "error": &a.ErrorFile, "log": &a.LogFile, "pid": &a.PidFile} {
		v := *p
		if !f.fs.Changed(flag) || v == "" || v == config.NullLog || v == os.DevNull || v == config.DefaultLog || filepath.IsAbs(v) {
			continue
		}
		*p = filepath.Join(a.Cwd, v)
	}
	if a.Interpreter == "none" {
		a.Interpreter = ""
	}
}

// restartWith restarts the apps targets select with the options given applied (a smart start of their new
// configuration); without --update-env they keep the environment they had.
func (c *cli) restartWith(ctx context.Context, conn *client.Client, f *startFlags, targets []string) ([]api.Process, error) {
	apps, err := c.reconfigured(ctx, conn, f, targets)
	if err != nil {
		return nil, err
	}
	p := api.StartParams{CallerEnv: f.callerEnv(), KeepCallerEnv: !f.updateEnv}
	for _, a := range apps {
		p.Apps = append(p.Apps, api.StartApp{App: a})
	}
	return c.start(ctx, conn, p)
}

// reloadWith is restartWith for reload: the new configuration, then a reload worker by worker.
func (c *cli) reloadWith(ctx context.Context, conn *client.Client, f *startFlags, targets []string) ([]api.Process, error) {
	apps, err := c.reconfigured(ctx, conn, f, targets)
	if err != nil {
		return nil, err
	}
	p := api.ReloadParams{Apps: apps, Parallel: f.parallel, UpdateEnv: f.updateEnv, CallerEnv: f.callerEnv()}
	var out []api.Process
	err = conn.Call(ctx, api.MethodReload, p, &out)
	return out, err
}
