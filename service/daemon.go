// Package service is the gpm daemon: the process table, the supervision loop that starts, stops and restarts
// applications, their logs, the saved list (dump), and the control server that clients talk to.
//
// One goroutine, the supervision loop, owns the process table: control requests, child exits and timers are all
// turned into functions run on it (Daemon.exec, Daemon.do, Daemon.post), so the table needs no locks and every state change
// happens in one place, in order.
package service

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/gpmd/gpm/activation"
	"github.com/gpmd/gpm/api"
	"github.com/gpmd/gpm/platform"
	"github.com/gpmd/gpm/platform/cgroup"
	"github.com/gpmd/gpm/service/settings"
)

// Options configure a daemon.
type Options struct {
	Home string // GPM_HOME, absolute
	// Socket is the control socket path; "" means GPM_HOME/gpm.sock. Ignored when systemd passes the socket.
	Socket  string
	Version string
	// Resurrect starts the saved list before serving (what a service unit does at boot).
	Resurrect bool
	// Log receives the daemon's own messages; nil discards them.
	Log io.Writer
	// MemoryLimit, when set, is the daemon's soft memory limit (runtime/debug.SetMemoryLimit) while its live heap is
	// small; it follows twice the live heap beyond that. 0 leaves the Go runtime's default.
	MemoryLimit int64
	// SampleInterval is how often cpu and memory are read; 0 means 2 s.
	SampleInterval time.Duration
	// TrustSocketGroup admits every client that could connect to the control socket, not only root and the
	// daemon's own uid: the socket's file mode and group are then the access check. It is for the system daemon,
	// whose socket gpm.socket makes 0660 root:gpm, so that members of group gpm may control it (which makes them
	// root-equivalent, like the docker group). Never set it for a socket that others can reach. A daemon running
	// with GPM_SYSTEM=1 (gpm --system daemon) behaves as if it were set.
	TrustSocketGroup bool
}

// Daemon is a running manager. Create it with New and run it with Run.
type Daemon struct {
	opts Options
	log  *log.Logger
	euid int
	hub  *hub
	ops  chan func()
	// reqs carries the functions of control requests (exec), apart from ops: in a crash storm in cgroup mode, each
	// run's cgroup events and timers keep ops full, and a request queued behind them waited a second for `gpm ls`
	// (TestFaultCrashStormLsFast). On a channel of its own it waits for a few loop turns at most.
	reqs  chan func()
	exits chan platform.Exit
	quit  chan struct{} // closed by "kill" (through stopRun) to end Run
	// loopDone is closed when the loop has returned: a request after that would wait for it forever (gpm run's
	// start call, when SIGTERM stopped the daemon first, did).
	loopDone chan struct{}
	gone     chan struct{} // closed when Run has released the home (socket removed, lock released)
	// unfinished: the previous daemon of this home did not reach the end of Run (it left its pid file), so it may
	// have left apps running (takeOver). Set by Run before anything starts.
	unfinished bool
	// sampling tells the sampler that a subscriber arrived (sampleSoon).
	sampling chan struct{}
	// serving is closed once Run serves (Serving): the control socket listens, the run record of a dead daemon was
	// swept and the saved list (with Options.Resurrect) is back; an app started before the sweep would be swept.
	serving chan struct{}
	// quitOnce makes stopRun idempotent: two kills at once both end up closing quit.
	quitOnce sync.Once
	ctl      controlLimits // the control server's connections and request bytes (control.go)

	// Owned by the loop goroutine.
	procs  map[int]*proc
	nextID int
	// env is the daemon's own environment, used for apps registered without a caller environment.
	env     map[string]string
	sockets map[string][]*activation.Socket // by app name, held for the app's whole life
	// adopted are the addresses of sockets that apps' Node workers asked for (LISTEN=, node.go), by app name: a
	// process file given again does not name them, and they stay.
	adoptedListens map[string][]string
	draining       map[int]*drain // old workers of reloads, by pid
	// inherited are the sockets systemd passed in LISTEN_FDS, until an app claims them.
	inherited []*activation.Socket

	pidOps *pidQueue      // to the pid file writer
	tree   *platform.Tree // this loop turn's snapshot of the process tree (descendants)
	// contain is the fallback containment's state and the run record's writer (contain.go, leftover.go).
	contain containment
	// cg is the cgroup subtree of cgroup containment (cgroup.go); nil in fallback mode. containMode and containWhy
	// say which containment is in effect and why. Set before the loop starts.
	cg                      *cgroup.Hierarchy
	containMode, containWhy string
	// halts are the stops under way in cgroup mode, by the run's cgroup: its cgroup.events changes wake them.
	halts map[*cgroup.Group]*halt

	self     string   // this binary, the trampoline for socket apps
	selfFile *os.File // self, open: what the trampoline is exec'd from
	devNull  *os.File // the apps' stdin
	// guests are the endpoints for apps running as other users, by uid, in guestDir (endpointsFor).
	guests   map[int]*guest
	guestDir string
	// watchers are the file watchers of the apps with watch, by app name (watch.go).
	watchers map[string]*appWatch
	notify   *activation.NotifyServer
	sd       *supervisor
	// notifyStream is the Node shim's notify socket ("" when unavailable).
	notifyStream string
	// runCtx lives as long as Run: work the daemon starts on its own (not for a client) uses it.
	runCtx context.Context
	// control is the control socket when systemd passed it (gpm.socket); otherwise Run creates it.
	control net.Listener
	// stored are the sockets systemd kept in its fd store for us, by FDNAME, until their app claims them.
	stored map[string]*os.File
	// settings is the store of `gpm set` (logrotate.go); logDefaults, the loop's copy of its logrotate section.
	settings    settingsState
	logDefaults settings.LogDefaults
	// journal is the connection to journald for apps with log_type journal (journal.go).
	journal journalState
	// ids caches who apps run as (identity.go): the loop never waits on NSS.
	ids identities
	// streams counts the apps' output streams not read to their end yet (pump): Run waits for them to end.
	streams streamCount
}

