package service

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gpmd/gpm/activation"
	"github.com/gpmd/gpm/api"
	"github.com/gpmd/gpm/config"
	"github.com/gpmd/gpm/platform"
	"github.com/gpmd/gpm/service/logfile"
)

// proc is one supervised instance of an app. Every field is owned by the supervision loop.
type proc struct {
	id        int
	app       config.App
	instance  int
	callerEnv map[string]string // the environment of the CLI that started it; never saved

	status    string
	pid       int
	startedAt time.Time
	createdAt time.Time
	restarts  int
	unstable  int
	backoff   time.Duration
	exitCode  *int
	exitSig   string
	reason    string

	stopAsked  bool   // the current run ends because someone asked
	failReason string // when set, the requested stop ends in errored with this reason
	statusText string // the app's last STATUS= on NOTIFY_SOCKET
	reload     *drain // during a reload: the previous worker, still serving until this one is ready
	reloadThen func(error)
	leaderGone bool  // the leader was reaped but its group is still being killed
	tree       []int // descendants seen when the stop began, killed with the group
	gen        int   // bumps on every start and stop; a timer from an older generation does nothing
	timer      *time.Timer
	wdTimer    *time.Timer // the app's watchdog (WATCHDOG=1 re-arms it)
	nextStart  time.Time

	// settled run on the loop when the process reaches a resting state (stopped, errored, or started).
	settled []func()

	out, err, combined *logfile.File
	cpu                float64
	mem                uint64
	cpuTime            float64 // seconds of cpu at the last sample
	sampledAt          time.Time
}

// fileName is the app name as it appears in file names (PM2's rule: anything but [a-zA-Z0-9.-] becomes '-').
var unsafeName = regexp.MustCompile(`[^a-zA-Z0-9.-]`)

func fileName(name string) string { return unsafeName.ReplaceAllString(name, "-") }

// logPaths returns the out, err and combined paths of p: the configured ones (with -<id> for instances unless
// merged) or the defaults under GPM_HOME/logs.
func (d *Daemon) logPaths(p *proc) (out, errp, combined string) {
	a := &p.app
	if a.DisableLogs {
		return "", "", ""
	}
	perInstance := a.Instances > 1 && !a.MergeLogs
	pick := func(set, kind string) string {
		if set == config.NullLog || set == os.DevNull {
			return ""
		}
		if set == "" {
			set = d.path(api.LogsDir, fileName(a.Name)+"-"+kind+".log")
		}
		if perInstance {
			ext := filepath.Ext(set)
			set = strings.TrimSuffix(set, ext) + "-" + strconv.Itoa(p.id) + ext
		}
		return set
	}
	out, errp = pick(a.OutFile, "out"), pick(a.ErrorFile, "error")
	if a.LogFile != "" {
		if a.LogFile == config.DefaultLog {
			combined = pick("", "combined")
		} else {
			combined = pick(a.LogFile, "combined")
		}
	}
	return out, errp, combined
}

// openLogs opens p's log files if they are not open yet.
func (d *Daemon) openLogs(p *proc) error {
	if p.out != nil {
		return nil
	}
	o, e, c := d.logPaths(p)
	var err error
	if p.out, err = logfile.Open(o); err != nil {
		return err
	}
	if p.err, err = logfile.Open(e); err != nil {
		p.out.Close()
		p.out = nil
		return err
	}
	if p.combined, err = logfile.Open(c); err != nil {
		p.out.Close()
		p.err.Close()
		p.out, p.err = nil, nil
		return err
	}
	return nil
}

// configure gives p a new configuration (a process file applied again). Open log files follow a changed path;
// they are retargeted, not closed, because the pumps of a running or draining worker still write through them.
func (d *Daemon) configure(p *proc, app config.App) {
	p.app = app.Clone()
	if p.out == nil {
		return
	}
	o, e, c := d.logPaths(p)
	for _, r := range []struct {
		f    *logfile.File
		path string
	}{{p.out, o}, {p.err, e}, {p.combined, c}} {
		if err := r.f.Retarget(r.path); err != nil {
			d.log.Printf("%s[%d]: log file: %v", p.app.Name, p.id, err)
		}
	}
}

func (p *proc) closeLogs() {
	for _, f := range []*logfile.File{p.out, p.err, p.combined} {
		if f != nil {
			f.Close()
		}
	}
	p.out, p.err, p.combined = nil, nil, nil
}

