package service

import (
	"context"
	"fmt"
	"github.com/gpmd/gpm/platform/safefs"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"github.com/gpmd/gpm/activation"
	"github.com/gpmd/gpm/api"
	"github.com/gpmd/gpm/config"
	"github.com/gpmd/gpm/platform"
	"github.com/gpmd/gpm/platform/cgroup"
)

// drain is a worker on its way out after a reload: it got its kill signal once its successor was ready, and has
// kill_timeout to finish its requests before SIGKILL. It is no longer in the process table.
type drain struct {
	pid       int
	startedAt time.Time
	cg        *cgroup.Group // its run's cgroup (cgroup mode)
	name      string
	app       config.App
	halt      *halt // its stop, begun by drainStop; its leader's exit is noted there from the start
	done      []func()
}

// newDrain turns the run of p (leader pid, cgroup cg) into a drain, out of the process table. exited says that its
// leader was reaped already.
func (d *Daemon) newDrain(p *proc, pid int, startedAt time.Time, cg *cgroup.Group, exited bool) *drain {
	w := &drain{pid: pid, startedAt: startedAt, cg: cg, name: p.app.Name, app: p.app.Clone()}
	// Its members are the leader's descendants only: orphans carry the GPM_ID that the new worker shares.
	w.halt = &halt{name: w.name, id: -1, pid: pid, cg: cg, timeout: w.app.KillTimeout.D(), leaderGone: exited, leaderOnly: w.app.NoTreekill,
		members: func() []platform.ProcID { return d.runMembers(pid, w.halt.leaderGone, -1) }}
	w.halt.done = func() {
		if d.draining[pid] != w {
			return
		}
		delete(d.draining, pid)
		if w.cg != nil {
			w.cg.Remove()
		}
		d.noteRunning()
		for _, f := range w.done {
			f()
		}
	}
	d.draining[pid] = w
	return w
}

// socketsFor returns the app's listening sockets, binding them on first use. They are held until the app's last
// process is deleted, so connections queue in the kernel while workers come and go and are never refused. uid is
// who the app runs as (-1: as the daemon), whose directories a unix socket's path may cross (bind).
func (d *Daemon) socketsFor(a *config.App, uid int) ([]*activation.Socket, error) {
	if len(a.Listen) == 0 {
		return nil, nil
	}
	if socks, ok := d.sockets[a.Name]; ok {
		return socks, nil
	}
	var socks []*activation.Socket
	for _, l := range a.Listen {
		spec, err := activation.ParseSpec(l)
		if err != nil {
			closeSockets(socks)
			return nil, err
		}
		// A socket the previous daemon put in systemd's fd store is the same socket, still accepting: reuse it.
		if f, ok := d.stored[fdName(a.Name, spec)]; ok {
			delete(d.stored, fdName(a.Name, spec))
			s := &activation.Socket{Spec: spec, File: f}
			if spec.Network == "unix" {
				// Its Close removes the name: through the directory checked now, never by a path walked again.
				if s.Dir, err = safefs.OpenDir(filepath.Dir(spec.Address), uid); err != nil {
					f.Close()
					closeSockets(socks)
					return nil, fmt.Errorf("listen %s: %w", spec, err)
				}
			}
			socks = append(socks, s)
			continue
		}
		s, err := d.bind(spec, uid)
		if err != nil {
			closeSockets(socks)
			return nil, err
		}
		d.storeSocket(a.Name, s)
		socks = append(socks, s)
	}
	// No worker holds them yet: they get the mode the app asks for (a socket from the fd store has the mode its
	// last workers left).
	if err := activation.SetNonblock(socks, a.NonBlocking); err != nil {
		closeSockets(socks)
		return nil, err
	}
	d.sockets[a.Name] = socks
	return socks, nil
}

// bind creates a socket, or takes it from the sockets systemd handed the daemon. A unix socket is bound in its
// directory opened by safefs's rules for uid (the app's, -1: the daemon's): a root daemon removing the name a
// previous run left, and binding it, must not follow a link the app's user planted on the way.
func (d *Daemon) bind(spec activation.Spec, uid int) (*activation.Socket, error) {
	switch spec.Network {
	case "systemd":
		for i, s := range d.inherited {
			if s.Spec.Name == spec.Address {
				d.inherited = append(d.inherited[:i], d.inherited[i+1:]...)
				s.Spec.Name = spec.Name
				return s, nil
			}
		}
		return nil, fmt.Errorf("listen %s: systemd passed no socket named %q (FileDescriptorName= in the .socket unit)", spec, spec.Address)
	case "unix":
		dir, err := safefs.OpenDir(filepath.Dir(spec.Address), uid)
		if err != nil {
			return nil, fmt.Errorf("listen %s: %w", spec, err)
		}
		s, err := activation.BindUnixIn(dir, spec)
		if err != nil {
			dir.Close()
		}
		return s, err
	}
	return activation.Bind(spec)
}

