package service

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/gpmd/gpm/api"
	"github.com/gpmd/gpm/config"
	"github.com/gpmd/gpm/service/logfile"
	"github.com/gpmd/gpm/service/settings"
)

// The daemon's own log (gpm.log) is rotated by these limits unless `gpm set logrotate:...` gives others: it must
// not grow without bound either, with or without settings.
const (
	DaemonLogMaxSize = 10 << 20 // bytes
	DaemonLogRetain  = 5
)

// settingsState is the store of `gpm set`. Its writes fsync, so they happen on the connection's goroutine under mu,
// never on the loop; the loop keeps its own copy of the log defaults (Daemon.logDefaults).
type settingsState struct {
	mu    sync.Mutex
	store *settings.Store
	// daemonLog is gpm.log when this daemon owns it (a daemon the CLI spawned writes its stderr there).
	daemonLog *logfile.File
}

// openSettings reads the store at start. An unreadable store (and .bak) is logged and replaced by an empty one:
// the daemon must start, and the next `gpm set` writes a good file.
func (d *Daemon) openSettings() {
	path := d.path(api.SettingsName)
	st, warning, err := settings.Open(path)
	if err != nil {
		d.log.Printf("warning: settings: %v: starting without them", err)
		st = settings.Empty(path)
	}
	if warning != "" {
		d.log.Printf("warning: settings: %s", warning)
	}
	d.settings.store = st
	defs, err := st.LogDefaults()
	if err != nil {
		d.log.Printf("warning: settings: %v", err)
	}
	d.logDefaults = defs
	d.ownDaemonLog(defs)
}

// ownDaemonLog takes over gpm.log when it is this daemon's stderr (opts.Log), so that it is rotated: log lines go
// through a logfile.File, and after each rotation stdout and stderr are pointed at the new file. A daemon logging
// elsewhere (the journal under systemd, a terminal) leaves it alone.
func (d *Daemon) ownDaemonLog(defs settings.LogDefaults) {
	f, ok := d.opts.Log.(*os.File)
	if !ok {
		return
	}
	path := d.path(api.DaemonLog)
	mine, err1 := f.Stat()
	onDisk, err2 := os.Stat(path)
	if err1 != nil || err2 != nil || !os.SameFile(mine, onDisk) {
		return
	}
	lf, err := logfile.Open(path, -1)
	if err != nil {
		d.log.Printf("warning: %v: gpm.log is not rotated", err)
		return
	}
	d.settings.daemonLog = lf
	lf.SetRotation(d.daemonLogRotation(defs))
	d.log.SetOutput(lf)
}

func (d *Daemon) daemonLogRotation(defs settings.LogDefaults) logfile.Rotation {
	r := d.rotation(config.App{}, defs, "gpm.log")
	if r.MaxSize == 0 {
		r.MaxSize = DaemonLogMaxSize
	}
	if defs.Retain == 0 {
		r.Retain = DaemonLogRetain
	}
	r.Reopened = redirectStdio
	return r
}

// rotation is the log rotation of app a: its own log_* fields, each defaulting to the logrotate settings.
// log_compress and logrotate:compress add up: either compresses.
func (d *Daemon) rotation(a config.App, defs settings.LogDefaults, who string) logfile.Rotation {
	r := logfile.Rotation{MaxSize: a.LogMaxSize, Retain: a.LogRetain, Compress: a.LogCompress || defs.Compress}
	if r.MaxSize == 0 {
		r.MaxSize = defs.MaxSize
	}
	if r.Retain == 0 {
		r.Retain = defs.Retain
	}
	cron := a.LogRotateCron
	if cron == "" {
		cron = defs.Cron
	}
	if cron != "" {
		if sched, err := config.ParseCron(cron); err == nil {
			r.Schedule = sched
		} else {
			d.log.Printf("%s: log rotation by time: %v", who, err)
		}
	}
	logf := d.log.Printf
	r.OnError = func(err error) { logf("%s: log rotation: %v", who, err) }
	return r
}

// rotationOf is p's rotation under the loop's defaults. Runs on the loop.
func (d *Daemon) rotationOf(p *proc) logfile.Rotation {
	return d.rotation(p.app, d.logDefaults, fmt.Sprintf("%s[%d]", p.app.Name, p.id))
}

// applyRotation sets p's rotation on its open log files. Runs on the loop.
func (d *Daemon) applyRotation(p *proc) {
	if p.out == nil {
		return
	}
	r := d.rotationOf(p)
	for _, f := range []*logfile.File{p.out, p.err, p.combined} {
		f.SetRotation(r)
	}
}

// setSetting serves `gpm set`: the store is written first (nothing changes when it fails), then every open log
// file takes the new defaults.
func (d *Daemon) setSetting(ctx context.Context, key, value string) (map[string]string, error) {
	if err := d.checkModuleSetting(key, value); err != nil {
		return nil, &api.Error{Code: api.CodeInvalid, Message: err.Error()}
	}
	d.settings.mu.Lock()
	k, v, err := d.settings.store.Set(key, value)
	defs, derr := d.settings.store.LogDefaults()
	d.settings.mu.Unlock()
	if err != nil {
		return nil, &api.Error{Code: api.CodeInvalid, Message: err.Error()}
	}
	if derr != nil {
		d.log.Printf("warning: settings: %v", derr)
	}
	if err := d.useLogDefaults(ctx, defs); err != nil {
		return nil, err
	}
	if err := d.moduleSettingChanged(ctx, k); err != nil {
		return nil, err
	}
	return map[string]string{k: v}, nil
}

func (d *Daemon) unsetSetting(ctx context.Context, key string) (map[string]string, error) {
	d.settings.mu.Lock()
	err := d.settings.store.Unset(key)
	defs, derr := d.settings.store.LogDefaults()
	d.settings.mu.Unlock()
	if errors.Is(err, settings.ErrNotFound) {
		return nil, &api.Error{Code: api.CodeNotFound, Message: err.Error()}
	}
	if err != nil {
		return nil, err
	}
	if derr != nil {
		d.log.Printf("warning: settings: %v", derr)
	}
	if err := d.useLogDefaults(ctx, defs); err != nil {
		return nil, err
	}
	return map[string]string{}, d.moduleSettingChanged(ctx, key)
}

func (d *Daemon) getSettings(key string) (map[string]string, error) {
	if m, ok := d.moduleView(key); ok {
		return m, nil
	}
	d.settings.mu.Lock()
	defer d.settings.mu.Unlock()
	if key == "" {
		return d.settings.store.All(), nil
	}
	v, ok := d.settings.store.Get(key)
	if !ok {
		return nil, &api.Error{Code: api.CodeNotFound, Message: fmt.Sprintf("get %s: not set", settings.Key(key))}
	}
	return map[string]string{settings.Key(key): v}, nil
}

// useLogDefaults makes defs the loop's log defaults and applies them to every open log file, off the loop (a
// File's lock may be held by a write to a slow disk).
func (d *Daemon) useLogDefaults(ctx context.Context, defs settings.LogDefaults) error {
	type apply struct {
		f *logfile.File
		r logfile.Rotation
	}
	var todo []apply
	err := d.do(ctx, func() error {
		d.logDefaults = defs
		for _, p := range d.sorted() {
			if p.out == nil {
				continue
			}
			r := d.rotationOf(p)
			for _, f := range []*logfile.File{p.out, p.err, p.combined} {
				todo = append(todo, apply{f, r})
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, a := range todo {
		a.f.SetRotation(a.r)
	}
	if lf := d.settings.daemonLog; lf != nil {
		lf.SetRotation(d.daemonLogRotation(defs))
	}
	return nil
}