// environ builds the child's environment: the caller's (or the daemon's), then the app's env, then what gpm sets.
func (d *Daemon) environ(p *proc) []string {
	base := p.callerEnv
	if base == nil {
		base = d.env
	}
	env := make(map[string]string, len(base)+len(p.app.Env)+8)
	for k, v := range base {
		env[k] = v
	}
	// Never hand our own service-manager plumbing to an app: it would talk to systemd in our name.
	for _, k := range []string{"NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "WATCHDOG_USEC", "WATCHDOG_PID"} {
		delete(env, k)
	}
	for k, v := range p.app.Env {
		env[k] = v
	}
	inst := strconv.Itoa(p.instance)
	env[p.app.InstanceVar] = inst
	env["GPM_INSTANCE"] = inst
	env["GPM_ID"] = strconv.Itoa(p.id)
	env["GPM_NAME"] = p.app.Name
	env["GPM_HOME"] = d.opts.Home
	if v := p.app.IncrementVar; v != "" {
		if n, err := strconv.Atoi(env[v]); err == nil {
			env[v] = strconv.Itoa(n + p.instance)
		}
	}
	if d.notify != nil {
		env["NOTIFY_SOCKET"] = d.notify.Path()
	}
	if wd := p.app.Watchdog; wd > 0 {
		env["WATCHDOG_USEC"] = strconv.FormatInt(int64(wd.D()/time.Microsecond), 10)
		delete(env, "WATCHDOG_PID") // the worker is the process gpm started: sd_watchdog_enabled(3) accepts that
	}
	portEnv(p.app.Listen, env)
	d.nodeEnv(p, env)
	if strings.HasPrefix(filepath.Base(p.app.Interpreter), "python") {
		env["PYTHONUNBUFFERED"] = "1"
	}
	return envList(env)
}

// command resolves the executable and argv of p.
func (d *Daemon) command(p *proc, env []string) (string, []string, error) {
	a := &p.app
	var argv []string
	if a.Interpreter != "" {
		argv = append(append(append([]string{a.Interpreter}, a.InterpreterArgs...), a.Script), a.Args...)
	} else {
		argv = append([]string{a.Script}, a.Args...)
	}
	exe, err := platform.LookPath(argv[0], a.Cwd, platform.PathEnv(env))
	if err != nil {
		return "", nil, err
	}
	return exe, argv, nil
}

// credentials resolves uid/gid when the daemon is root; otherwise they are refused.
func (d *Daemon) credentials(a *config.App) (int, int, error) {
	if a.User == "" && a.Group == "" {
		return -1, -1, nil
	}
	if d.euid != 0 {
		return -1, -1, fmt.Errorf("uid/gid need a daemon running as root")
	}
	uid, gid := -1, -1
	if a.User != "" {
		u, err := user.Lookup(a.User)
		if err != nil {
			if u, err = user.LookupId(a.User); err != nil {
				return -1, -1, fmt.Errorf("uid %q: %w", a.User, err)
			}
		}
		uid, _ = strconv.Atoi(u.Uid)
		gid, _ = strconv.Atoi(u.Gid)
	}
	if a.Group != "" {
		g, err := user.LookupGroup(a.Group)
		if err != nil {
			if g, err = user.LookupGroupId(a.Group); err != nil {
				return -1, -1, fmt.Errorf("gid %q: %w", a.Group, err)
			}
		}
		gid, _ = strconv.Atoi(g.Gid)
	}
	if uid < 0 {
		uid = 0
	}
	return uid, gid, nil
}

// start launches p now. On failure p is errored with the reason and the error is returned.
// start launches p now; then (if not nil) runs on the loop once p is online, or has failed. An app with wait_ready
// is "launching" until it sends READY=1 on its NOTIFY_SOCKET; one that does not within listen_timeout is stopped
// and errored (PM2 marks it online anyway: #5716). Without wait_ready an app is online as soon as it is spawned.
func (d *Daemon) start(p *proc, then func()) error {
	return d.startAll([]*proc{p}, []func(){then})[0]
}

// batch collects the starts of one loop turn, to run them together with startAll.
type batch struct {
	ps    []*proc
	thens []func()
}

func (b *batch) add(p *proc, then func()) {
	b.ps = append(b.ps, p)
	b.thens = append(b.thens, then)
}