func closeSockets(socks []*activation.Socket) {
	for _, s := range socks {
		s.Close()
	}
}

// releaseSockets closes an app's sockets once no process of it is left.
func (d *Daemon) releaseSockets(name string) {
	for _, p := range d.procs {
		if p.app.Name == name {
			return
		}
	}
	d.dropSockets(name)
	delete(d.adoptedListens, name)
}

// dropSockets closes an app's sockets (and takes them out of systemd's fd store).
func (d *Daemon) dropSockets(name string) {
	if socks, ok := d.sockets[name]; ok {
		delete(d.sockets, name)
		for _, s := range socks {
			d.unstoreSocket(name, s)
			if !d.sharedSocket(name, s) {
				s.Close()
			}
		}
	}
}

// reloadOne replaces p's worker with a new one without a gap: the new worker starts on the same sockets, and the
// old one is stopped only once the new one is ready. then runs with nil on success, or the reason of the failure;
// on failure the old worker keeps serving. A worker that is not running, or an app without sockets, is restarted.
func (d *Daemon) reloadOne(p *proc, counted bool, then func(error)) {
	if counted {
		p.restarts++
	}
	if !p.running() || p.stopAsked || p.status != api.StatusOnline || len(p.app.Listen) == 0 {
		d.stop(p, func() {
			d.start(p, func() {
				if p.status == api.StatusErrored {
					then(fmt.Errorf("%s (id %d): %s", p.app.Name, p.id, p.reason))
					return
				}
				then(nil)
			})
		})
		return
	}
	old := d.newDrain(p, p.pid, p.startedAt, p.cg, false)
	p.reload = old
	p.pid, p.cg = 0, nil
	var failed error
	p.reloadThen = func(err error) { failed = err }
	d.start(p, func() {
		if p.reload == nil {
			then(failed) // reloadFailed already restored the old worker
			return
		}
		p.reload = nil
		if p.status != api.StatusOnline {
			// A spawn failure: nothing new runs, the old worker stays.
			d.restore(p, old, p.reason)
			then(fmt.Errorf("%s (id %d): %s", p.app.Name, p.id, p.reason))
			return
		}
		d.drainStop(old, nil)
		then(nil)
	})
}

// reloadFailed is called when the new worker of a reload died or was not ready: it goes, the old one stays.
func (d *Daemon) reloadFailed(p *proc, reason string) {
	old := p.reload
	p.reload = nil
	if p.pid != 0 {
		// The new worker becomes a drain of its own and is killed.
		nw := d.newDrain(p, p.pid, p.startedAt, p.cg, p.leaderGone)
		p.cg = nil
		d.drainStop(nw, nil)
	}
	d.restore(p, old, reason)
	if p.reloadThen != nil {
		kept := "keeps serving"
		if old.halt.leaderGone {
			kept = "had exited meanwhile"
		}
		p.reloadThen(fmt.Errorf("%s (id %d): %s; the previous worker (pid %d) %s", p.app.Name, p.id, reason, old.pid, kept))
		p.reloadThen = nil
	}
	d.settle(p)
}

// restore puts the old worker of a failed reload back in place; if it has exited meanwhile, p is left errored.
func (d *Daemon) restore(p *proc, old *drain, reason string) {
	p.gen++
	p.stopTimer()
	if old.halt.leaderGone {
		// The old worker died while its successor started: there is nothing to put back. Put back all the same, p
		// showed online for ever with a pid reaped already (a stop then waited for an exit that had come, and
		// signalled whatever got the pid next). What is left of its run goes as a drain's does.
		d.drainStop(old, nil)
		p.pid, p.leaderGone = 0, false
		d.removePidFile(p)
		d.noteRunning()
		p.status, p.reason = api.StatusErrored, "reload failed: "+reason+"; the previous worker had exited meanwhile"
		d.emit(p, p.reason)
		return
	}
	delete(d.draining, old.pid)
	d.haltDrop(old.halt)
	p.pid, p.startedAt, p.leaderGone, p.cg = old.pid, old.startedAt, false, old.cg
	p.status, p.reason = api.StatusOnline, "reload failed: "+reason
	// Its watchdog was the run's the reload began to replace (p.gen has moved on since): without one of its own,
	// a worker that hung meanwhile would never be restarted.
	d.armWatchdog(p)
	d.writePidFile(p)
	d.emit(p, p.reason)
}