// streamCount counts open output streams; idle is closed whenever the count is 0.
type streamCount struct {
	mu   sync.Mutex
	n    int
	idle chan struct{}
}

func (c *streamCount) add() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == 0 {
		c.idle = make(chan struct{})
	}
	c.n++
}

func (c *streamCount) done() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n--; c.n == 0 {
		close(c.idle)
	}
}

// wait waits until no stream is open, at most timeout; it returns how many are still open.
func (c *streamCount) wait(timeout time.Duration) int {
	c.mu.Lock()
	idle, n := c.idle, c.n
	c.mu.Unlock()
	if n == 0 {
		return 0
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-idle:
	case <-t.C:
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// maxOutputDrain bounds how long Run waits, once every app is down, for what they wrote to be read from their
// pipes and written out (a slow journal): a process that escaped its app and still holds a pipe would otherwise
// hold the daemon's exit for ever.
const maxOutputDrain = 10 * time.Second

// NotifyName is the NOTIFY_SOCKET gpm serves to its workers, in GPM_HOME.
const NotifyName = "notify.sock"

// ErrAlreadyRunning means another daemon owns the home.
var ErrAlreadyRunning = errors.New("a gpm daemon is already running for this GPM_HOME")

// New prepares a daemon; nothing is started until Run.
func New(opts Options) *Daemon {
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	if opts.SampleInterval == 0 {
		opts.SampleInterval = 2 * time.Second
	}
	return &Daemon{
		opts:     opts,
		log:      log.New(opts.Log, "", log.LstdFlags|log.Lmsgprefix),
		euid:     os.Geteuid(),
		hub:      newHub(),
		ops:      make(chan func(), 64),
		reqs:     make(chan func()),
		exits:    make(chan platform.Exit, 64),
		quit:     make(chan struct{}),
		loopDone: make(chan struct{}),
		gone:     make(chan struct{}),
		serving:  make(chan struct{}),
		pidOps:   newPidQueue(),
		procs:    map[int]*proc{},
		env:      envMap(os.Environ()),
		sockets:  map[string][]*activation.Socket{},
		stored:   map[string]*os.File{},
		draining: map[int]*drain{},
		halts:    map[*cgroup.Group]*halt{},
		guests:   map[int]*guest{},
		watchers: map[string]*appWatch{},
		sampling: make(chan struct{}, 1),
	}
}

func (d *Daemon) path(name ...string) string {
	return filepath.Join(append([]string{d.opts.Home}, name...)...)
}

// Run serves until ctx ends, a "kill" request arrives, or SIGTERM/SIGINT; then it stops every app and returns.
func (d *Daemon) Run(ctx context.Context) error {
	// A home that another user made or can write would have this daemon (maybe root) run its dump.json and
	// write through its links: refuse it before anything in it is used (issue 11 item 2).
	if err := api.CheckHome(d.opts.Home); err != nil {
		return fmt.Errorf("daemon: %w", err)
	}
	for _, dir := range []string{d.opts.Home, d.path(api.LogsDir), d.path(api.PidsDir)} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("daemon: %w", err)
		}
	}
	if err := os.Chmod(d.opts.Home, 0o700); err != nil {
		return fmt.Errorf("daemon: %w", err)
	}
	d.sd = newSupervisor(d.env)
	d.takeInherited()
	lock, err := platform.Lock(d.path(api.LockName), false)
	if err != nil {
		return fmt.Errorf("daemon: %w", err)
	}
	if lock == nil {
		return ErrAlreadyRunning
	}
	defer lock.Close()
	defer close(d.gone)
	// The cgroup subtree (in cgroupfs) and the Node shim's file and socket are made while the control and notify
	// sockets are, side by side: steps that need nothing of each other, and the start of the first app waits for
	// all of them (issue 10: gpm run's start-up). Both are in place before the loop starts.
	contained := make(chan struct{})
	go func() {
		defer close(contained)
		d.openContainment()
	}()
	nodeReady := make(chan net.Listener, 1)
	go func() {
		nl, err := d.startNodeSupport()
		if err != nil {
			d.log.Printf("warning: %v: Node apps get no cluster shim", err)
			nl = nil
		}
		nodeReady <- nl
	}()
	// sideBySide waits for both; undo, for a start that fails, releases what they made.
	var nodeLn net.Listener
	sideBySide := func(undo bool) {
		if contained != nil {
			<-contained
			nodeLn = <-nodeReady
			contained = nil
		}
		if undo {
			if d.cg != nil {
				d.cg.Close()
				d.cg = nil
			}
			if nodeLn != nil {
				nodeLn.Close()
			}
		}
	}
	d.openSettings()
	if err := platform.SetSubreaper(); err != nil {
		d.log.Printf("warning: cannot become a subreaper (%v): apps that daemonize escape supervision", err)
	}
	// A write to a closed pipe (a client that went away, a dead journald) must not kill the daemon. Caught, not
	// ignored: an ignored signal stays ignored across exec, and every app would start with SIGPIPE ignored (a
	// `producer | head` in it would not end its producer), where a caught one is reset to its default there. The
	// channel is never read (a full one drops the signal) nor stopped, as Ignore was never undone.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	// Every app's stdin, opened once rather than at every start. Without it platform.Start opens its own.
	if d.devNull, err = os.Open(os.DevNull); err != nil {
		d.log.Printf("warning: %v", err)
	} else {
		defer d.devNull.Close()
	}
	ln := d.control
	if ln == nil {
		if ln, err = platform.Listen(d.socketPath()); err != nil {
			sideBySide(true)
			return fmt.Errorf("daemon: %w", err)
		}
	}
	if d.self, err = os.Executable(); err != nil {
		ln.Close()
		sideBySide(true)
		return fmt.Errorf("daemon: %w", err)
	}
	// Socket apps start through this very binary (the trampoline), exec'd by descriptor: an app running as another
	// user may not reach it by name, and an upgrade that replaces it on disk must not change what the trampoline is.
	if d.selfFile, err = os.Open(d.self); err != nil {
		d.log.Printf("warning: %v: socket apps start through %s by name", err, d.self)
		d.selfFile = nil
	} else {
		defer d.selfFile.Close()
	}
	if d.notify, err = activation.ListenNotify(d.path(NotifyName)); err != nil {
		d.log.Printf("warning: %v: apps cannot report readiness", err)
		d.notify = nil
	} else {
		defer d.notify.Close()
	}
	pidFile := d.path(api.PidName)
	// The pid file is also the mark of a daemon that did not finish: written before anything starts, removed only
	// at the end of Run, once every app is stopped (not by a defer: a panic leaves it too). One left here means the
	// last daemon of this home was killed or crashed with its apps running, and takeOver sweeps; none, that it
	// ended cleanly (or never ran), and the sweep would scan every process on the machine for nothing.
	if _, err := os.Lstat(pidFile); !errors.Is(err, fs.ErrNotExist) {
		d.unfinished = true
	}
	if err := os.WriteFile(pidFile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o600); err != nil {
		ln.Close()
		sideBySide(true)
		return fmt.Errorf("daemon: pid file: %w", err)
	}
	sideBySide(false)
	if nodeLn != nil {
		defer nodeLn.Close()
	}

	// The loop, the reaper and the servers run until Run has stopped every app, which takes the loop: the end of
	// the caller's ctx only begins the stop (as "kill" and SIGTERM do).
	outer := ctx
	ctx, cancel := context.WithCancel(context.WithoutCancel(outer))
	defer cancel()
	d.runCtx = ctx
	if nodeLn != nil {
		go d.serveNodeNotify(nodeLn) // only now: its connections read d.runCtx
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, append(append([]os.Signal{}, stopSignals...), reopenSignals...)...)
	defer signal.Stop(sigs)

	pidsDone := make(chan struct{})
	go d.pidFiles(d.pidOps, pidsDone)
	go platform.Reap(ctx, d.exits)
	go func() { d.loop(ctx); close(d.loopDone) }()
	go d.sample(ctx)
	if d.notify != nil {
		go d.listenNotify(ctx, d.notify)
	}
	// What a daemon killed without stopping its apps left must go before the saved list starts again.
	d.takeOver(ctx)

	if d.opts.Resurrect {
		// A long resurrect must not hit systemd's start timeout.
		d.sd.send("EXTEND_TIMEOUT_USEC=60000000")
		if res, err := d.resurrect(ctx, nil); err != nil && !errors.Is(err, errNoDump) {
			d.log.Printf("resurrect: %v", err)
		} else if res != nil {
			d.log.Printf("resurrected from %s: %d started, %d kept stopped", res.Source, len(res.Started), len(res.Stopped))
		}
	}
	d.exec(ctx, func() {
		if d.opts.Resurrect {
			d.dropUnclaimed()
		} else {
			for _, s := range d.inherited {
				d.log.Printf("socket %q from systemd kept for the app that asks for listen: systemd:%s", s.Spec.Name, s.Spec.Name)
			}
		}
		d.updateStatus()
	})
	if err := d.sd.send("READY=1\nMAINPID=" + strconv.Itoa(os.Getpid())); err != nil {
		d.log.Printf("sd_notify READY=1: %v", err)
	}
	go d.serve(ctx, ln)
	close(d.serving)
	waitSurfaces := d.startSurfaces(ctx)
	d.log.Printf("daemon %s up, pid %d, home %s", d.opts.Version, os.Getpid(), d.opts.Home)

	for running := true; running; {
		select {
		case <-outer.Done():
			running = false
		case <-d.quit:
			running = false
		case s := <-sigs:
			if slices.Contains(reopenSignals, s) {
				d.log.Printf("%v: reopening log files", s)
				d.reloadLogs()
				continue
			}
			d.log.Printf("%v: stopping every app, then exiting", s)
			running = false
		}
	}
	ln.Close()
	d.sd.send("STOPPING=1")
	d.stopAll(context.Background())
	// The daemon's process exits once Run returns: what the apps wrote before they ended, still in their pipes or
	// in a pump behind a slow journal, would be lost (a container's last lines under gpm run). Before cancel, so
	// that Follow still hands over the events of those lines.
	if n := d.streams.wait(maxOutputDrain); n > 0 {
		d.log.Printf("%d output stream(s) still open %v after every app stopped (a process outside the apps holds the pipe?): what is left in them is lost", n, maxOutputDrain)
	}
	cancel()
	waitSurfaces()
	<-d.loopDone
	if d.cg != nil {
		d.cg.Close()
	}
	d.closeGuests()
	d.closeWatchers()
	d.pidOps.close()
	<-pidsDone
	if d.control == nil {
		os.Remove(d.socketPath())
	}
	os.Remove(pidFile)
	lock.Close()
	d.log.Printf("daemon exited")
	return nil
}

