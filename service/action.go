package service

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gpmd/gpm/api"
	"github.com/gpmd/gpm/config"
	"github.com/gpmd/gpm/platform"
)

// Actions, PM2's `pm2 trigger` (docs/MODULES.md). An app has them in two ways:
//   - in its process file, `actions: {name: [argv...]}`: the daemon runs the command as the app's user, in its cwd,
//     with its environment, ARG appended, and answers with its output;
//   - at run time, on the notify stream (GPM_NOTIFY_STREAM, the Node shim's socket, uid-checked): the app connects,
//     sends `X_GPM_ACTION=name` lines (each answered OK or ERR reason) and keeps the connection open; the daemon
//     writes `ACTION <n> <name> <arg as a JSON string>` and the app answers `ACTION_REPLY <n> <text>` (text as a
//     JSON string when it starts with ", else the rest of the line).

// Limits of actions.
const (
	// maxActionOutput bounds the answer kept of one process: an action's output past it is read and dropped.
	maxActionOutput = 64 << 10
	// maxActionLine bounds one line an app sends on an action connection (a reply JSON-encoded may be 6 times its
	// text); a longer line closes the connection.
	maxActionLine = 8 * maxActionOutput
	// maxActionArg bounds ARG.
	maxActionArg = 4096
	// actionTimeout bounds one trigger: below client.DefaultTimeout, so that the CLI sees the timeout named.
	actionTimeout = 20 * time.Second
	// maxActionConns bounds the run-time action connections of a daemon, maxActionPending the calls waiting on one.
	maxActionConns   = 1024
	maxActionPending = 64
)

// actionDeclare starts a line that declares a run-time action; a notify stream connection that starts with it is
// an action connection.
const actionDeclare = "X_GPM_ACTION="

func init() {
	addMethod(api.MethodTrigger, func(ctx context.Context, d *Daemon, params json.RawMessage) (any, error) {
		p, err := decode[api.TriggerParams](params)
		if err != nil {
			return nil, err
		}
		return d.trigger(ctx, &p)
	})
}

// actionExits routes the exits of the process-file actions the daemon started: the reaper collects every child,
// so onExit hands an action's exit here (actionExited) instead of dropping it as an unknown pid's. Keyed by pid,
// which is unique among live children of this process whatever daemon (tests run several) started them.
var actionExits = struct {
	sync.Mutex
	m map[int]chan platform.Exit
}{m: map[int]chan platform.Exit{}}

// actionExited reports whether e is the exit of an action, which it delivers. Runs on the loop.
func (d *Daemon) actionExited(e platform.Exit) bool {
	actionExits.Lock()
	ch, ok := actionExits.m[e.PID]
	delete(actionExits.m, e.PID)
	actionExits.Unlock()
	if ok {
		ch <- e
	}
	return ok
}

