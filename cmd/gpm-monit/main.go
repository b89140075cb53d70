// Command gpm-monit is gpm's live console, what `gpm monit` runs (package console). It is a program of its own so
// that the console's terminal libraries cost nothing to the gpm binary: their package inits would otherwise run on
// every CLI call and in the daemon, and cost it 1.4 MB of memory.
//
// It talks to the daemon of GPM_HOME (GPM_SYSTEM=1: the system daemon; GPM_TIMEOUT: how long a call waits) and
// starts none: gpm monit has started it before handing over. Run on something that is not a terminal, or with
// TERM=dumb, it prints the table once, as gpm monit --once does.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gpmd/gpm/api"
	"github.com/gpmd/gpm/client"
	"github.com/gpmd/gpm/console"
	"github.com/gpmd/gpm/console/snapshot"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "gpm monit: %v\n", err)
		os.Exit(1)
	}
}

func run() error {
	if len(os.Args) > 1 {
		return fmt.Errorf("gpm-monit takes no arguments (gpm monit --once prints the table once)")
	}
	if api.System() {
		if err := api.UseSystem(); err != nil {
			return err
		}
	}
	home, err := api.Home()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	if !console.Interactive(os.Stdin, os.Stdout, os.Getenv("TERM")) {
		conn, err := client.Dial(ctx, home)
		if err != nil {
			return err
		}
		defer conn.Close()
		list, err := conn.List(ctx)
		if err != nil {
			return err
		}
		host, herr := snapshot.ReadHost()
		return snapshot.PrintTable(os.Stdout, host, herr, list, time.Now())
	}
	dial := func(ctx context.Context) (console.Conn, error) { return client.Dial(ctx, home) }
	return console.Run(ctx, console.Options{Dial: dial, In: os.Stdin, Out: os.Stdout})
}