// socketPath is where the control socket goes: Options.Socket, or GPM_HOME/gpm.sock.
func (d *Daemon) socketPath() string {
	if d.opts.Socket != "" {
		return d.opts.Socket
	}
	return api.SocketPath(d.opts.Home)
}

// loop is the supervision loop: the only goroutine that touches the process table.
func (d *Daemon) loop(ctx context.Context) {
	// The watchdog ping comes from this loop, not from a free-running ticker: if the loop wedges, the pings stop and
	// systemd restarts us, which is the whole point of WatchdogSec=.
	var watchdog <-chan time.Time
	if d.sd.watchdog > 0 {
		t := time.NewTicker(d.sd.watchdog)
		defer t.Stop()
		watchdog = t.C
		d.sd.post("WATCHDOG=1", nil) // queued: the loop never waits on systemd
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-watchdog:
			d.sd.try("WATCHDOG=1")
			d.updateStatus() // resends a STATUS= lost to a full queue
		case fn := <-d.reqs:
			d.tree = nil
			d.runOp(fn)
		case fn := <-d.ops:
			d.tree = nil
			d.runOp(fn)
		case e := <-d.exits:
			d.tree = nil
			d.onExit(e)
		}
	}
}

// runOp runs fn on the loop. A panic in it is recovered and logged with its stack, and the loop goes on: a bug in
// one operation must not end the supervision of every app (which a daemon exit would: Pdeathsig). What fn changed
// before it panicked stays changed; the operation that panicked reports an error (exec).
func (d *Daemon) runOp(fn func()) {
	defer func() {
		if r := recover(); r != nil {
			d.log.Printf("panic on the supervision loop: %v\n%s", r, debug.Stack())
		}
	}()
	fn()
}

