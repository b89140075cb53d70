//go:build !gpmthin

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"

	"github.com/gpmd/gpm/api"
	"github.com/gpmd/gpm/config"
	"github.com/gpmd/gpm/config/procfile"
)

// The commands' uses of the process-file parsers (package procfile: YAML, JSON5, node for .js files). The thin CLI
// (thin.go) has none: where a command reaches one of these, it runs the whole command in gpmd instead.

// parseFile reads a process file target with the --env and --only flags, and warns of what it ignores.
func (c *cli) parseFile(path string, f *startFlags) (*procfile.File, error) {
	opts := procfile.LoadOptions{Env: f.env, Only: f.only, Stdin: c.stdin}
	if path != "-" {
		path = c.abs(path)
	}
	file, err := procfile.Load(path, opts)
	if err != nil {
		return nil, err
	}
	for _, w := range file.Warnings {
		fmt.Fprintf(c.stderr, "gpm: warning: %s\n", w)
	}
	// A process file says everything about its apps; of the options, only these act on it.
	var ignored []string
	f.fs.Visit(func(fl *pflag.Flag) {
		switch fl.Name {
		case "env", "only", "update-env", "force", "parallel":
		default:
			ignored = append(ignored, "--"+fl.Name)
		}
	})
	if len(ignored) > 0 {
		fmt.Fprintf(c.stderr, "gpm: warning: %s: %s apply to scripts, not to process files (set them in the file)\n",
			path, strings.Join(ignored, ", "))
	}
	return file, nil
}

// loadFile is the apps of a process file target (parseFile).
func (c *cli) loadFile(path string, f *startFlags) ([]config.App, error) {
	file, err := c.parseFile(path, f)
	if err != nil {
		return nil, err
	}
	return file.Apps, nil
}

// loadRunnable is loadFile for commands that start the file's apps: a missing script, cwd or interpreter is an
// error naming the file and line (the daemon, which checks again, knows neither). As with PM2, the other apps of
// the file still start: the error is printed and the command exits 1 at its end (c.partial); when no app is left
// it is the command's error.
func (c *cli) loadRunnable(path string, f *startFlags) ([]config.App, error) {
	file, err := c.parseFile(path, f)
	if err != nil {
		return nil, err
	}
	if err := file.DropUnrunnable(os.Getenv("PATH")); err != nil {
		if len(file.Apps) == 0 {
			return nil, err
		}
		fmt.Fprintf(c.stderr, "gpm: %s\n", strings.ReplaceAll(err.Error(), "\n", "\ngpm: "))
		c.partial = true
	}
	return file.Apps, nil
}

func cmdImport(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("import")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() < 1 || fs.Arg(0) != "pm2" {
		return fmt.Errorf("expected: gpm import pm2 [path to dump.pm2]")
	}
	path := fs.Arg(1)
	if path == "" {
		home := os.Getenv("PM2_HOME")
		if home == "" {
			h, err := os.UserHomeDir()
			if err != nil {
				return err
			}
			home = filepath.Join(h, ".pm2")
		}
		path = filepath.Join(home, "dump.pm2")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	imported, err := procfile.ImportPM2(data)
	if err != nil {
		return fmt.Errorf("import %s: %w", path, err)
	}
	p := api.StartParams{CallerEnv: envNow(), OnlyNew: true}
	for _, im := range imported {
		p.Apps = append(p.Apps, api.StartApp{App: im.App, Stopped: im.Stopped, InstanceNumbers: im.Instances})
	}
	conn, err := c.client(ctx)
	if err != nil {
		return err
	}
	out, err := c.start(ctx, conn, p)
	for _, pr := range out {
		fmt.Fprintf(c.stdout, "[gpm] imported %s (id %d) %s\n", pr.Name, pr.ID, pr.Status)
	}
	if err != nil {
		return err
	}
	return c.showList(ctx)
}