// run starts the batch's processes; it returns one error per process, in order.
func (b *batch) run(d *Daemon) []error {
	if len(b.ps) == 0 {
		return nil
	}
	return d.startAll(b.ps, b.thens)
}

// startAll is start for several processes. The fork/execs run one after the other: Go holds syscall.ForkLock
// until a vfork'd child has exec'd, so spawning from several goroutines overlaps nothing (measured: 50 spawns took
// as long with 4 goroutines as with one). thens[i] (may be nil) belongs to ps[i].
func (d *Daemon) startAll(ps []*proc, thens []func()) []error {
	jobs := make([]*spawnJob, len(ps))
	errs := make([]error, len(ps))
	for i, p := range ps {
		if thens[i] != nil {
			p.settled = append(p.settled, thens[i])
		}
		p.gen++
		p.stopTimer()
		p.stopAsked, p.leaderGone, p.tree, p.failReason, p.statusText = false, false, nil, "", ""
		p.exitCode, p.exitSig = nil, ""
		if jobs[i], errs[i] = d.prepare(p); errs[i] == nil {
			jobs[i].run()
		}
	}
	for i, p := range ps {
		if errs[i] == nil {
			errs[i] = d.complete(p, jobs[i])
		}
		if errs[i] != nil {
			p.status, p.pid, p.reason = api.StatusErrored, 0, errs[i].Error()
			d.emit(p, p.reason)
			d.settle(p)
			errs[i] = fmt.Errorf("start %s: %w", p.app.Name, errs[i])
			continue
		}
		d.started(p)
	}
	return errs
}

// started sets a freshly spawned p online, or launching until READY=1 with wait_ready.
func (d *Daemon) started(p *proc) {
	p.reason = ""
	if p.app.WaitReady {
		p.status = api.StatusLaunching
		d.emit(p, "")
		timeout := p.app.ListenTimeout.D()
		d.after(p, timeout, func() { d.notReady(p, timeout) })
		return
	}
	p.status = api.StatusOnline
	// Without wait_ready the app is online before it can ping: its first watchdog period includes listen_timeout
	// as a grace for starting up (systemd, likewise, arms the watchdog once a notify service is ready).
	d.armWatchdogAfter(p, p.app.ListenTimeout.D())
	d.emit(p, "")
	d.settle(p)
}

// notReady fails a worker that did not say READY=1 in time: it is stopped and marked errored.
func (d *Daemon) notReady(p *proc, timeout time.Duration) {
	if p.status != api.StatusLaunching {
		return
	}
	reason := fmt.Sprintf("not ready within listen_timeout (%v): no READY=1 on NOTIFY_SOCKET", timeout)
	d.log.Printf("%s[%d]: %s", p.app.Name, p.id, reason)
	if p.reload != nil {
		d.reloadFailed(p, reason)
		return
	}
	p.failReason = reason
	d.stop(p, nil)
}

// ready marks a launching worker online.
func (d *Daemon) ready(p *proc) {
	if p.status != api.StatusLaunching {
		return
	}
	p.stopTimer()
	p.status = api.StatusOnline
	d.armWatchdog(p)
	d.emit(p, "ready")
	d.settle(p)
}

// armWatchdog (re)starts p's watchdog: without a WATCHDOG=1 within the app's watchdog interval, the worker is
// considered hung and restarted, as systemd does with WatchdogSec=. It has its own timer: the other one holds
// restart delays, listen_timeout and kill_timeout.
func (d *Daemon) armWatchdog(p *proc) { d.armWatchdogAfter(p, 0) }

// armWatchdogAfter arms the watchdog for its interval plus grace.
func (d *Daemon) armWatchdogAfter(p *proc, grace time.Duration) {
	if p.app.Watchdog <= 0 {
		return
	}
	if p.wdTimer != nil {
		p.wdTimer.Stop()
	}
	gen, interval := p.gen, p.app.Watchdog.D()
	p.wdTimer = time.AfterFunc(interval+grace, func() {
		d.post(func() {
			if p.gen != gen || p.status != api.StatusOnline || p.stopAsked {
				return
			}
			d.log.Printf("%s[%d]: no WATCHDOG=1 for %v: the worker is hung, restarting it", p.app.Name, p.id, interval)
			p.restarts++
			p.reason = fmt.Sprintf("watchdog: no WATCHDOG=1 within %v", interval)
			d.stop(p, func() { d.start(p, nil) })
		})
	})
}

