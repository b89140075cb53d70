//go:build !gpmthin

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/gpmd/gpm/config"
	"github.com/gpmd/gpm/config/procfile"
	"github.com/gpmd/gpm/export"
)

// cmdExport is `gpm export systemd|kubernetes|nomad [APP...|FILE] [--dir D] [--image I]`. The apps come from the
// running daemon's list (jlist carries each app's whole configuration): all of them, or those named (a name, a
// namespace or an id, as other commands take). A process file given instead is read without a daemon, so that an
// export can be made where gpm does not run (a build, CI). The files go to stdout one after the other, each
// under a `# ==> NAME <==` line, or into --dir.
func cmdExport(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("export")
	dir := fs.String("dir", "", "write one file per unit or manifest into this directory instead of stdout")
	img := fs.String("image", "", "kubernetes, nomad: the container image (default NAME:latest; it must hold gpm and the app at its cwd)")
	only := fs.StringSlice("only", nil, "with a process file: only these apps")
	env := fs.String("env", "", "with a process file: use env_<name>")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("expected a format: %s", strings.Join(formats(), ", "))
	}
	render, ok := export.Formats[fs.Arg(0)]
	if !ok {
		return fmt.Errorf("unknown format %q: %s", fs.Arg(0), strings.Join(formats(), ", "))
	}
	targets := fs.Args()[1:]
	var apps []config.App
	if len(targets) == 1 && (targets[0] == "-" || config.IsProcessFile(targets[0])) {
		path := targets[0]
		if path != "-" {
			path = c.abs(path)
		}
		file, err := procfile.Load(path, procfile.LoadOptions{Env: *env, Only: *only, Stdin: c.stdin})
		if err != nil {
			return err
		}
		apps = file.Apps
	} else {
		conn, err := c.existing(ctx)
		if err != nil {
			return fmt.Errorf("%w (export reads the running daemon's apps, or a process file: gpm export %s ecosystem.json)", err, fs.Arg(0))
		}
		list, err := conn.List(ctx)
		if err != nil {
			return err
		}
		picked := list
		if len(targets) > 0 {
			picked = nil
			for _, t := range targets {
				ps := pick(list, t)
				if len(ps) == 0 {
					return fmt.Errorf("no app matches %q", t)
				}
				picked = append(picked, ps...)
			}
		}
		for _, p := range picked {
			apps = append(apps, p.Config) // export.Apps keeps one a name
		}
	}
	files, err := render(apps, export.Options{Image: *img})
	if err != nil {
		return err
	}
	if *dir == "" {
		for _, f := range files {
			fmt.Fprintf(c.stdout, "# ==> %s <==\n%s\n", f.Name, f.Data)
		}
		return nil
	}
	if err := os.MkdirAll(c.abs(*dir), 0o755); err != nil {
		return fmt.Errorf("--dir: %w", err)
	}
	for _, f := range files {
		p := filepath.Join(c.abs(*dir), f.Name)
		if err := writePrivate(p, f.Data); err != nil {
			return fmt.Errorf("write %s: %w", p, err)
		}
		fmt.Fprintln(c.stdout, p)
	}
	return nil
}

// writePrivate writes data to path with mode 0600, also when path exists with another mode: an exported file holds
// the app's environment (a process file's env and env_<name>: passwords, tokens), which is the caller's alone, as
// in the daemon's dump. os.WriteFile keeps an existing file's mode, so the mode is set before the data goes in.
func writePrivate(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func formats() []string {
	var out []string
	for f := range export.Formats {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}
