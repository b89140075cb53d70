package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/spf13/pflag"

	"github.com/gpmd/gpm/activation/journal"
	"github.com/gpmd/gpm/api"
	"github.com/gpmd/gpm/client"
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
	printEvent := func(e api.Event) error {
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
	}
	// Apps with log_type journal have no files: their last lines come from journalctl, here (the daemon reaps
	// every child and cannot wait for one), and their new lines from the daemon like any other app's.
	if err := journalTails(ctx, conn, p, printEvent); err != nil {
		fmt.Fprintf(c.stderr, "gpm: %v\n", err)
	}
	err = conn.Logs(ctx, p, printEvent)
	if ctx.Err() != nil {
		return nil // interrupted by the user: a normal end of `gpm logs`
	}
	return err
}

// journalTails prints the last p.Lines entries of each process of the targets that logs to the journal.
func journalTails(ctx context.Context, conn *client.Client, p api.LogsParams, print func(api.Event) error) error {
	if p.Lines <= 0 {
		return nil
	}
	list, err := conn.List(ctx)
	if err != nil {
		return err
	}
	for _, proc := range list {
		if proc.Config.LogType != config.LogJournal || len(p.Targets) > 0 && !slices.ContainsFunc(p.Targets, func(t string) bool {
			return t == "all" || known([]api.Process{proc}, t)
		}) {
			continue
		}
		matches := []string{"SYSLOG_IDENTIFIER=" + proc.Name, "GPM_APP=" + proc.Name, "GPM_ID=" + strconv.Itoa(proc.ID)}
		var werr error
		err := journal.Read(ctx, matches, p.Lines, false, func(e journal.Entry) error {
			stream := "out"
			if e.Priority <= journal.PriErr {
				stream = "err"
			}
			if p.Out && stream == "err" || p.Err && stream == "out" {
				return nil
			}
			werr = print(api.Event{Type: api.EventLog, ID: proc.ID, Name: proc.Name, Stream: stream, Line: e.Message})
			return werr
		})
		if werr != nil {
			return werr
		}
		if err != nil {
			return fmt.Errorf("logs of %s from the journal: %w", proc.Name, err)
		}
	}
	return nil
}
