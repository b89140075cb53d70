package service

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/gpmd/gpm/api"
	"github.com/gpmd/gpm/config"
	"github.com/gpmd/gpm/service/dump"
)

var errNoDump = &api.Error{Code: api.CodeNoDump, Message: "no saved process list: run `gpm save` first"}

// save writes the process list to dump.json. The table is copied on the loop; the slow, durable write happens off
// it, so a full disk stalls only the caller.
func (d *Daemon) save(ctx context.Context, force bool) (*api.SaveResult, error) {
	var l dump.List
	procs := 0
	err := d.exec(ctx, func() {
		byName := map[string]int{}
		for _, p := range d.sorted() {
			i, ok := byName[p.app.Name]
			if !ok {
				i = len(l.Apps)
				byName[p.app.Name] = i
				l.Apps = append(l.Apps, dump.App{Config: d.savedConfig(p)})
			}
			// A stopped app stays stopped after resurrect; one that crashed (errored, waiting) was meant to run.
			stopped := p.status == api.StatusStopped || p.status == api.StatusStopping
			l.Apps[i].Procs = append(l.Apps[i].Procs, dump.Proc{ID: p.id, Instance: p.instance, Stopped: stopped})
			procs++
		}
	})
	if err != nil {
		return nil, err
	}
	if len(l.Apps) == 0 && !force {
		return nil, &api.Error{Code: api.CodeEmptyList,
			Message: "nothing to save: the process list is empty (gpm save --force writes an empty list)"}
	}
	for i := range l.Apps {
		l.Apps[i].Config.Instances = len(l.Apps[i].Procs)
	}
	l.SavedAt = timeNow()
	path := d.path(api.DumpName)
	if err := dump.Write(path, &l); err != nil {
		return nil, err
	}
	return &api.SaveResult{Path: path, Apps: len(l.Apps), Procs: procs}, nil
}

func (d *Daemon) clearDump() (*api.SaveResult, error) {
	path := d.path(api.DumpName)
	if err := dump.Write(path, &dump.List{SavedAt: timeNow(), Apps: []dump.App{}}); err != nil {
		return nil, err
	}
	return &api.SaveResult{Path: path}, nil
}

// resurrect starts what the dump holds. An instance (name and instance number) that already exists is skipped, so
// running it twice adds nothing, and a partly running app gets only its missing instances back (PM2 #3258).
func (d *Daemon) resurrect(ctx context.Context, callerEnv map[string]string) (*api.ResurrectResult, error) {
	l, source, warning, err := dump.Read(d.path(api.DumpName))
	if errors.Is(err, dump.ErrNoDump) {
		return nil, errNoDump
	}
	if err != nil {
		return nil, err
	}
	res := &api.ResurrectResult{Source: source, Warning: warning, Started: []string{}, Stopped: []string{}, Skipped: []string{}}
	if warning != "" {
		d.log.Printf("resurrect: %s", warning)
	}
	var failed []string
	var runnable []dump.App
	for _, a := range l.Apps {
		if err := d.checkRunnable(&a.Config, callerEnv); err != nil {
			failed = append(failed, err.Error())
			continue
		}
		runnable = append(runnable, a)
	}
	// One loop turn for the whole list: the fork/execs of every app run side by side (startAll).
	if err := d.exec(ctx, func() {
		var b batch
		var labels []string
		for _, a := range runnable {
			app := a.Config
			procs := a.Procs
			sort.Slice(procs, func(i, j int) bool { return procs[i].Instance < procs[j].Instance })
			if err := config.CheckInstances("resurrect "+app.Name+":", len(procs)); err != nil {
				failed = append(failed, err.Error())
				continue
			}
			if _, err := d.admissible([]config.App{app}, func(_ int, existing []*proc) int {
				return missingInstances(procs, existing)
			}); err != nil {
				failed = append(failed, err.Error())
				continue
			}
			for _, sp := range procs {
				label := fmt.Sprintf("%s#%d", app.Name, sp.Instance)
				exists := false
				for _, p := range d.procs {
					if p.app.Name == app.Name && p.instance == sp.Instance {
						exists = true
						break
					}
				}
				if exists {
					res.Skipped = append(res.Skipped, label)
					continue
				}
				p := d.register(app, sp.Instance, sp.ID, callerEnv)
				if sp.Stopped {
					// Saved stopped: stopped by a user, so cron_restart and a watch event of its app leave it alone.
					p.held = true
					res.Stopped = append(res.Stopped, label)
					continue
				}
				b.add(p, nil)
				labels = append(labels, label)
			}
		}
		for i, err := range b.run(d) {
			if err != nil {
				failed = append(failed, err.Error())
				continue
			}
			res.Started = append(res.Started, labels[i])
		}
	}); err != nil {
		return nil, err
	}
	if len(failed) > 0 {
		res.Warning = joinNonEmpty(res.Warning, fmt.Sprintf("%d app(s) could not start: %s", len(failed), failed[0]))
	}
	return res, nil
}

func joinNonEmpty(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}