// spawnJob is a prepared start: everything decided on the loop; only the fork/exec is left, which may run off it.
type spawnJob struct {
	cmd        platform.Cmd
	outR, errR *os.File
	pid        int
	err        error
}

// prepare resolves the command, opens the logs, the pipes and the sockets of p. Runs on the loop.
func (d *Daemon) prepare(p *proc) (*spawnJob, error) {
	env := d.environ(p)
	exe, argv, err := d.command(p, env)
	if err != nil {
		return nil, err
	}
	uid, gid, err := d.credentials(&p.app)
	if err != nil {
		return nil, err
	}
	if err := d.openLogs(p); err != nil {
		return nil, err
	}
	socks, err := d.socketsFor(&p.app)
	if err != nil {
		return nil, err
	}
	if len(socks) > 0 {
		env = append(env, activation.Env(socks)...)
		argv = activation.TrampolineArgs(d.self, exe, argv)
		exe = d.self
	}
	j := &spawnJob{cmd: platform.Cmd{Path: exe, Args: argv, Env: env, Dir: p.app.Cwd, UID: uid, GID: gid,
		ExtraFiles: activation.Files(socks)}}
	if j.outR, j.cmd.Stdout, err = os.Pipe(); err != nil {
		return nil, fmt.Errorf("pipe: %w", err)
	}
	if j.errR, j.cmd.Stderr, err = os.Pipe(); err != nil {
		j.outR.Close()
		j.cmd.Stdout.Close()
		return nil, fmt.Errorf("pipe: %w", err)
	}
	return j, nil
}

// run forks and execs.
func (j *spawnJob) run() {
	j.pid, j.err = platform.Start(&j.cmd)
	j.cmd.Stdout.Close()
	j.cmd.Stderr.Close()
	if j.err != nil {
		j.outR.Close()
		j.errR.Close()
		if j.cmd.UID >= 0 {
			j.err = fmt.Errorf("%w (running as uid %d: it needs to enter cwd %s and read the script)", j.err, j.cmd.UID, j.cmd.Dir)
		}
	}
}

// complete registers a spawned process: its pid, its log pumps, its pid file. Runs on the loop.
func (d *Daemon) complete(p *proc, j *spawnJob) error {
	if j.err != nil {
		return j.err
	}
	p.pid, p.startedAt = j.pid, time.Now()
	d.pump(p, j.outR, "out", p.out)
	d.pump(p, j.errR, "err", p.err)
	d.writePidFile(p)
	return nil
}

// pump copies one output stream of p to its files on its own goroutine, so a chatty app never waits on the loop.
func (d *Daemon) pump(p *proc, r *os.File, stream string, f *logfile.File) {
	a := &p.app
	format := logfile.Format{Stream: stream, AppName: a.Name, ID: p.id, JSON: a.LogType == "json"}
	if a.LogDateFormat != "" {
		format.TimeLayout = config.GoTimeLayout(a.LogDateFormat)
	} else if a.Time {
		format.TimeLayout = "2006-01-02T15:04:05"
	}
	dst := []*logfile.File{f}
	if p.combined != nil && p.combined.Path() != "" {
		dst = append(dst, p.combined)
	}
	id, name := p.id, a.Name
	emit := func(l logfile.Line) {
		if d.hub.active() {
			d.hub.publish(api.Event{Type: api.EventLog, Time: time.Now(), ID: id, Name: name, Stream: l.Stream, Line: l.Text})
		}
	}
	go func() {
		defer r.Close()
		var reported bool
		if err := logfile.Copy(r, dst, format, emit, func(err error) {
			if !reported {
				d.log.Printf("%s[%d] %s log: %v", name, id, stream, err)
				reported = true
			}
		}); err != nil {
			d.log.Printf("%s[%d] %s: %v", name, id, stream, err)
		}
	}()
}

func (d *Daemon) pidFilePath(p *proc) string {
	if p.app.PidFile != "" {
		return p.app.PidFile
	}
	return d.path(api.PidsDir, fmt.Sprintf("%s-%d.pid", fileName(p.app.Name), p.id))
}

// writePidFile and removePidFile queue the change for pidFiles: creating a file costs more than the fork/exec it
// records, and the loop must not wait on the disk.
func (d *Daemon) writePidFile(p *proc) {
	d.pidOps <- pidOp{path: d.pidFilePath(p), pid: p.pid}
}