// drainStop stops an old worker with the stop state machine of every process (halt.go): its kill signal, SIGKILL
// after kill_timeout; then runs when nothing of its run is left.
func (d *Daemon) drainStop(w *drain, then func()) {
	if then != nil {
		w.done = append(w.done, then)
	}
	sig, err := platform.ParseSignal(w.app.KillSignal)
	if err != nil {
		sig = syscall.SIGINT
	}
	d.haltBegin(w.halt, sig)
}

func sigSuffix(sig string) string {
	if sig == "" {
		return ""
	}
	return ", " + sig
}

// reload replaces the workers of the targets, Parallel at a time (1 by default), each new worker ready before its
// predecessor stops. The first failure halts the reload: workers not yet replaced keep running as they were.
func (d *Daemon) reload(ctx context.Context, rp *api.ReloadParams) ([]api.Process, error) {
	// Under systemd a reload is announced: RELOADING=1 when the first of the reloads under way begins, READY=1
	// when the last ends.
	d.sd.reloadBegin(d.log.Printf)
	defer d.sd.reloadEnd(d.log.Printf)
	return d.reloadTargets(ctx, rp)
}

func (d *Daemon) reloadTargets(ctx context.Context, rp *api.ReloadParams) ([]api.Process, error) {
	var ids []int
	if len(rp.Apps) > 0 {
		// A process file: apply its configuration first, then reload what ran before. Its apps are checked first,
		// off the loop, as a start's are (checkStart): an app that cannot run would otherwise be applied, and its
		// running workers stopped for a start that fails.
		named := make(map[string]bool, len(rp.Apps))
		for i := range rp.Apps {
			name := rp.Apps[i].Name
			if named[name] {
				return nil, invalid("app %q is named twice in one reload: give each app its own name", name)
			}
			named[name] = true
			if err := d.checkRunnable(&rp.Apps[i], rp.CallerEnv); err != nil {
				return nil, err
			}
		}
		var waits []chan struct{}
		if err := d.do(ctx, func() (err error) {
			ids, waits, err = d.reconfigure(rp.Apps, rp.CallerEnv)
			return err
		}); err != nil {
			return nil, err
		}
		if err := waitAll(ctx, waits); err != nil {
			return nil, err
		}
		return d.reloadIDs(ctx, rp, ids, true)
	}
	if err := d.do(ctx, func() error {
		if slices.Equal(rp.Targets, []string{"all"}) && !d.hasApps() {
			return nil // `reload all` with nothing to reload (ExecReload= of an empty daemon) is not a failure
		}
		procs, err := d.resolve(rp.Targets)
		if err != nil {
			return err
		}
		for _, p := range procs {
			ids = append(ids, p.id)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	return d.reloadIDs(ctx, rp, ids, true)
}

// reconfigure applies a process file's apps: a running app takes its new configuration (its sockets must stay the
// same: they are shared with the workers still serving) and its instance count; a missing app is started. It
// returns the processes to reload, and channels closed when the new ones are up. Runs on the loop.
func (d *Daemon) reconfigure(apps []config.App, callerEnv map[string]string) ([]int, []chan struct{}, error) {
	var ids []int
	var waits []chan struct{}
	for i := range apps {
		if err := apps[i].Validate(); err != nil {
			return nil, nil, invalid("app %q: %v", apps[i].Name, err)
		}
	}
	if _, err := d.admissible(apps, func(i int, existing []*proc) int { return apps[i].Instances - len(existing) }); err != nil {
		return nil, nil, err
	}
	for i := range apps {
		d.withAdopted(&apps[i])
	}
	for _, app := range apps {
		if existing := d.instances(app.Name); len(existing) > 0 && !slices.Equal(existing[0].app.Listen, app.Listen) {
			return nil, nil, invalid("%s: listen changed from %v to %v: a reload keeps the sockets; use gpm restart to rebind", app.Name, existing[0].app.Listen, app.Listen)
		}
	}
	for _, app := range apps {
		existing, gone := d.keepInstances(d.instances(app.Name), app.Instances)
		waits = append(waits, gone...)
		for _, p := range existing {
			d.configure(p, app)
			ids = append(ids, p.id)
		}
		var b batch
		for _, inst := range d.freeInstances(app.Name, app.Instances-len(existing)) {
			p := d.register(app, inst, -1, callerEnv)
			ch := make(chan struct{})
			waits = append(waits, ch)
			b.add(p, func() { close(ch) })
		}
		b.run(d)
	}
	return ids, waits, nil
}

// reloadIDs reloads the processes ids, rp.Parallel at a time. counted says whether each replacement counts as a
// restart (not when the workers move onto a socket the app asked for).
func (d *Daemon) reloadIDs(ctx context.Context, rp *api.ReloadParams, ids []int, counted bool) ([]api.Process, error) {
	par := max(rp.Parallel, 1)
	for i := 0; i < len(ids); i += par {
		batch := ids[i:min(i+par, len(ids))]
		results := make(chan error, len(batch))
		if err := d.exec(ctx, func() {
			for _, id := range batch {
				p := d.procs[id]
				if p == nil {
					results <- nil
					continue
				}
				// --update-env applies to a worker only if its replacement succeeds: a halted reload leaves the
				// workers it did not replace exactly as they were.
				prevEnv := p.callerEnv
				if rp.UpdateEnv {
					p.callerEnv = rp.CallerEnv
				}
				d.reloadOne(p, counted, func(err error) {
					if err != nil {
						p.callerEnv = prevEnv
					}
					results <- err
				})
			}
		}); err != nil {
			return nil, err
		}
		var first error
		for range batch {
			select {
			case err := <-results:
				if err != nil && first == nil {
					first = err
				}
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		if first != nil {
			out, _ := d.snapshots(ctx, ids)
			return out, &api.Error{Code: api.CodeFailed, Message: "reload halted: " + first.Error()}
		}
	}
	return d.snapshots(ctx, ids)
}

// handleNotify applies one sd_notify message from a worker (or from a process below it).
func (d *Daemon) handleNotify(m activation.Message) {
	p := d.procByPID(m.PID)
	if p == nil {
		return
	}
	if m.Fields["READY"] == "1" {
		d.ready(p)
	}
	if m.Fields["WATCHDOG"] == "1" && p.status == api.StatusOnline {
		d.armWatchdog(p)
	}
	if s, ok := m.Fields["STATUS"]; ok {
		p.statusText = s
	}
	if _, ok := m.Fields["LISTEN"]; ok && !p.listenRefused {
		// Only the Node shim's stream may ask for a port (handleShimNotify): on NOTIFY_SOCKET, any app could make
		// the daemon bind any port.
		p.listenRefused = true
		d.log.Printf("%s[%d]: LISTEN= on NOTIFY_SOCKET refused: only gpm's Node shim asks for ports, on its own stream", p.app.Name, p.id)
	}
	if m.Fields["STOPPING"] == "1" && p.status == api.StatusOnline {
		p.reason = "the app said STOPPING=1"
	}
}

// procByPID finds the process pid belongs to: the worker itself or one of its descendants.
func (d *Daemon) procByPID(pid int) *proc {
	for depth := 0; pid > 1 && depth < 16; depth++ {
		for _, p := range d.procs {
			if p.pid == pid {
				return p
			}
		}
		pid = platform.ParentPID(pid)
	}
	return nil
}

// listenNotify serves a NOTIFY_SOCKET for the workers until ctx ends or s is closed.
func (d *Daemon) listenNotify(ctx context.Context, s *activation.NotifyServer) {
	var cut int // messages over MaxNotifyMessage dropped since the last line about them
	var cutLogged time.Time
	for {
		m, err := s.Recv()
		if err != nil {
			if ctx.Err() == nil {
				d.log.Printf("notify socket: %v", err)
			}
			return
		}
		if m.Truncated {
			// A line at most every 10 s: a sender in a loop must not fill the daemon's log.
			if cut++; time.Since(cutLogged) >= 10*time.Second {
				d.log.Printf("notify socket: %d message(s) over %d bytes (activation.MaxNotifyMessage) dropped, the last from pid %d, as systemd drops them",
					cut, activation.MaxNotifyMessage, m.PID)
				cut, cutLogged = 0, time.Now()
			}
			continue
		}
		select {
		case d.ops <- func() { d.handleNotify(m) }:
		case <-ctx.Done():
			return
		}
	}
}
