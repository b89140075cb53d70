//go:build !gpmthin

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gpmd/gpm/api"
	"github.com/gpmd/gpm/config"
)

// runOptions are gpm run's own flags, beside the start flags.
type runOptions struct {
	json        bool
	exitOnError bool
	noAutoExit  bool
}

// cmdRun is `gpm run FILE|SCRIPT [options]`, PM2's pm2-runtime: the daemon in this process (foreground), the apps
// started, their output on this process's stdout and stderr, and an exit when they are done.
//
// When it exits, and with which code:
//   - SIGTERM or SIGINT (docker stop, Ctrl-C), or `gpm kill`: every app is stopped with its kill_signal (SIGKILL
//     after its kill_timeout), then exit 0.
//   - --exit-on-error: as soon as an app fails, every app is stopped and the code is the failed app's. An app fails
//     when it is errored (a crash loop reached max_restarts) or when it exited on its own, is not restarted
//     (autorestart off) and its code is not 0 nor one of its stop_exit_codes. Killed by a signal: 128 + its number,
//     as a shell says it. Errored with code 0: 1.
//   - By default (auto-exit): when no app is left running (each stopped, on its own or by `gpm stop`, or errored),
//     with the first failed app's code (by id), else 0. Apps with cron_restart count as running while they wait
//     for their next time. So `gpm run job.sh` ends with the job, and a crash loop ends the container once its app
//     is errored and nothing else runs.
//   - --no-auto-exit: only a signal or `gpm kill` ends it (apps started later with `docker exec ... gpm start`).
func cmdRun(ctx context.Context, c *cli, args []string) error {
	execWebProgram(c.home)
	// Signals are watched from before the daemon starts (below). A process's first signal.Notify waits for the
	// runtime to start the thread that masks signals (0.3-0.5 ms): it does so while the flags and apps are read.
	sigs := make(chan os.Signal, 1)
	watching := make(chan struct{})
	go func() {
		signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
		close(watching)
	}()
	defer func() {
		<-watching
		signal.Stop(sigs)
	}()
	f := newStartFlags(c, "run")
	var o runOptions
	f.fs.BoolVar(&o.json, "json", false, "print the apps' output as one JSON object a line: {app,id,stream,line,time}")
	f.fs.BoolVar(&o.exitOnError, "exit-on-error", false, "as soon as an app fails (errored, or exited non-zero and not restarted), stop every app and exit with its code")
	f.fs.BoolVar(&o.noAutoExit, "no-auto-exit", false, "keep running when no app is left running (until SIGTERM, SIGINT or gpm kill)")
	for _, name := range []string{"no-daemon", "attach", "parallel", "update-env", "force"} {
		f.fs.MarkHidden(name) // what start has and run has no use for
	}
	if err := c.parse(f.fs, args); err != nil {
		return err
	}
	f.notices(c.stderr)
	targets, appArgs := splitDash(f.fs, args)
	if len(targets) == 0 {
		return fmt.Errorf("nothing to run: give a process file, a script or a binary")
	}
	apps, err := c.runApps(f, targets, appArgs)
	if err != nil {
		return err
	}
	// The start's parameters are encoded while the daemon gets ready (on another CPU when there is one): the first
	// encoding of an App builds encoding/json's encoders for its type, 0.6-2 ms that the first app's start waited
	// for (issue 10).
	encoded := make(chan encodedStart, 1)
	go func() {
		raw, err := json.Marshal(api.StartParams{Apps: apps, CallerEnv: f.callerEnv()})
		encoded <- encodedStart{raw, err}
	}()
	// A signal from now on is a clean stop (exit 0) whatever the apps' states are as they stop. The daemon has its
	// own handler, which does the stopping.
	var signalled atomic.Bool
	<-watching
	go func() {
		if _, ok := <-sigs; ok {
			signalled.Store(true)
		}
	}()

	l, err := c.foreground(ctx)
	if err != nil {
		return err
	}
	defer l.stop()
	// Calls must outlive ctx, which SIGTERM cancels while the daemon stops the apps.
	bg := context.WithoutCancel(ctx)
	out := &runOutput{stdout: c.stdout, stderr: c.stderr, json: o.json}
	check := make(chan struct{}, 1)
	nudge := func() {
		select {
		case check <- struct{}{}:
		default:
		}
	}
	followCtx, endFollow := context.WithCancel(bg)
	subscribed := make(chan struct{})
	followed := make(chan error, 1)
	go func() {
		followed <- l.d.Follow(followCtx, func() { close(subscribed) }, func(e api.Event) error {
			switch e.Type {
			case api.EventLog:
				out.line(e)
			case api.EventDropped:
				// Lost events may hold a state change: look at the list.
				fmt.Fprintf(c.stderr, "[gpm] %d events dropped here: this output fell behind the apps (the log files in %s have every line)\n", e.Dropped, c.home)
				nudge()
			case api.EventState:
				nudge()
			}
			return nil
		})
	}()
	// The output goes on until the daemon has stopped the apps, their last lines included; but not for ever: a
	// stdout that takes nothing (a pipe whose reader stopped) holds a line's write, and the exit of the container
	// with it. The message goes out on its own: stderr may be the same stuck pipe.
	defer func() {
		l.stop()
		endFollow()
		select {
		case <-followed:
		case <-time.After(runOutputDrain):
			go fmt.Fprintf(c.stderr, "[gpm] stdout took no line for %v: exiting without the apps' last lines (the log files in %s have them)\n", runOutputDrain, c.home)
		}
	}()
	<-subscribed
	caller := l.d.Caller()
	start := <-encoded
	if start.err != nil {
		return fmt.Errorf("start: encode: %w", start.err)
	}
	// No result asked for: the list of started apps would be encoded and decoded again for nothing.
	if err := caller.Call(bg, api.MethodStart, start.params, nil); err != nil {
		if ended, err := l.ended(); ended {
			return err // a signal or gpm kill stopped the daemon before the apps started: a clean stop
		}
		return fmt.Errorf("start: %w", err)
	}
	nudge() // an app that was done before the subscription saw it
	for {
		select {
		case <-l.done:
			// A signal or gpm kill: the daemon stopped every app.
			return l.err
		case <-check:
		}
		if signalled.Load() {
			continue // the daemon is stopping every app; it ends with l.done
		}
		var list []api.Process
		if err := caller.Call(bg, api.MethodList, nil, &list); err != nil {
			if ended, err := l.ended(); ended {
				return err
			}
			return fmt.Errorf("list: %w", err)
		}
		code, done, why := runVerdict(list, o)
		if !done {
			continue
		}
		fmt.Fprintf(c.stderr, "[gpm] %s: stopping every app, exit code %d\n", why, code)
		if err := l.stop(); err != nil {
			return err
		}
		if signalled.Load() {
			code = 0
		}
		if code != 0 {
			return exitStatus(code)
		}
		return nil
	}
}

