package main

import (
	"bufio"
	"context"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/gpmd/gpm/api"
)

// withoutModules leaves out the modules' processes: `gpm ls` shows them only with --all, as PM2 shows its modules
// apart from the apps.
func withoutModules(list []row) []row {
	out := list[:0:0]
	for _, p := range list {
		if p.Namespace != api.ModuleNamespace {
			out = append(out, p)
		}
	}
	return out
}

func cmdUninstall(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("uninstall")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("expected one module name (gpm module ls lists them)")
	}
	conn, err := c.client(ctx)
	if err != nil {
		return err
	}
	if err := conn.ModuleUninstall(ctx, fs.Arg(0)); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "[gpm] module %s uninstalled\n", fs.Arg(0))
	return nil
}

func cmdModule(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("module")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 1 || (fs.NArg() == 1 && fs.Arg(0) != "ls" && fs.Arg(0) != "list") {
		return fmt.Errorf("expected: gpm module ls")
	}
	return c.printModules(ctx)
}

// printModules prints the installed modules: name, version, and per process its id, status, pid and restarts.
func (c *cli) printModules(ctx context.Context) error {
	conn, err := c.client(ctx)
	if err != nil {
		return err
	}
	mods, err := conn.Modules(ctx)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(c.stdout)
	defer bw.Flush()
	tw := tabwriter.NewWriter(bw, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "module\tversion\tid\tpid\t↺\tstatus")
	for _, m := range mods {
		if m.Error != "" {
			fmt.Fprintf(tw, "%s\t%s\t-\t-\t-\terror: %s\n", m.Name, m.Version, m.Error)
			continue
		}
		if len(m.Processes) == 0 {
			fmt.Fprintf(tw, "%s\t%s\t-\t-\t-\tnot registered (gpm install again)\n", m.Name, m.Version)
		}
		for _, p := range m.Processes {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\n", m.Name, m.Version, p.ID, p.PID, p.Restarts, p.Status)
		}
	}
	return tw.Flush()
}

// cmdTrigger runs an action on the target's processes: one process's answer is printed as it is; several are
// each headed by NAME[ID]. A process that failed makes the command exit 1.
func cmdTrigger(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("trigger")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() < 2 || fs.NArg() > 3 {
		return fmt.Errorf("expected an app, an action and an optional argument: gpm trigger api dump [arg]")
	}
	conn, err := c.client(ctx)
	if err != nil {
		return err
	}
	res, err := conn.Trigger(ctx, fs.Arg(1), fs.Arg(2), fs.Arg(0))
	if err != nil {
		return err
	}
	for _, r := range res {
		if len(res) > 1 {
			fmt.Fprintf(c.stdout, "--- %s[%s]\n", r.Name, strconv.Itoa(r.ID))
		}
		if r.Output != "" {
			fmt.Fprint(c.stdout, r.Output)
			if !strings.HasSuffix(r.Output, "\n") {
				fmt.Fprintln(c.stdout)
			}
		}
		if r.Error != "" {
			fmt.Fprintf(c.stderr, "gpm trigger: %s[%d]: %s\n", r.Name, r.ID, r.Error)
			c.partial = true
		}
	}
	return nil
}