// errStopped answers a request that came after the daemon stopped its loop.
var errStopped = &api.Error{Code: api.CodeFailed, Message: "the daemon has stopped"}

// errPanicked is what exec returns when its function panicked on the loop (runOp logged it).
var errPanicked = &api.Error{Code: api.CodeFailed, Message: "internal error: the operation panicked (a bug: the daemon's log has the details)"}

// exec runs fn on the loop and waits for it. It returns ctx's error if ctx ends first, errStopped if the loop has
// ended, errPanicked if fn panicked.
func (d *Daemon) exec(ctx context.Context, fn func()) error {
	done := make(chan bool, 1) // true when fn returned
	op := func() {
		ok := false
		defer func() { done <- ok }()
		fn()
		ok = true
	}
	select {
	case d.reqs <- op:
	case <-ctx.Done():
		return ctx.Err()
	case <-d.loopDone:
		return errStopped
	}
	select {
	case ok := <-done:
		if !ok {
			return errPanicked
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// do runs fn on the loop and returns its error, or ctx's if the loop could not be reached.
func (d *Daemon) do(ctx context.Context, fn func() error) error {
	var err error
	if xerr := d.exec(ctx, func() { err = fn() }); xerr != nil {
		return xerr
	}
	return err
}

// post queues fn on the loop without waiting; timers use it. It must not be called from the loop itself. Once the
// loop has ended fn is dropped: a timer that fires after the daemon stopped must not hold its goroutine for ever.
func (d *Daemon) post(fn func()) {
	select {
	case d.ops <- fn:
	case <-d.loopDone:
	}
}

// emit publishes a state change of p (and keeps systemd's STATUS= current). Runs on the loop.
func (d *Daemon) emit(p *proc, reason string) {
	d.updateStatus()
	if !d.hub.active() {
		return
	}
	d.hub.publish(api.Event{Type: api.EventState, Time: time.Now(), ID: p.id, Name: p.app.Name, Status: p.status,
		PID: p.pid, Reason: reason})
}

// emitDeleted publishes that p has left the table: a live view (monit, the dashboard, D-Bus) drops it now rather
// than at its next full read. Runs on the loop.
func (d *Daemon) emitDeleted(p *proc) {
	d.updateStatus()
	if !d.hub.active() {
		return
	}
	d.hub.publish(api.Event{Type: api.EventState, Time: time.Now(), ID: p.id, Name: p.app.Name, Status: api.StatusDeleted})
}

// serve accepts control connections until ln is closed; a failed accept (out of descriptors) is retried.
func (d *Daemon) serve(ctx context.Context, ln net.Listener) {
	acceptLoop(ln, d.log.Printf, "control socket", func(c net.Conn) { d.admitConn(ctx, c) })
}
