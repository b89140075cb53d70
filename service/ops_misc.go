package service

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"strings"
	"time"

	"github.com/gpmd/gpm/api"
	"github.com/gpmd/gpm/config"
	"github.com/gpmd/gpm/platform"
	"github.com/gpmd/gpm/platform/safefs"
	"github.com/gpmd/gpm/service/logfile"
)

var timeNow = time.Now

func peerUID(c net.Conn) (int, error) { return platform.PeerUID(c) }

func (d *Daemon) signal(ctx context.Context, sp *api.SignalParams) ([]api.Process, error) {
	sig, err := platform.ParseSignal(sp.Signal)
	if err != nil {
		return nil, invalid("%v", err)
	}
	var out []api.Process
	err = d.do(ctx, func() error {
		procs, err := d.resolve(sp.Targets)
		if err != nil {
			return err
		}
		for _, p := range procs {
			if p.pid == 0 || p.leaderGone {
				// A leader gone is reaped already (its stop waits for the rest of its tree): its pid may be another
				// process's by now.
				continue
			}
			if err := platform.Signal(p.pid, sig); err != nil {
				return err
			}
			out = append(out, d.snapshot(p))
		}
		if len(out) == 0 {
			return &api.Error{Code: api.CodeFailed, Message: "no running process among the targets"}
		}
		return nil
	})
	return out, err
}

// sendTimeout bounds a write to an app's stdin: an app that does not read fills its pipe (64 KiB on Linux) and the
// write then waits; the request fails after sendTimeout instead of holding its connection for ever.
const sendTimeout = 5 * time.Second

