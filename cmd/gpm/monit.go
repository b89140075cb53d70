package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/gpmd/gpm/api"
	"github.com/gpmd/gpm/console/snapshot"
)

// monitName is the console's program (cmd/gpm-monit), installed beside gpm or in ../libexec/gpm from it.
const monitName = "gpm-monit"

// cmdMonit runs the live console, or prints its table once with --once, when TERM is dumb, or when stdin or
// stdout is not a terminal. The console is a program of its own (gpm-monit): its terminal libraries would
// otherwise be linked into gpm, whose every call and whose daemon would run their package inits (1.4 MB more
// daemon memory). gpm starts the daemon when none runs, then hands the terminal over.
func cmdMonit(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("monit")
	once := fs.Bool("once", false, "print the table once (host line, apps, cpu, memory) and exit: for scripts and dumb terminals")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	conn, err := c.client(ctx)
	if err != nil {
		return err
	}
	if *once || c.stdout != os.Stdout || !isTerminal(os.Stdin) || !isTerminal(os.Stdout) || os.Getenv("TERM") == "dumb" {
		var list []api.Process
		if err := conn.Call(ctx, api.MethodList, nil, &list); err != nil {
			return err
		}
		host, herr := snapshot.ReadHost()
		return snapshot.PrintTable(c.stdout, host, herr, list, time.Now())
	}
	bin, err := monitPath()
	if err != nil {
		return err
	}
	conn.Close()
	c.conn = nil
	env := append(os.Environ(), api.HomeEnv+"="+c.home)
	if c.timeout != nil {
		env = append(env, api.TimeoutEnv+"="+c.timeout.String())
	}
	return runMonit(bin, env)
}

// monitPath finds gpm-monit (programPath).
func monitPath() (string, error) {
	p, tried := programPath(monitName)
	if p == "" {
		return "", fmt.Errorf("the console is a program of its own, %s, and it is not installed (looked at %v and in PATH): "+
			"make build puts it beside gpm; gpm monit --once prints the table without it", monitName, tried)
	}
	return p, nil
}

// isTerminal says whether f is a character device: a pipe or a file is not. /dev/null is one too; gpm-monit's
// own check (a terminal's ioctl) catches it and prints the table once.
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
