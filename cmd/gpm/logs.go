package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/spf13/pflag"

	"github.com/gpmd/gpm/api"
	"github.com/gpmd/gpm/config"
)

// defaultStamp is PM2's format of `logs --timestamp` without a value.
const defaultStamp = "YYYY-MM-DD-HH:mm:ss"

// isDateFormat says whether word is a moment.js date format rather than a target: `logs --timestamp HH:mm api`
// and `logs --timestamp api` both work. A format has a date or time token and no letter that is not one.
func isDateFormat(word string) bool {
	for _, r := range word {
		if unicode.IsLetter(r) && !strings.ContainsRune("YMDHhmsSAaZ", r) {
			return false
		}
	}
	return strings.ContainsAny(word, "YMDHhms")
}

func cmdLogs(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("logs")
	lines := fs.Int("lines", 15, "lines of each file to print first")
	noStream := fs.Bool("nostream", false, "print the last lines and exit")
	out := fs.Bool("out", false, "only stdout")
	errOnly := fs.Bool("err", false, "only stderr")
	asJSON := fs.Bool("json", false, "one JSON object per line")
	raw := fs.Bool("raw", false, "lines only, without the app prefix")
	stamp := fs.String("timestamp", "", "prefix each line with the time it was received (moment.js format, default "+defaultStamp+")")
	fs.Lookup("timestamp").NoOptDefVal = defaultStamp
	c.optional = map[*pflag.FlagSet][]optionalValue{fs: {{long: "timestamp", takes: isDateFormat}}}
	if err := c.parse(fs, args); err != nil {
		return err
	}
	conn, err := c.client(ctx)
	if err != nil {
		return err
	}
	p := api.LogsParams{Targets: fs.Args(), Lines: *lines, NoStream: *noStream, Out: *out, Err: *errOnly}
	enc := json.NewEncoder(c.stdout)
	layout := config.GoTimeLayout(*stamp)
	prefix := func(e api.Event) string {
		if *stamp == "" {
			return ""
		}
		t := e.Time
		if t.IsZero() {
			t = time.Now() // a line read back from a file: when it is shown, as PM2 does
		}
		return t.Format(layout) + " "
	}
	err = conn.Logs(ctx, p, func(e api.Event) error {
		switch {
		case *asJSON:
			return enc.Encode(e)
		case e.Type == api.EventDropped:
			// On stderr: --raw output stays the app's lines only.
			_, err := fmt.Fprintf(c.stderr, "[gpm] %d lines dropped here: this reader fell behind the daemon (the log files have every line)\n", e.Dropped)
			return err
		case *raw:
			_, err := fmt.Fprintln(c.stdout, prefix(e)+e.Line)
			return err
		}
		sep := "|"
		if e.Stream == "err" {
			sep = "!"
		}
		_, err := fmt.Fprintf(c.stdout, "%s%d|%s %s %s\n", prefix(e), e.ID, e.Name, sep, e.Line)
		return err
	})
	if ctx.Err() != nil {
		return nil // interrupted by the user: a normal end of `gpm logs`
	}
	return err
}
