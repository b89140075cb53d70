package service

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gpmd/gpm/api"
	"github.com/gpmd/gpm/config"
	"github.com/gpmd/gpm/platform"
	"github.com/gpmd/gpm/service/dump"
)

func notFound(format string, args ...any) error {
	return &api.Error{Code: api.CodeNotFound, Message: fmt.Sprintf(format, args...)}
}

func invalid(format string, args ...any) error {
	return &api.Error{Code: api.CodeInvalid, Message: fmt.Sprintf(format, args...)}
}

// sorted returns the processes ordered by id.
func (d *Daemon) sorted() []*proc {
	out := make([]*proc, 0, len(d.procs))
	for _, p := range d.procs {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b *proc) int { return a.id - b.id })
	return out
}

// resolve turns targets (api.Select: id, name, namespace, /regexp/, script, "all") into processes, each once,
// ordered by id. Runs on the loop.
func (d *Daemon) resolve(targets []string) ([]*proc, error) {
	return api.Select(targets, d.sorted(), func(p *proc) api.TargetKey {
		return api.TargetKey{ID: p.id, Name: p.app.Name, Namespace: p.app.Namespace, Script: p.app.Script}
	})
}

// hasApps reports whether the table has a process that the target "all" selects (one that is not a module's).
// Runs on the loop.
func (d *Daemon) hasApps() bool {
	for _, p := range d.procs {
		if p.app.Namespace != api.ModuleNamespace {
			return true
		}
	}
	return false
}

// list answers "list": every process, ordered by id, each with its configuration encoded once (appJSON) rather
// than copied, and the whole encoded by hand off the loop (processList).
func (d *Daemon) list(ctx context.Context, fields fieldSet) (processList, error) {
	out := processList{fields: fields}
	err := d.do(ctx, func() error {
		out.procs = make([]listed, 0, len(d.procs))
		now := time.Now()
		for _, p := range d.sorted() {
			l := listed{procInfo: d.info(p, now)}
			if fields.has(fConfig) {
				l.config = p.appJSON()
			}
			out.procs = append(out.procs, l)
		}
		return nil
	})
	if err != nil {
		// ctx ended: the loop may still run the function and write out (a data race if it were read here).
		return processList{}, err
	}
	return out, nil
}