// encodedStart is the start request's parameters, encoded ahead of the call.
type encodedStart struct {
	params json.RawMessage
	err    error
}

// runApps turns run's targets into the apps to start: process files, or one script or binary with appArgs.
func (c *cli) runApps(f *startFlags, targets, appArgs []string) ([]api.StartApp, error) {
	var apps []api.StartApp
	for _, t := range targets {
		if t == "-" || config.IsProcessFile(t) {
			fileApps, err := c.loadRunnable(t, f)
			if err != nil {
				return nil, err
			}
			for _, a := range fileApps {
				apps = append(apps, api.StartApp{App: a})
			}
			continue
		}
		a := config.New()
		a.Script = t
		a.Args = appArgs
		if err := f.apply(&a); err != nil {
			return nil, err
		}
		if err := a.Normalize(c.cwd); err != nil {
			return nil, fmt.Errorf("%s: %w", t, err)
		}
		apps = append(apps, api.StartApp{App: a})
	}
	return apps, nil
}

// runVerdict decides from the list whether gpm run ends, with which code, and why (cmdRun's doc says when).
func runVerdict(list []api.Process, o runOptions) (code int, done bool, why string) {
	firstFailed := -1
	running := 0
	for i, p := range list {
		if c, failed := appFailure(p); failed {
			if o.exitOnError {
				return c, true, fmt.Sprintf("%s[%d] failed (%s)", p.Name, p.ID, p.Reason)
			}
			if firstFailed < 0 || p.ID < list[firstFailed].ID {
				firstFailed = i
			}
		}
		down := p.Status == api.StatusStopped || p.Status == api.StatusErrored
		if !down || p.Status == api.StatusStopped && p.Config.CronRestart != "" {
			running++
		}
	}
	if o.noAutoExit || running > 0 {
		return 0, false, ""
	}
	if firstFailed >= 0 {
		p := list[firstFailed]
		c, _ := appFailure(p)
		return c, true, fmt.Sprintf("no app is left running; %s[%d] failed (%s)", p.Name, p.ID, p.Reason)
	}
	return 0, true, "no app is left running"
}

// appFailure says whether p failed, and its exit code as a shell would give it.
func appFailure(p api.Process) (code int, failed bool) {
	code = 1
	if p.ExitSignal != "" {
		if n, ok := config.SignalNumber(p.ExitSignal); ok {
			code = 128 + n
		}
	} else if p.ExitCode != nil && *p.ExitCode > 0 {
		code = *p.ExitCode
	}
	switch {
	case p.Status == api.StatusErrored:
		return code, true
	case p.Status != api.StatusStopped || p.Reason == "stopped" || p.ExitCode == nil:
		// Running, or stopped by a user (gpm stop, the end of gpm run), or never ran.
		return 0, false
	case p.ExitSignal == "" && (*p.ExitCode == 0 || slices.Contains(p.Config.StopExitCodes, *p.ExitCode)):
		return 0, false
	}
	return code, true
}

// runOutput prints the apps' lines: `name| line` on stdout for their stdout and on stderr for their stderr, or
// with json one object a line (runLine) on the same stream. Only Follow's goroutine calls it.
type runOutput struct {
	stdout, stderr io.Writer
	json           bool
	buf            []byte
}

// runLine is one line of --json output.
type runLine struct {
	App    string    `json:"app"`
	ID     int       `json:"id"`
	Stream string    `json:"stream"` // "out" or "err"
	Line   string    `json:"line"`
	Time   time.Time `json:"time"`
}

// runOutputDrain bounds how long gpm run, its apps stopped, waits for their last lines to be written out.
const runOutputDrain = 5 * time.Second

func (o *runOutput) line(e api.Event) {
	w := o.stdout
	if e.Stream == "err" {
		w = o.stderr
	}
	if o.json {
		t := e.Time
		if t.IsZero() {
			t = time.Now()
		}
		b, err := json.Marshal(runLine{App: e.Name, ID: e.ID, Stream: e.Stream, Line: e.Line, Time: t})
		if err != nil {
			return // a string and numbers always encode
		}
		o.buf = append(append(o.buf[:0], b...), '\n')
	} else {
		// One write a line: lines of two streams going to one file never mix inside a line.
		o.buf = append(append(append(append(o.buf[:0], e.Name...), "| "...), e.Line...), '\n')
	}
	// A closed stdout (the container's log driver gone) loses the lines; the apps go on and the files have them.
	w.Write(o.buf)
}