func (d *Daemon) removePidFile(p *proc) {
	d.pidOps <- pidOp{path: d.pidFilePath(p)}
}

// pidOp writes pid into path, or removes path when pid is 0.
type pidOp struct {
	path string
	pid  int
}

// pidFiles applies pid file changes in order until ops is closed.
func (d *Daemon) pidFiles(ops <-chan pidOp, done chan<- struct{}) {
	defer close(done)
	for op := range ops {
		var err error
		if op.pid == 0 {
			if err = os.Remove(op.path); os.IsNotExist(err) {
				err = nil
			}
		} else {
			err = os.WriteFile(op.path, []byte(strconv.Itoa(op.pid)+"\n"), 0o644)
		}
		if err != nil {
			d.log.Printf("pid file: %v", err)
		}
	}
}

func (p *proc) stopTimer() {
	if p.timer != nil {
		p.timer.Stop()
		p.timer = nil
	}
	p.nextStart = time.Time{}
}

// after runs fn on the loop after delay, unless p was started or stopped again meanwhile.
func (d *Daemon) after(p *proc, delay time.Duration, fn func()) {
	p.stopTimer()
	gen := p.gen
	p.timer = time.AfterFunc(delay, func() {
		d.post(func() {
			if p.gen == gen {
				p.timer = nil
				fn()
			}
		})
	})
}

// settle runs the callbacks waiting for p to come to rest.
func (d *Daemon) settle(p *proc) {
	cbs := p.settled
	p.settled = nil
	for _, cb := range cbs {
		cb()
	}
}

// running reports whether p has a live leader or a group still being killed.
func (p *proc) running() bool { return p.pid != 0 }

// stop asks p to stop: the kill signal to its process group, SIGKILL to the group and every descendant seen at the
// start of the stop after kill_timeout. then runs on the loop once p is down.
func (d *Daemon) stop(p *proc, then func()) {
	if then != nil {
		p.settled = append(p.settled, then)
	}
	if !p.running() {
		p.gen++
		p.stopTimer()
		if p.status != api.StatusStopped {
			p.status, p.reason = api.StatusStopped, "stopped"
			d.emit(p, p.reason)
		}
		d.settle(p)
		return
	}
	if p.stopAsked {
		return // a stop is already under way; then runs when it ends
	}
	p.gen++
	p.stopAsked = true
	p.status = api.StatusStopping
	d.emit(p, "")
	p.tree = d.descendants(p.pid)
	sig, err := platform.ParseSignal(p.app.KillSignal)
	if err != nil {
		sig = syscall.SIGINT
	}
	if err := platform.SignalGroup(p.pid, sig); err != nil {
		d.log.Printf("%s[%d]: %v", p.app.Name, p.id, err)
	}
	d.after(p, p.app.KillTimeout.D(), func() { d.killHard(p) })
}

// descendants returns the processes below pid from a snapshot of /proc taken in this loop turn: a stop of many apps
// scans /proc once, not once per app, and never sees a tree older than the turn.
func (d *Daemon) descendants(pid int) []int {
	if d.tree == nil {
		d.tree = platform.Snapshot()
	}
	return d.tree.Descendants(pid)
}

// killHard SIGKILLs p's group and the descendants recorded at the start of the stop, then waits for the group to
// empty.
func (d *Daemon) killHard(p *proc) {
	if !p.running() {
		return
	}
	d.log.Printf("%s[%d]: still alive after kill_timeout %v, sending SIGKILL", p.app.Name, p.id, p.app.KillTimeout.D())
	platform.SignalGroup(p.pid, syscall.SIGKILL)
	for _, c := range p.tree {
		platform.Signal(c, syscall.SIGKILL)
	}
	d.waitGroupGone(p)
}

// waitGroupGone polls until no process of p's group is left, then marks p stopped. Members of the group are our
// children or were adopted by us (subreaper), so they are reaped and vanish promptly once killed.
func (d *Daemon) waitGroupGone(p *proc) {
	if !p.leaderGone {
		return // the leader's exit will call back
	}
	if platform.GroupAlive(p.pid) || anyAlive(p.tree) {
		gen := p.gen
		time.AfterFunc(20*time.Millisecond, func() {
			d.post(func() {
				if p.gen == gen {
					d.waitGroupGone(p)
				}
			})
		})
		return
	}
	d.down(p)
}

func anyAlive(pids []int) bool {
	for _, pid := range pids {
		if platform.Alive(pid) {
			return true
		}
	}
	return false
}

