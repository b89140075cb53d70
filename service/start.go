package service

import (
	"fmt"
	"os"
	"time"

	"github.com/gpmd/gpm/activation"
	"github.com/gpmd/gpm/api"
	"github.com/gpmd/gpm/platform"
	"github.com/gpmd/gpm/platform/cgroup"
	"github.com/gpmd/gpm/service/logpump"
)

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

// startAll is start for several processes. The fork/execs run one after the other, on the loop: spawning from
// several goroutines gained nothing measurable, because on 2 cores the children's own start-up takes the CPUs the
// spawner would need (50 shell-script apps: 45–60 ms with 1, 2, 4 or 8 spawning goroutines, as with a tiny test
// program; BENCHMARKS.md). thens[i] (may be nil) belongs to ps[i].
func (d *Daemon) startAll(ps []*proc, thens []func()) []error {
	jobs := make([]*spawnJob, len(ps))
	errs := make([]error, len(ps))
	spawned := map[string]bool{}     // apps of which this batch already started a worker: it holds their sockets
	pending := make([]bool, len(ps)) // waiting for their identity (started again later), or deleted
	spawn := newSpawner(len(ps))
	for i, p := range ps {
		if d.procs[p.id] != p {
			// Deleted while the stop this start follows was under way (a restart, a smart start or a reload racing a
			// delete: each waits for the stop, then starts): a run started now would be supervised by nothing, and
			// would run until the daemon exits. Its waiter is answered; the process stays gone.
			pending[i] = true
			errs[i] = fmt.Errorf("start %s (id %d): deleted meanwhile", p.app.Name, p.id)
			if thens[i] != nil {
				thens[i]()
			}
			continue
		}
		if thens[i] != nil {
			p.settled = append(p.settled, thens[i])
		}
		p.gen++
		p.stopTimer()
		p.held = false
		d.armCron(p)
		d.armWatch(p)
		if p.halt != nil {
			d.haltDrop(p.halt) // a start replaces a stop under way
			p.halt = nil
		}
		p.stopAsked, p.leaderGone, p.failReason, p.statusText = false, false, "", ""
		p.exitCode, p.exitSig = nil, ""
		if d.identityPending(p) {
			// The user is looked up off the loop; p starts when it is known (its settled callbacks wait).
			pending[i] = true
			p.status, p.pid = api.StatusLaunching, 0
			d.emit(p, "looking up user "+p.app.User)
			continue
		}
		if jobs[i], errs[i] = d.prepare(p); errs[i] == nil {
			if len(jobs[i].socks) > 0 && !spawned[p.app.Name] && !d.socketsHeld(p) {
				// As systemd does at every spawn (NonBlocking=), but only while no other worker holds the sockets:
				// see socketsHeld.
				if err := activation.SetNonblock(jobs[i].socks, p.app.NonBlocking); err != nil {
					d.log.Printf("%s[%d]: %v", p.app.Name, p.id, err)
				}
			}
			spawn.run(jobs[i])
			// Counted as started even if its fork fails: it set the sockets' mode before, which is what matters.
			spawned[p.app.Name] = true
		}
	}
	spawn.wait()
	for i, p := range ps {
		if pending[i] {
			continue
		}
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

// spawner runs the fork/exec of a batch's jobs in order. With more than one job they run on a goroutine of their
// own while the loop prepares the next app: a fork/exec waits for its child's exec (vfork), 2-3 ms on 2 busy
// cores, and the loop's preparing of the next app (its log files, cgroup and pipes: ~0.5 ms, mostly in the kernel)
// fits in that wait instead of following it.
type spawner struct {
	jobs chan *spawnJob // nil: run in place
	done chan struct{}
}

func newSpawner(n int) spawner {
	if n < 2 {
		return spawner{}
	}
	s := spawner{jobs: make(chan *spawnJob, n), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for j := range s.jobs {
			j.run() // touches the job alone: the loop reads it only after wait
		}
	}()
	return s
}

func (s spawner) run(j *spawnJob) {
	if s.jobs == nil {
		j.run()
		return
	}
	s.jobs <- j
}

// wait returns when every job given to run has run.
func (s spawner) wait() {
	if s.jobs != nil {
		close(s.jobs)
		<-s.done
	}
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
	socks      []*activation.Socket // the app's listening sockets, given as cmd.ExtraFiles
	cg         *cgroup.Group        // the run's cgroup (cgroup mode)
	cpuBase    time.Duration
	outR, errR *logpump.Reader
	stdinW     *os.File // the daemon's end of the stdin pipe (app.Stdin)
	pid        int
	err        error
}

// prepare resolves the command, opens the logs, the pipes and the sockets of p. Runs on the loop.
func (d *Daemon) prepare(p *proc) (*spawnJob, error) {
	id, env, err := d.childEnv(p)
	if err != nil {
		return nil, err
	}
	p.uid = id.uid
	exe, argv, err := d.command(p, env)
	if err != nil {
		return nil, err
	}
	if err := d.openLogs(p); err != nil {
		return nil, err
	}
	socks, err := d.socketsFor(&p.app, p.uid)
	if err != nil {
		return nil, err
	}
	if len(socks) > 0 {
		env = append(env, activation.Env(socks)...)
		argv = activation.TrampolineArgs(d.self, exe, argv)
		exe = d.self
		if d.selfFile != nil {
			exe = platform.ExecPath(d.selfFile)
		}
	}
	j := &spawnJob{socks: socks, cmd: platform.Cmd{Path: exe, Args: argv, Env: env, Dir: p.app.Cwd, UID: id.uid, GID: id.gid,
		Groups: id.groups, Stdin: d.devNull, ExtraFiles: activation.Files(socks)}}
	if p.app.Stdin {
		if j.cmd.Stdin, j.stdinW, err = os.Pipe(); err != nil {
			return nil, fmt.Errorf("stdin pipe: %w", err)
		}
	}
	if j.cg, j.cpuBase, err = d.newCgroup(p); err != nil {
		j.closeStdin()
		return nil, err
	}
	if j.cg != nil {
		j.cmd.Cgroup = j.cg.FD()
	}
	if j.outR, j.cmd.Stdout, err = logpump.Pipe(); err != nil {
		j.closeStdin()
		j.dropCgroup()
		return nil, err
	}
	if j.errR, j.cmd.Stderr, err = logpump.Pipe(); err != nil {
		j.outR.Close()
		j.cmd.Stdout.Close()
		j.closeStdin()
		j.dropCgroup()
		return nil, err
	}
	return j, nil
}

// closeStdin closes both ends of a stdin pipe that no process got.
func (j *spawnJob) closeStdin() {
	if j.stdinW != nil {
		j.cmd.Stdin.Close()
		j.stdinW.Close()
		j.stdinW = nil
	}
}

// run forks and execs.
func (j *spawnJob) run() {
	j.pid, j.err = platform.Start(&j.cmd)
	j.cmd.Stdout.Close()
	j.cmd.Stderr.Close()
	if j.stdinW != nil {
		j.cmd.Stdin.Close() // the child's end
		if j.err != nil {
			j.stdinW.Close()
			j.stdinW = nil
		}
	}
	if j.err != nil {
		j.outR.Close()
		j.errR.Close()
		j.dropCgroup()
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
	p.cg, p.cpuBase = j.cg, j.cpuBase
	p.closeStdin()
	p.stdin = j.stdinW
	d.noteRunning()
	d.pump(p, j.outR, "out", p.out)
	d.pump(p, j.errR, "err", p.err)
	d.writePidFile(p)
	return nil
}

// socketsHeld reports whether a worker of p's app other than p holds the app's sockets: a running instance, or
// the old worker of a reload still draining. The blocking mode of a socket belongs to its open file description,
// which all of them share; changing it under a worker that set O_NONBLOCK (every Go worker does, and a careful
// Python worker) leaves it waiting in accept(2) for a connection another worker took, past its stop signal.
func (d *Daemon) socketsHeld(p *proc) bool {
	for _, q := range d.procs {
		if q != p && q.pid != 0 && q.app.Name == p.app.Name {
			return true
		}
	}
	for _, w := range d.draining {
		if w.name == p.app.Name {
			return true
		}
	}
	return false
}
