package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/gpmd/gpm/api"
	"github.com/gpmd/gpm/client"
)

// Limits of `gpm report`: the daemon log's tail it includes.
const (
	reportLogLines = 100      // lines of gpm.log
	reportLogBytes = 64 << 10 // read from the end of gpm.log at most, so a huge log costs nothing
)

// settings are gpm's effective settings, as `gpm conf` prints them: each a key and its value.
func (c *cli) settings() [][2]string {
	timeout := client.DefaultTimeout.String()
	if v := os.Getenv(api.TimeoutEnv); v != "" {
		timeout = v + " (" + api.TimeoutEnv + ")"
	}
	if c.timeout != nil {
		timeout = c.timeout.String() + " (--timeout)"
	}
	return [][2]string{
		{"home", c.home},
		{"socket", api.SocketPath(c.home)},
		{"dump", filepath.Join(c.home, api.DumpName)},
		{"logs", filepath.Join(c.home, api.LogsDir)},
		{"pids", filepath.Join(c.home, api.PidsDir)},
		{"daemon_log", filepath.Join(c.home, api.DaemonLog)},
		{"system", fmt.Sprint(api.System())},
		{"timeout", timeout},
		{"version", version},
	}
}

// cmdConf is PM2's `conf [key]`: it prints gpm's settings. gpm has no settings file to write: its own settings come
// from the environment (GPM_HOME, GPM_TIMEOUT, GPM_SYSTEM), an app's from its process file or options.
func cmdConf(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("conf")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	set := c.settings()
	switch fs.NArg() {
	case 0:
		for _, kv := range set {
			fmt.Fprintf(c.stdout, "%s: %s\n", kv[0], kv[1])
		}
		return nil
	case 1:
		for _, kv := range set {
			if kv[0] == fs.Arg(0) {
				fmt.Fprintln(c.stdout, kv[1])
				return nil
			}
		}
		return fmt.Errorf("unknown setting %q (gpm conf lists them)", fs.Arg(0))
	}
	return fmt.Errorf("gpm conf only reads: gpm's settings come from the environment (%s, %s, %s), an app's from its process file or start options",
		api.HomeEnv, api.TimeoutEnv, api.SystemEnv)
}

// cmdReport prints PM2's `report`: what a bug report needs, in one paste. It does not start a daemon.
func cmdReport(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("report")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	w := c.stdout
	fmt.Fprintf(w, "--- gpm report, %s ---\n", time.Now().UTC().Format(time.RFC3339))
	fmt.Fprintf(w, "gpm %s (protocol %d), %s, %s/%s\n", version, api.Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	conn, err := c.existing(ctx)
	if err == nil {
		var v api.VersionInfo
		if v, err = conn.Version(ctx); err == nil {
			fmt.Fprintf(w, "daemon %s (protocol %d), pid %d, supervised %v\n", v.Version, v.Protocol, v.PID, v.Supervised)
		}
	}
	if err != nil {
		fmt.Fprintf(w, "daemon: %v\n", err)
	}
	fmt.Fprintln(w, "\n--- settings (gpm conf) ---")
	for _, kv := range c.settings() {
		fmt.Fprintf(w, "%s: %s\n", kv[0], kv[1])
	}
	logPath := filepath.Join(c.home, api.DaemonLog)
	fmt.Fprintf(w, "\n--- daemon log %s, last %d lines ---\n", logPath, reportLogLines)
	if tail, err := tailFile(logPath, reportLogLines, reportLogBytes); err != nil {
		fmt.Fprintf(w, "(%v)\n", err)
	} else {
		w.Write(tail)
	}
	fmt.Fprintln(w, "\n--- processes (gpm ls) ---")
	if conn == nil {
		fmt.Fprintln(w, "(no daemon)")
		return nil
	}
	return c.showList(ctx)
}

// tailFile returns the last n lines of path, reading at most max bytes from its end.
func tailFile(path string, n int, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	off := st.Size() - max
	if off < 0 {
		off = 0
	}
	b, err := io.ReadAll(io.NewSectionReader(f, off, st.Size()-off))
	if err != nil {
		return nil, err
	}
	lines := bytes.SplitAfter(b, []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	out := bytes.Join(lines, nil)
	if len(out) > 0 && !strings.HasSuffix(string(out), "\n") {
		out = append(out, '\n')
	}
	return out, nil
}

// cmdSend is PM2's `send <id> <line>`: the words after the target, joined by spaces, as one line.
func cmdSend(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("send")
	fs.SetInterspersed(false) // the line may start with "-"
	if err := c.parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() < 2 {
		return fmt.Errorf("expected a target and a line")
	}
	conn, err := c.client(ctx)
	if err != nil {
		return err
	}
	out, err := conn.Send(ctx, strings.Join(fs.Args()[1:], " "), fs.Arg(0))
	for _, p := range out {
		fmt.Fprintf(c.stdout, "[gpm] sent to %s (id %d)\n", p.Name, p.ID)
	}
	return err
}

// cmdAttach is PM2's `attach <id> [separator]`: the app's live logs on stdout, and each line read from stdin sent
// to the app (with the separator, if given, in place of the newline), until stdin ends or the user interrupts.
func cmdAttach(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("attach")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() < 1 || fs.NArg() > 2 {
		return fmt.Errorf("expected a target and an optional separator")
	}
	target, sep := fs.Arg(0), fs.Arg(1)
	if _, err := c.client(ctx); err != nil {
		return err
	}
	// The log stream holds its connection: lines go out on a second one.
	sender, err := client.Dial(ctx, c.home)
	if err != nil {
		return err
	}
	defer sender.Close()
	if c.timeout != nil {
		sender.SetTimeout(*c.timeout)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	logs := make(chan error, 1)
	go func() { logs <- cmdLogs(ctx, c, []string{"--lines", "0", target}) }()
	lines := make(chan string)
	// stdinErr is why stdin ended early (a read error, a line over the scanner's 64 KiB): that line and the rest
	// were not sent, which exit 0 hid from a script piping into attach. Written before lines is closed.
	var stdinErr error
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(c.stdin)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
		stdinErr = sc.Err()
	}()
	for {
		select {
		case err := <-logs:
			return err
		case <-ctx.Done():
			return nil
		case l, ok := <-lines:
			if !ok {
				if errors.Is(stdinErr, bufio.ErrTooLong) {
					return fmt.Errorf("stdin: a line longer than %d KiB: it and the lines after it were not sent (gpm send takes longer ones)", bufio.MaxScanTokenSize>>10)
				}
				if stdinErr != nil {
					return fmt.Errorf("stdin: %w (the lines after the error were not sent)", stdinErr)
				}
				return nil
			}
			if sep != "" {
				l += sep
			}
			if _, err := sender.Send(ctx, l, target); err != nil {
				return err
			}
		}
	}
}