// down finishes a requested stop.
func (d *Daemon) down(p *proc) {
	p.stopTimer()
	d.removePidFile(p)
	p.pid, p.leaderGone, p.tree, p.stopAsked = 0, false, nil, false
	p.gen++
	p.status = api.StatusStopped
	if p.reason == "" {
		p.reason = "stopped"
	}
	if p.failReason != "" {
		p.status, p.reason, p.failReason = api.StatusErrored, p.failReason, ""
	}
	d.emit(p, p.reason)
	d.settle(p)
}

// onExit handles a reaped child.
func (d *Daemon) onExit(e platform.Exit) {
	var p *proc
	for _, q := range d.procs {
		if q.pid == e.PID && !q.leaderGone {
			p = q
			break
		}
	}
	if p == nil {
		if w := d.draining[e.PID]; w != nil {
			w.exited = true
			d.drainCheck(w)
		}
		return // otherwise an adopted orphan or a group member: reaping it was the whole job
	}
	code := e.Code
	p.exitCode, p.exitSig = &code, e.Signal
	p.leaderGone = true
	uptime := time.Since(p.startedAt)
	if p.stopAsked {
		p.reason = "stopped"
		d.waitGroupGone(p)
		return
	}
	if p.reload != nil {
		// The new worker died before it was ready: the old one keeps serving.
		p.leaderGone = false
		d.reloadFailed(p, fmt.Sprintf("new worker exited before it was ready (code %d%s)", e.Code, sigSuffix(e.Signal)))
		return
	}
	// The leader died on its own: what it leaves in its group has lost its supervisor and would hold the app's
	// ports against the restart, so it goes now.
	if platform.GroupAlive(p.pid) {
		platform.SignalGroup(p.pid, syscall.SIGKILL)
	}
	d.removePidFile(p)
	p.pid, p.leaderGone = 0, false
	dec := decide(&p.app, p.unstable, p.backoff, exitFacts{code: e.Code, signal: e.Signal, uptime: uptime})
	if dec.unstable {
		p.unstable++
	}
	if uptime >= backoffReset {
		p.backoff = 0
	}
	p.reason = dec.reason
	switch dec.act {
	case actStop:
		p.status = api.StatusStopped
		d.emit(p, dec.reason)
	case actErrored:
		p.status = api.StatusErrored
		d.log.Printf("%s[%d]: errored: %s", p.app.Name, p.id, dec.reason)
		d.emit(p, dec.reason)
	case actRestart:
		p.backoff = dec.backoff
		p.restarts++
		if dec.delay > 0 {
			p.status = api.StatusWaiting
			p.reason = fmt.Sprintf("%s; restarting in %v", dec.reason, dec.delay)
			d.after(p, dec.delay, func() { d.start(p, nil) })
			p.nextStart = time.Now().Add(dec.delay) // after d.after, which clears it
			d.emit(p, p.reason)
			return
		}
		p.status = api.StatusLaunching // between the exit and the new pid: not online
		d.emit(p, dec.reason)
		d.start(p, nil)
		return
	}
	d.settle(p)
}

// snapshot is p as a client sees it.
func (d *Daemon) snapshot(p *proc) api.Process {
	out, errp, comb := d.logPaths(p)
	s := api.Process{ID: p.id, Name: p.app.Name, Namespace: p.app.Namespace, PID: p.pid, Status: p.status,
		Restarts: p.restarts, UnstableRestarts: p.unstable, ExitCode: p.exitCode, ExitSignal: p.exitSig,
		Instance: p.instance, Mode: p.app.ExecMode, CreatedAt: p.createdAt, Reason: p.reason, StatusText: p.statusText,
		OutLog: out, ErrLog: errp, CombinedLog: comb, Config: p.app.Clone()}
	if p.pid != 0 {
		t := p.startedAt
		s.StartedAt = &t
		s.UptimeMS = time.Since(p.startedAt).Milliseconds()
		s.CPU, s.Memory = p.cpu, p.mem
	}
	if !p.nextStart.IsZero() {
		t := p.nextStart
		s.NextRestart = &t
	}
	return s
}

func envMap(kv []string) map[string]string {
	m := make(map[string]string, len(kv))
	for _, s := range kv {
		if k, v, ok := strings.Cut(s, "="); ok {
			m[k] = v
		}
	}
	return m
}

func envList(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	return out
}