// waitAll waits for every channel or for ctx.
func waitAll(ctx context.Context, chs []chan struct{}) error {
	for _, ch := range chs {
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// freeID returns the lowest unused id at or above d.nextID's floor of 0. Ids start again at 0 once the table is
// empty, as PM2's do (`delete all; start app.js; restart 0`).
func (d *Daemon) freeID() int {
	if len(d.procs) == 0 {
		d.nextID = 0
	}
	for {
		id := d.nextID
		d.nextID++
		if _, used := d.procs[id]; !used {
			return id
		}
	}
}

// instances returns the processes of the app name, by instance number.
func (d *Daemon) instances(name string) []*proc {
	var out []*proc
	for _, p := range d.procs {
		if p.app.Name == name {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b *proc) int { return a.instance - b.instance })
	return out
}

// keepInstances deletes the processes of ps (by instance number, as instances returns them) beyond the first n: the
// highest numbers go, so that the numbers left stay dense from 0. It returns the processes kept, and a channel per
// deleted one, closed when it is gone.
func (d *Daemon) keepInstances(ps []*proc, n int) ([]*proc, []chan struct{}) {
	if len(ps) <= n {
		return ps, nil
	}
	var gone []chan struct{}
	for _, p := range ps[n:] {
		ch := make(chan struct{})
		gone = append(gone, ch)
		d.remove(p, ch)
	}
	return ps[:n], gone
}

// freeInstances returns n instance numbers unused by the app name, lowest first (scale reuses freed numbers).
func (d *Daemon) freeInstances(name string, n int) []int {
	used := map[int]bool{}
	for _, p := range d.procs {
		if p.app.Name == name {
			used[p.instance] = true
		}
	}
	var out []int
	for i := 0; len(out) < n; i++ {
		if !used[i] {
			out = append(out, i)
		}
	}
	return out
}

// register adds a process to the table without starting it.
func (d *Daemon) register(app config.App, instance, id int, callerEnv map[string]string) *proc {
	if _, used := d.procs[id]; id < 0 || used {
		id = d.freeID()
	}
	if id >= d.nextID {
		d.nextID = id + 1
	}
	p := &proc{id: id, app: app.Clone(), instance: instance, callerEnv: callerEnv, status: api.StatusStopped,
		createdAt: time.Now(), uniqueID: newUniqueID()}
	d.procs[id] = p
	return p
}

// checkRunnable fails when app's program cannot be found, so that a bad start changes nothing. It runs off the loop.
func (d *Daemon) checkRunnable(app *config.App, callerEnv map[string]string) error {
	if err := app.Validate(); err != nil {
		return invalid("app %q: %v", app.Name, err)
	}
	env := callerEnv
	if env == nil {
		env = d.env
	}
	if err := app.CheckRunnable(platform.PathEnv(envList(env))); err != nil {
		return invalid("app %q: %v", app.Name, err)
	}
	return nil
}

// admissible refuses apps the table cannot take: an app whose name maps to the same file name as another app's
// (fileName: "a b" and "a-b" would share logs/a-b-out.log), and more processes in all than api.MaxProcesses.
// adds(i, existing) is the number of processes apps[i] adds to the table, given its processes there; it returns
// their sum. Runs on the loop.
func (d *Daemon) admissible(apps []config.App, adds func(i int, existing []*proc) int) (int, error) {
	byFile := map[string]string{}
	for _, p := range d.procs {
		byFile[fileName(p.app.Name)] = p.app.Name
	}
	n := 0
	for i := range apps {
		name := apps[i].Name
		f := fileName(name)
		if other, ok := byFile[f]; ok && other != name {
			return 0, invalid("app %q: its log and pid files would be those of app %q (both are %q in file names, "+
				"where characters other than letters, digits, '.' and '-' become '-'): rename one of them", name, other, f)
		}
		byFile[f] = name
		n += adds(i, d.instances(name))
	}
	return n, d.room(n)
}

// room refuses to add n processes to a table that would then hold more than api.MaxProcesses. Runs on the loop.
func (d *Daemon) room(n int) error {
	if have := len(d.procs); n > 0 && have+n > api.MaxProcesses {
		return invalid("%d more process(es) would make %d; a daemon holds at most %d (api.MaxProcesses)",
			n, have+n, api.MaxProcesses)
	}
	return nil
}

// startAdds is the number of processes sa adds to the table in a start request (see startApps): a smart start
// adds the instances beyond those running, a new app all of its own.
func startAdds(sa *api.StartApp, onlyNew bool, existing []*proc) int {
	switch {
	case len(existing) > 0 && onlyNew:
		return 0
	case len(existing) > 0:
		return max(0, sa.App.Instances-len(existing))
	case len(sa.InstanceNumbers) > 0:
		return len(sa.InstanceNumbers)
	}
	return sa.App.Instances
}

// missingInstances is the number of saved processes whose instance number is not among existing (what resurrect
// adds).
func missingInstances(saved []dump.Proc, existing []*proc) int {
	n := 0
	for _, sp := range saved {
		if !slices.ContainsFunc(existing, func(p *proc) bool { return p.instance == sp.Instance }) {
			n++
		}
	}
	return n
}

// checkStart checks a start request off the loop, before anything changes: each app (StartApp.Validate,
// checkRunnable), and that no app is named twice. A request that names an app twice is refused, as a process file
// that does: the second would restart the first before it ran, and which configuration wins would be an accident.
// The table's room and the apps' file names are checked on the loop, where the apps are registered (admissible).
func (d *Daemon) checkStart(sp *api.StartParams) ([]config.App, error) {
	apps := make([]config.App, len(sp.Apps))
	named := make(map[string]bool, len(sp.Apps))
	for i := range sp.Apps {
		name := sp.Apps[i].App.Name
		if named[name] {
			return nil, invalid("app %q is named twice in one start: give each app its own name (--name, or name: in a process file)", name)
		}
		named[name] = true
		if err := sp.Apps[i].Validate(); err != nil {
			return nil, invalid("%v", err)
		}
		if err := d.checkRunnable(&sp.Apps[i].App, sp.CallerEnv); err != nil {
			return nil, err
		}
		apps[i] = sp.Apps[i].App
	}
	return apps, nil
}

// startApps registers and starts apps; an app whose name exists is reconfigured and restarted instead.
func (d *Daemon) startApps(ctx context.Context, sp *api.StartParams) ([]api.Process, error) {
	apps, err := d.checkStart(sp)
	if err != nil {
		return nil, err
	}
	var waits []chan struct{}
	var ids []int
	err = d.do(ctx, func() error {
		if _, err := d.admissible(apps, func(i int, existing []*proc) int {
			return startAdds(&sp.Apps[i], sp.OnlyNew, existing)
		}); err != nil {
			return err
		}
		var b batch
		defer b.run(d)
		for _, sa := range sp.Apps {
			app := sa.App
			existing := d.instances(app.Name)
			if len(existing) > 0 {
				d.withAdopted(&app)
				if sp.OnlyNew {
					continue
				}
				// Smart start: the running app takes the new configuration and restarts; the instance count follows.
				var gone []chan struct{}
				existing, gone = d.keepInstances(existing, app.Instances)
				waits = append(waits, gone...)
				rebind := !slices.Equal(existing[0].app.Listen, app.Listen)
				var starts []*proc
				for _, p := range existing {
					ids = append(ids, p.id)
					d.configure(p, app)
					if !sp.KeepCallerEnv {
						p.callerEnv = sp.CallerEnv
					}
					countRestart(p)
					starts = append(starts, p)
				}
				for _, inst := range d.freeInstances(app.Name, app.Instances-len(existing)) {
					p := d.register(app, inst, -1, sp.CallerEnv)
					ids = append(ids, p.id)
					starts = append(starts, p)
				}
				chs := make([]chan struct{}, len(starts))
				for i := range chs {
					chs[i] = make(chan struct{})
				}
				waits = append(waits, chs...)
				startEach := func() {
					var b batch
					for i, p := range starts {
						b.add(p, func() { close(chs[i]) })
					}
					b.run(d)
				}
				if !rebind {
					// Each instance restarts on its own: the sockets stay, so the others keep serving meanwhile.
					for i, p := range starts {
						d.stop(p, func() { d.start(p, func() { close(chs[i]) }) })
					}
					continue
				}
				// New addresses: every old worker must let go of the old sockets before they are closed and the new
				// ones bound.
				pending := len(existing)
				name := app.Name
				for _, p := range existing {
					d.stop(p, func() {
						if pending--; pending == 0 {
							d.dropSockets(name)
							startEach()
						}
					})
				}
				continue
			}
			insts := sa.InstanceNumbers
			if len(insts) == 0 {
				insts = d.freeInstances(app.Name, app.Instances)
			}
			for _, inst := range insts {
				p := d.register(app, inst, -1, sp.CallerEnv)
				ids = append(ids, p.id)
				if sa.Stopped || !app.Autostart {
					p.held = true
					continue
				}
				ch := make(chan struct{})
				waits = append(waits, ch)
				b.add(p, func() { close(ch) })
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := waitAll(ctx, waits); err != nil {
		return nil, err
	}
	out, err := d.snapshots(ctx, ids)
	if err != nil {
		return nil, err
	}
	return out, failedStarts(out)
}

// failedStarts names the processes that ended errored, as the error of a start, restart or reload.
func failedStarts(out []api.Process) error {
	var errs []string
	for _, p := range out {
		if p.Status == api.StatusErrored {
			errs = append(errs, fmt.Sprintf("%s (id %d): %s", p.Name, p.ID, p.Reason))
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return &api.Error{Code: api.CodeFailed, Message: fmt.Sprintf("%d process(es) failed to start: %s", len(errs), strings.Join(errs, "; "))}
}

// snapshots returns the named processes that still exist.
func (d *Daemon) snapshots(ctx context.Context, ids []int) ([]api.Process, error) {
	var out []api.Process
	err := d.exec(ctx, func() {
		for _, id := range ids {
			if p, ok := d.procs[id]; ok {
				out = append(out, d.snapshot(p))
			}
		}
	})
	if err != nil {
		return nil, err // as in list: out may still be written by the loop
	}
	return out, nil
}

// remove stops p and deletes it from the table; done is closed when it is gone.
func (d *Daemon) remove(p *proc, done chan struct{}) {
	d.stop(p, func() {
		if d.procs[p.id] == p {
			delete(d.procs, p.id)
			d.stopCron(p)
			if len(d.instances(p.app.Name)) == 0 {
				d.stopWatch(p.app.Name)
			}
			p.closeLogs()
			p.closeStdin()
			d.removePidFile(p)
			d.releaseSockets(p.app.Name)
			d.emitDeleted(p)
		}
		close(done)
	})
}

// stopTargets stops (or deletes) the targets and waits until they are down.
func (d *Daemon) stopTargets(ctx context.Context, targets []string, del bool) ([]api.Process, error) {
	var waits []chan struct{}
	var ids []int
	var before []api.Process
	err := d.do(ctx, func() error {
		procs, err := d.resolve(targets)
		if err != nil {
			return err
		}
		for _, p := range procs {
			ch := make(chan struct{})
			waits = append(waits, ch)
			ids = append(ids, p.id)
			if del {
				before = append(before, d.snapshot(p))
				d.remove(p, ch)
			} else {
				p.held = true
				d.stop(p, func() { close(ch) })
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := waitAll(ctx, waits); err != nil {
		return nil, err
	}
	if del {
		for i := range before {
			before[i].Status, before[i].PID = "deleted", 0
		}
		return before, nil
	}
	return d.snapshots(ctx, ids)
}

// countRestart counts a restart a user asked for, as PM2 does: only of a process that runs; starting a stopped,
// errored or waiting one is a start (PM2's restartProcessId starts a process that is not online).
func countRestart(p *proc) {
	if p.running() {
		p.restarts++
	}
}

func (d *Daemon) restart(ctx context.Context, rp *api.RestartParams) ([]api.Process, error) {
	var waits []chan struct{}
	var ids []int
	err := d.do(ctx, func() error {
		procs, err := d.resolve(rp.Targets)
		if err != nil {
			return err
		}
		for _, p := range procs {
			if rp.UpdateEnv {
				p.callerEnv = rp.CallerEnv
			}
			ch := make(chan struct{})
			waits = append(waits, ch)
			ids = append(ids, p.id)
			countRestart(p)
			d.stop(p, func() { d.start(p, func() { close(ch) }) })
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := waitAll(ctx, waits); err != nil {
		return nil, err
	}
	out, err := d.snapshots(ctx, ids)
	if err != nil {
		return nil, err
	}
	return out, failedStarts(out)
}

func (d *Daemon) reset(ctx context.Context, targets []string) ([]api.Process, error) {
	var ids []int
	err := d.do(ctx, func() error {
		procs, err := d.resolve(targets)
		if err != nil {
			return err
		}
		for _, p := range procs {
			p.restarts, p.unstable, p.backoff = 0, 0, 0
			ids = append(ids, p.id)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return d.snapshots(ctx, ids)
}

func (d *Daemon) scale(ctx context.Context, sp *api.ScaleParams) ([]api.Process, error) {
	var waits []chan struct{}
	var ids []int
	if err := sp.Validate(); err != nil {
		return nil, invalid("%v", err)
	}
	err := d.do(ctx, func() error {
		existing := d.instances(sp.Name)
		if len(existing) == 0 {
			return notFound("app %q not found", sp.Name)
		}
		want := sp.Count
		if sp.Relative {
			want += len(existing)
		}
		if want < 1 {
			return invalid("scale %s to %d: at least 1 instance is needed (use `gpm delete %s` to remove it)", sp.Name, want, sp.Name)
		}
		if err := config.CheckInstances("scale "+sp.Name+" to", want); err != nil {
			return invalid("%v", err)
		}
		if err := d.room(want - len(existing)); err != nil {
			return invalid("scale %s to %d: %v", sp.Name, want, err)
		}
		for _, p := range existing {
			p.app.Instances = want
			p.appChanged()
		}
		existing, waits = d.keepInstances(existing, want)
		for _, p := range existing {
			ids = append(ids, p.id)
		}
		tmpl := existing[0]
		var b batch
		for _, inst := range d.freeInstances(sp.Name, want-len(existing)) {
			p := d.register(tmpl.app, inst, -1, tmpl.callerEnv)
			ids = append(ids, p.id)
			b.add(p, nil)
		}
		return errors.Join(b.run(d)...)
	})
	if err != nil {
		return nil, err
	}
	if err := waitAll(ctx, waits); err != nil {
		return nil, err
	}
	return d.snapshots(ctx, ids)
}