// trigger runs tp.Action on every process of tp.Targets, all at once, and returns their answers in id order.
func (d *Daemon) trigger(ctx context.Context, tp *api.TriggerParams) ([]api.TriggerResult, error) {
	if err := config.CheckActionName(tp.Action); err != nil {
		return nil, invalid("trigger: %v", err)
	}
	if len(tp.Arg) > maxActionArg {
		return nil, invalid("trigger: argument of %d bytes is over the limit of %d (maxActionArg)", len(tp.Arg), maxActionArg)
	}
	if len(tp.Targets) == 0 {
		return nil, invalid("trigger: no target")
	}
	type job struct {
		res  api.TriggerResult
		run  *actionRun
		conn *actionConn
	}
	var jobs []*job
	err := d.do(ctx, func() error {
		procs, err := d.resolve(tp.Targets)
		if err != nil {
			return err
		}
		for _, p := range procs {
			j := &job{res: api.TriggerResult{ID: p.id, Name: p.app.Name}}
			jobs = append(jobs, j)
			if argv, ok := p.app.Actions[tp.Action]; ok {
				if j.run, err = d.startAction(p, argv, tp.Arg); err != nil {
					j.res.Error = err.Error()
				}
				continue
			}
			if j.conn = findActionConn(d, p.id, tp.Action); j.conn == nil {
				j.res.Error = fmt.Sprintf("no action %q: %s", tp.Action, d.declaredActions(p))
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, actionTimeout)
	defer cancel()
	var wg sync.WaitGroup
	for _, j := range jobs {
		switch {
		case j.run != nil:
			wg.Go(func() { j.res.Output, j.res.Error = j.run.wait(ctx) })
		case j.conn != nil:
			wg.Go(func() {
				out, err := j.conn.call(ctx, tp.Action, tp.Arg)
				j.res.Output = out
				if err != nil {
					j.res.Error = err.Error()
				}
			})
		}
	}
	wg.Wait()
	out := make([]api.TriggerResult, len(jobs))
	for i, j := range jobs {
		out[i] = j.res
	}
	return out, nil
}

// declaredActions says which actions p has, for an error. Runs on the loop.
func (d *Daemon) declaredActions(p *proc) string {
	var names []string
	for n := range p.app.Actions {
		names = append(names, n)
	}
	actionConns.Lock()
	for _, ac := range actionConns.m[d] {
		if ac.id == p.id {
			ac.mu.Lock()
			for n := range ac.names {
				names = append(names, n)
			}
			ac.mu.Unlock()
		}
	}
	actionConns.Unlock()
	if len(names) == 0 {
		return "the app declares none (process file: actions; at run time: X_GPM_ACTION= on GPM_NOTIFY_STREAM)"
	}
	sort.Strings(names)
	return "the app declares " + strings.Join(names, ", ")
}

// actionRun is a process-file action started by the daemon.
type actionRun struct {
	pid  int
	r    *os.File // the output pipe, pollable: a deadline ends its read
	exit chan platform.Exit
	out  chan actionOutput
}

type actionOutput struct {
	text      string
	truncated bool
}

// startAction starts argv (ARG appended when not "") as p's user, in its cwd, with its environment, in the cgroup
// of its current run if it has one, its output (stdout and stderr together) on a pipe. Runs on the loop, which is what makes registering its pid for the
// exit safe: the loop handles the reaper's report of it only after this turn.
func (d *Daemon) startAction(p *proc, argv []string, arg string) (*actionRun, error) {
	id, env, err := d.childEnv(p)
	if err != nil {
		return nil, err
	}
	argv = append([]string(nil), argv...)
	if arg != "" {
		argv = append(argv, arg)
	}
	path := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
		}
	}
	exe, err := platform.LookPath(argv[0], p.app.Cwd, path)
	if err != nil {
		return nil, fmt.Errorf("action command %s: %w", argv[0], err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("action: %w", err)
	}
	cmd := &platform.Cmd{Path: exe, Args: argv, Env: env, Dir: p.app.Cwd, UID: id.uid, GID: id.gid,
		Groups: id.groups, Stdin: d.devNull, Stdout: w, Stderr: w}
	if p.cg != nil {
		// In the app's cgroup, as a part of its tree: its limits hold the action too, its stop ends it, and what
		// the action leaves behind is not the daemon's.
		cmd.Cgroup = p.cg.FD()
	}
	pid, err := platform.Start(cmd)
	w.Close()
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("action: %w", err)
	}
	run := &actionRun{pid: pid, r: r, exit: make(chan platform.Exit, 1), out: make(chan actionOutput, 1)}
	actionExits.Lock()
	actionExits.m[pid] = run.exit
	actionExits.Unlock()
	go func() {
		defer r.Close()
		b, _ := io.ReadAll(io.LimitReader(r, maxActionOutput))
		// The rest is read and dropped: a blocked writer would never exit.
		n, _ := io.Copy(io.Discard, r)
		run.out <- actionOutput{string(b), n > 0}
	}()
	d.log.Printf("%s[%d]: action %s started (pid %d)", p.app.Name, p.id, argv[0], pid)
	return run, nil
}

// wait waits for the action's exit and output: the output, and an error for a failed or timed-out action. At
// ctx's end its process group is killed.
func (run *actionRun) wait(ctx context.Context) (string, string) {
	var e platform.Exit
	select {
	case e = <-run.exit:
	case <-ctx.Done():
		platform.SignalGroup(run.pid, syscall.SIGKILL)
		run.r.SetReadDeadline(time.Now())
		o := <-run.out
		return o.text, fmt.Sprintf("killed after %v (actionTimeout): %v", actionTimeout, ctx.Err())
	}
	var o actionOutput
	select {
	case o = <-run.out:
	case <-ctx.Done():
		// A child of the action still holds the pipe: what it wrote so far is the answer.
		platform.SignalGroup(run.pid, syscall.SIGKILL)
		run.r.SetReadDeadline(time.Now())
		o = <-run.out
	}
	var msg string
	if o.truncated {
		msg = fmt.Sprintf("output cut at %d bytes (maxActionOutput)", maxActionOutput)
	}
	if e.Code != 0 || e.Signal != "" {
		status := "exit code " + strconv.Itoa(e.Code)
		if e.Signal != "" {
			status = "killed by " + e.Signal
		}
		msg = strings.TrimPrefix(msg+"; action failed: "+status, "; ")
	}
	return o.text, msg
}

// actionConn is an app's run-time action connection on the notify stream.
type actionConn struct {
	c  net.Conn
	id int // the gpm process id of the sender
	// wmu orders the lines written to the app. It is not mu: a write to an app that does not read waits up to
	// shimTimeout, and mu is taken on the loop (findActionConn, declaredActions), which must never wait for an app.
	wmu sync.Mutex
	mu  sync.Mutex
	// names are the actions declared; pending the calls waiting for their ACTION_REPLY, by number.
	names   map[string]bool
	pending map[uint64]chan string
	next    uint64
	closed  bool
}

// actionConns are the open action connections, per daemon.
var actionConns = struct {
	sync.Mutex
	m map[*Daemon][]*actionConn
}{m: map[*Daemon][]*actionConn{}}

// findActionConn returns the connection of process id that declared name, or nil.
func findActionConn(d *Daemon, id int, name string) *actionConn {
	actionConns.Lock()
	defer actionConns.Unlock()
	for _, ac := range actionConns.m[d] {
		ac.mu.Lock()
		ok := ac.id == id && ac.names[name] && !ac.closed
		ac.mu.Unlock()
		if ok {
			return ac
		}
	}
	return nil
}

// serveActions serves an action connection of the notify stream from pid, whose uid the kernel gave: the sender
// must be a process of gpm (or below one) running as the app's user. br holds what was read so far.
func (d *Daemon) serveActions(c net.Conn, br *bufio.Reader, pid, uid int) {
	sc := bufio.NewScanner(br)
	sc.Buffer(make([]byte, 0, 4096), maxActionLine)
	if !sc.Scan() {
		return
	}
	ctx := d.runCtx
	if ctx == nil {
		ctx = context.Background()
	}
	id := -1
	var refusal string
	if err := d.exec(ctx, func() {
		p := d.procByPID(pid)
		if p == nil {
			refusal = "pid " + strconv.Itoa(pid) + " is not a process of gpm"
			return
		}
		appUID := p.uid
		if appUID < 0 {
			appUID = d.euid
		}
		if uid != appUID {
			refusal = fmt.Sprintf("sent by uid %d, but the app runs as uid %d", uid, appUID)
			return
		}
		id = p.id
	}); err != nil {
		return
	}
	ac := &actionConn{c: c, id: id, names: map[string]bool{}, pending: map[uint64]chan string{}}
	if refusal == "" {
		actionConns.Lock()
		if n := len(actionConns.m[d]); n >= maxActionConns {
			refusal = fmt.Sprintf("the daemon holds %d action connections, its limit (maxActionConns)", n)
		} else {
			actionConns.m[d] = append(actionConns.m[d], ac)
		}
		actionConns.Unlock()
	}
	if refusal != "" {
		ac.write("ERR " + refusal)
		return
	}
	defer ac.close(d)
	c.SetDeadline(time.Time{}) // the connection lives as long as the app keeps it
	for {
		ac.handle(sc.Text())
		if !sc.Scan() {
			return
		}
	}
}

// handle applies one line of the app.
func (ac *actionConn) handle(line string) {
	line = strings.TrimSuffix(line, "\r")
	if name, ok := strings.CutPrefix(line, actionDeclare); ok {
		if err := config.CheckActionName(name); err != nil {
			ac.write("ERR " + err.Error())
			return
		}
		ac.mu.Lock()
		full := len(ac.names) >= config.MaxActions && !ac.names[name]
		if !full {
			ac.names[name] = true
		}
		ac.mu.Unlock()
		if full {
			ac.write(fmt.Sprintf("ERR at most %d actions a connection (config.MaxActions)", config.MaxActions))
			return
		}
		ac.write("OK")
		return
	}
	rest, ok := strings.CutPrefix(line, "ACTION_REPLY ")
	if !ok {
		ac.write("ERR expected X_GPM_ACTION=name or ACTION_REPLY <n> <text>")
		return
	}
	num, text, _ := strings.Cut(rest, " ")
	n, err := strconv.ParseUint(num, 10, 64)
	if err != nil {
		ac.write("ERR ACTION_REPLY: bad number " + strconv.Quote(num))
		return
	}
	if strings.HasPrefix(text, `"`) {
		var s string
		if err := json.Unmarshal([]byte(text), &s); err != nil {
			ac.write("ERR ACTION_REPLY: text starting with \" must be a JSON string: " + err.Error())
			return
		}
		text = s
	}
	if len(text) > maxActionOutput {
		text = text[:maxActionOutput]
	}
	ac.mu.Lock()
	ch := ac.pending[n]
	delete(ac.pending, n)
	ac.mu.Unlock()
	if ch != nil {
		ch <- text
	}
}

// write sends one line to the app; a slow reader gets shimTimeout, then the line is lost with the connection.
func (ac *actionConn) write(line string) error {
	ac.wmu.Lock()
	defer ac.wmu.Unlock()
	ac.c.SetWriteDeadline(time.Now().Add(shimTimeout))
	_, err := io.WriteString(ac.c, line+"\n")
	if err != nil {
		ac.c.Close() // the reading goroutine sees it and unregisters
	}
	return err
}

// call asks the app to run action name with arg and waits for its reply until ctx ends.
func (ac *actionConn) call(ctx context.Context, name, arg string) (string, error) {
	ch := make(chan string, 1)
	ac.mu.Lock()
	if ac.closed {
		ac.mu.Unlock()
		return "", errors.New("the app closed its action connection")
	}
	if len(ac.pending) >= maxActionPending {
		ac.mu.Unlock()
		return "", fmt.Errorf("%d calls wait for this process's replies already (maxActionPending)", maxActionPending)
	}
	ac.next++
	n := ac.next
	ac.pending[n] = ch
	ac.mu.Unlock()
	q, _ := json.Marshal(arg)
	if err := ac.write(fmt.Sprintf("ACTION %d %s %s", n, name, q)); err != nil {
		ac.mu.Lock()
		delete(ac.pending, n)
		ac.mu.Unlock()
		return "", fmt.Errorf("send the call: %w", err)
	}
	select {
	case text, ok := <-ch:
		if !ok {
			return "", errors.New("the app closed its action connection before it replied")
		}
		return text, nil
	case <-ctx.Done():
		ac.mu.Lock()
		delete(ac.pending, n)
		ac.mu.Unlock()
		return "", fmt.Errorf("no reply within %v (actionTimeout): %w", actionTimeout, ctx.Err())
	}
}

// close unregisters ac and fails the calls that wait on it.
func (ac *actionConn) close(d *Daemon) {
	actionConns.Lock()
	list := actionConns.m[d]
	for i, x := range list {
		if x == ac {
			list = append(list[:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(actionConns.m, d)
	} else {
		actionConns.m[d] = list
	}
	actionConns.Unlock()
	ac.mu.Lock()
	ac.closed = true
	for n, ch := range ac.pending {
		close(ch)
		delete(ac.pending, n)
	}
	ac.mu.Unlock()
}
