package main

import (
	"context"
	"os"
	"time"

	"github.com/gpmd/gpm/api"
	"github.com/gpmd/gpm/client"
	"github.com/gpmd/gpm/console"
)

// cmdMonit runs the live console (package console), or prints its table once with --once, when TERM is dumb, or
// when stdin or stdout is not a terminal.
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
	if *once || c.stdout != os.Stdout || !console.Interactive(os.Stdin, os.Stdout, os.Getenv("TERM")) {
		var list []api.Process
		if err := conn.Call(ctx, api.MethodList, nil, &list); err != nil {
			return err
		}
		host, herr := console.ReadHost()
		return console.PrintTable(c.stdout, host, herr, list, time.Now())
	}
	// The first connection is the one just made (it may have started the daemon); after a loss the console dials
	// again without starting one: a daemon stopped with gpm kill stays stopped, and the console waits for the next.
	first := conn
	dial := func(ctx context.Context) (console.Conn, error) {
		if first != nil {
			cc := first
			first, c.conn = nil, nil // the console closes it when its stream ends
			return cc, nil
		}
		cc, err := client.Dial(ctx, c.home)
		if err != nil {
			return nil, err
		}
		if c.timeout != nil {
			cc.SetTimeout(*c.timeout)
		}
		return cc, nil
	}
	return console.Run(ctx, console.Options{Dial: dial, In: os.Stdin, Out: os.Stdout})
}
