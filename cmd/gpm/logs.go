package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/gpmd/gpm/api"
)

func cmdLogs(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("logs")
	lines := fs.Int("lines", 15, "lines of each file to print first")
	noStream := fs.Bool("nostream", false, "print the last lines and exit")
	out := fs.Bool("out", false, "only stdout")
	errOnly := fs.Bool("err", false, "only stderr")
	asJSON := fs.Bool("json", false, "one JSON object per line")
	raw := fs.Bool("raw", false, "lines only, without the app prefix")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	conn, err := c.client(ctx)
	if err != nil {
		return err
	}
	p := api.LogsParams{Targets: fs.Args(), Lines: *lines, NoStream: *noStream, Out: *out, Err: *errOnly}
	enc := json.NewEncoder(c.stdout)
	err = conn.Logs(ctx, p, func(e api.Event) error {
		switch {
		case *asJSON:
			return enc.Encode(e)
		case e.Type == api.EventDropped:
			// On stderr: --raw output stays the app's lines only.
			_, err := fmt.Fprintf(c.stderr, "[gpm] %d lines dropped here: this reader fell behind the daemon (the log files have every line)\n", e.Dropped)
			return err
		case *raw:
			_, err := fmt.Fprintln(c.stdout, e.Line)
			return err
		}
		sep := "|"
		if e.Stream == "err" {
			sep = "!"
		}
		_, err := fmt.Fprintf(c.stdout, "%d|%s %s %s\n", e.ID, e.Name, sep, e.Line)
		return err
	})
	if ctx.Err() != nil {
		return nil // interrupted by the user: a normal end of `gpm logs`
	}
	return err
}