// send writes sp.Line and a newline to the stdin pipe of each target process. Targets without one (not started
// with stdin, or not running) fail the whole call before anything is written. The writes happen off the loop, on
// the caller's goroutine: a pipe that is full must not stop supervision.
func (d *Daemon) send(ctx context.Context, sp *api.SendParams) ([]api.Process, error) {
	var files []*os.File
	var out []api.Process
	err := d.do(ctx, func() error {
		procs, err := d.resolve(sp.Targets)
		if err != nil {
			return err
		}
		var missing []string
		for _, p := range procs {
			if p.stdin == nil || p.pid == 0 {
				missing = append(missing, fmt.Sprintf("%s (id %d)", p.app.Name, p.id))
				continue
			}
			files = append(files, p.stdin)
			out = append(out, d.snapshot(p))
		}
		if len(missing) > 0 {
			return invalid("%s: no stdin to write to: the app must run and have been started with --stdin (stdin: true in a process file)",
				strings.Join(missing, ", "))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	line := []byte(sp.Line + "\n")
	for i, f := range files {
		// A pipe from os.Pipe is non-blocking underneath, so the deadline holds; where deadlines are not supported
		// (Windows) the write may wait, on this connection only.
		_ = f.SetWriteDeadline(time.Now().Add(sendTimeout))
		if _, err := f.Write(line); err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				err = fmt.Errorf("the app did not read its stdin within %v (sendTimeout): its pipe is full", sendTimeout)
			}
			return out[:i], &api.Error{Code: api.CodeFailed, Message: fmt.Sprintf("send to %s (id %d): %v", out[i].Name, out[i].ID, err)}
		}
	}
	return out, nil
}

// closeStdin closes the daemon's end of p's stdin pipe, if it has one: the app reads end of file.
func (p *proc) closeStdin() {
	if p.stdin != nil {
		p.stdin.Close()
		p.stdin = nil
	}
}

// envOf returns the environment each target process was (or will be) started with.
func (d *Daemon) envOf(ctx context.Context, targets []string) (map[string]map[string]string, error) {
	out := map[string]map[string]string{}
	err := d.do(ctx, func() error {
		procs, err := d.resolve(targets)
		if err != nil {
			return err
		}
		for _, p := range procs {
			_, env, err := d.childEnv(p)
			if err != nil {
				return err
			}
			out[fmt.Sprint(p.id)] = envMap(env)
		}
		return nil
	})
	return out, err
}

// flush empties the log files of the targets (all when none). A file the daemon has open is truncated through its
// descriptor, verified when it was opened; the files of an app never started here are opened for the app's user
// (safefs: no link its user planted is followed) and truncated through that descriptor. Never by path: a root
// daemon would empty whatever file the app's user had linked there.
func (d *Daemon) flush(ctx context.Context, targets []string) ([]string, error) {
	type closed struct {
		app   config.App
		paths []string
	}
	var open []*logfile.File
	var shut []closed
	err := d.do(ctx, func() error {
		procs := d.sorted()
		if len(targets) > 0 {
			var err error
			if procs, err = d.resolve(targets); err != nil {
				return err
			}
		}
		for _, p := range procs {
			if p.out != nil {
				for _, f := range []*logfile.File{p.out, p.err, p.combined} {
					if f.Path() != "" {
						open = append(open, f)
					}
				}
				continue
			}
			o, e, c := d.logPaths(p)
			cl := closed{app: p.app}
			for _, path := range []string{o, e, c} {
				if path != "" {
					cl.paths = append(cl.paths, path)
				}
			}
			shut = append(shut, cl)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var done []string
	for _, f := range open {
		// Writers use O_APPEND, so they continue at the new end.
		if err := f.Truncate(); err != nil {
			return done, err
		}
		done = append(done, f.Path())
	}
	for _, cl := range shut {
		// Resolved here, off the loop: the lookup may ask NSS (LDAP).
		id, err := d.identityOf(&cl.app)
		if err != nil {
			return done, fmt.Errorf("flush %s: %w", cl.app.Name, err)
		}
		for _, path := range cl.paths {
			if err := truncateFor(path, id.uid); err != nil {
				return done, fmt.Errorf("flush %s: %w", path, err)
			}
			done = append(done, path)
		}
	}
	return done, nil
}

// truncateFor empties path, opened for uid by safefs's rules; a missing file is already empty.
func truncateFor(path string, uid int) error {
	f, err := safefs.OpenFile(path, os.O_WRONLY, 0, uid)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Truncate(0)
}

// reloadLogs reopens every open log file (after an outside rotation) and returns how many apps it touched.
func (d *Daemon) reloadLogs() int {
	n := 0
	d.exec(context.Background(), func() {
		for _, p := range d.procs {
			if p.out == nil {
				continue
			}
			for _, f := range []*logfile.File{p.out, p.err, p.combined} {
				if err := f.Reopen(); err != nil {
					d.log.Printf("%s[%d]: reopen logs: %v", p.app.Name, p.id, err)
				}
			}
			n++
		}
	})
	return n
}

// stopAll stops every app and waits (bounded by ctx) until they are down, the old workers of reloads still
// draining with them. It returns how many processes there were.
func (d *Daemon) stopAll(ctx context.Context) int {
	var waits []chan struct{}
	n := 0
	d.exec(ctx, func() {
		n = len(d.procs)
		for _, p := range d.procs {
			ch := make(chan struct{})
			waits = append(waits, ch)
			d.stop(p, func() { close(ch) })
		}
		// A drain has the rest of its kill_timeout, then SIGKILL, as a process has: once the daemon is gone nothing
		// would send it, and its run would go on unsupervised.
		for _, w := range d.draining {
			ch := make(chan struct{})
			waits = append(waits, ch)
			d.drainStop(w, func() { close(ch) })
		}
	})
	waitAll(ctx, waits)
	return n
}

// stream serves "logs" and "subscribe" on a control connection: it writes events on c until the client goes away
// (or, for logs --nostream, until the tails are written).
func (d *Daemon) stream(ctx context.Context, c net.Conn, enc *json.Encoder, req *api.Request) {
	var lp api.LogsParams
	if len(req.Params) > 0 {
		if err := json.Unmarshal(req.Params, &lp); err != nil {
			enc.Encode(api.Response{ID: req.ID, Error: &api.Error{Code: api.CodeInvalid, Message: err.Error()}})
			return
		}
	}
	// The client sends nothing more: a read returns when it hangs up, and that ends the stream, including a long
	// tail it is waiting for.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		var b [1]byte
		c.Read(b[:])
		cancel()
	}()
	begun := false
	err := d.events(ctx, req.Method, &lp, func() error {
		begun = true
		return enc.Encode(api.Response{ID: req.ID, Result: json.RawMessage(`{"ok":true}`)})
	}, func(e api.Event) error { return enc.Encode(api.Response{Event: &e}) })
	if err != nil && !begun {
		enc.Encode(api.Response{ID: req.ID, Error: toAPIError(err)})
	}
}

// events runs one stream of events, for the control socket (stream) and for the surfaces inside the daemon
// (Caller.Stream): method is api.MethodLogs (the tails of the log files, then the lines as they come) or
// api.MethodSubscribe (every event of the targets). It returns a bad request's error before anything else; else it
// calls begin once the daemon listens (no event can fall between the tails and the live lines), then fn with each
// event until ctx ends (the events queued by then included), the stream ends (logs --nostream: after an EventEnd)
// or begin or fn returns an error, which events returns.
func (d *Daemon) events(ctx context.Context, method string, lp *api.LogsParams, begin func() error, fn func(api.Event) error) error {
	if lp.Lines > api.MaxLogLines {
		return &api.Error{Code: api.CodeTooLarge, Message: fmt.Sprintf(
			"lines %d is over the limit of %d (api.MaxLogLines); the log files have every line (gpm jlist shows where)",
			lp.Lines, api.MaxLogLines)}
	}
	type files struct {
		id        int
		name      string
		out, errp string
		owner     int // the uid the files are opened for (safefs): the app's, -1 for the daemon's
	}
	var fs []files
	var ids map[int]bool
	err := d.do(ctx, func() error {
		procs := d.sorted()
		if len(lp.Targets) > 0 {
			var err error
			if procs, err = d.resolve(lp.Targets); err != nil {
				return err
			}
			ids = map[int]bool{}
			for _, p := range procs {
				ids[p.id] = true
			}
		}
		for _, p := range procs {
			o, e, _ := d.logPaths(p)
			// The uid of the last start; of the configuration when the process has not started in this daemon
			// (p.uid is then 0: root alone, and a log directory of the app's user would be refused).
			owner := p.uid
			if id, err, ok := d.credentials(&p.app); ok && err == nil && p.startedAt.IsZero() {
				owner = id.uid
			}
			fs = append(fs, files{p.id, p.app.Name, o, e, owner})
		}
		return nil
	})
	if err != nil {
		return err
	}
	logsOnly := method == api.MethodLogs
	want := func(e *api.Event) bool {
		if e.Type == api.EventSample {
			return !logsOnly
		}
		if ids != nil && !ids[e.ID] {
			return false
		}
		if e.Type == api.EventLog {
			return !lp.NoLogs && !(lp.Out && e.Stream == "err") && !(lp.Err && e.Stream == "out")
		}
		return !logsOnly
	}
	var sub *subscriber
	if !lp.NoStream || !logsOnly {
		// Subscribe before reading the tails, so that no line falls between the two (one may appear twice).
		sub = d.hub.subscribe(want, logsOnly || !lp.NoLogs)
		defer d.hub.unsubscribe(sub)
		d.sampleSoon()
	}
	if err := begin(); err != nil {
		return err
	}
	if logsOnly {
		for _, f := range fs {
			for _, s := range []struct{ stream, path string }{{"out", f.out}, {"err", f.errp}} {
				if s.path == "" || (lp.Out && s.stream == "err") || (lp.Err && s.stream == "out") {
					continue
				}
				var ferr error // fn's: the reader is gone
				err := logfile.Tail(ctx, s.path, f.owner, lp.Lines, func(l []byte) error {
					ferr = fn(api.Event{Type: api.EventLog, ID: f.id, Name: f.name, Stream: s.stream,
						Line: string(bytes.TrimSuffix(l, []byte{'\r'}))})
					return ferr
				})
				if ferr != nil {
					return ferr
				}
				if ctx.Err() != nil {
					return nil
				}
				if err != nil {
					d.log.Printf("logs: %v", err)
				}
			}
		}
		if lp.NoStream {
			return fn(api.Event{Type: api.EventEnd})
		}
	}
	var batch []api.Event
	for {
		end := false
		select {
		case <-sub.ready:
		case <-ctx.Done():
			// What was queued before the end still goes out: the last lines of apps just stopped, for gpm run
			// (Follow); a client that hung up fails the first write instead.
			end = true
		}
		for batch = sub.take(batch); len(batch) > 0; batch = sub.take(batch) {
			for _, e := range batch {
				if err := fn(e); err != nil {
					return err
				}
			}
		}
		if end {
			return nil
		}
	}
}
