package service

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
)

// watch, as PM2 has it: a change under an app's watch paths (relative to its cwd; `watch: true` is the cwd itself)
// restarts the app, every process of it that a user has not stopped, once the changes have paused for watch_delay
// (at least 100 ms: an editor's save is several events). ignore_watch lists names or globs that do not count; without
// it, dot files and node_modules do not (PM2's default, which a list given replaces). The app's own log and pid files
// never count (for any instance), or a log inside the watched tree would restart the app for ever. Directories created later are
// watched too: inotify watches one directory at a time, so each is added as it appears.

// appWatch is the watcher of one app (by name). Its fields are the loop's but for w, which its goroutine reads.
type appWatch struct {
	w       *fsnotify.Watcher
	spec    string      // the configuration it was made for (watchSpec)
	timer   *time.Timer // pending restart
	changed string      // the first path changed since the last restart
}

// watchSpec is what decides whether an app's watcher must be remade.
func watchSpec(p *proc) string {
	a := &p.app
	if len(a.Watch) == 0 {
		return ""
	}
	return strings.Join([]string{a.Cwd, strings.Join(a.Watch, "\x00"), strings.Join(a.IgnoreWatch, "\x00")}, "\x01")
}

// armWatch makes or remakes the watcher of p's app when its configuration asks for one. Runs on the loop.
func (d *Daemon) armWatch(p *proc) {
	name, spec := p.app.Name, watchSpec(p)
	if aw := d.watchers[name]; aw != nil {
		if aw.spec == spec {
			return
		}
		d.stopWatch(name)
	}
	if spec == "" {
		return
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		d.log.Printf("%s: watch: %v", name, err)
		return
	}
	aw := &appWatch{w: w, spec: spec}
	d.watchers[name] = aw
	go d.watchLoop(d.runCtx, name, aw, newWatchFilter(p))
}

// ownFile reports whether path is a file gpm itself writes for a process of the app name (its logs, per instance
// or merged, and pid files). Checked on the loop, where the app's instances of the moment are known.
func (d *Daemon) ownFile(name, path string) bool {
	for _, p := range d.instances(name) {
		out, errp, comb := d.logPaths(p)
		if path == out || path == errp || path == comb || path == d.pidFilePath(p) {
			return true
		}
	}
	return false
}

// stopWatch ends the watcher of the app name.
func (d *Daemon) stopWatch(name string) {
	if aw := d.watchers[name]; aw != nil {
		if aw.timer != nil {
			aw.timer.Stop()
		}
		aw.w.Close()
		delete(d.watchers, name)
	}
}

// watchLoop adds the watched trees, then turns the watcher's events into restarts until the watcher is closed. The
// walk is here, not on the loop: a large tree must not hold up supervision.
func (d *Daemon) watchLoop(ctx context.Context, name string, aw *appWatch, f *watchFilter) {
	tw := &treeWatch{w: aw.w, f: f, logf: func(format string, args ...any) { d.log.Printf(name+": watch: "+format, args...) }}
	for _, root := range f.roots {
		if err := tw.add(root); err != nil && !errors.Is(err, fsnotify.ErrClosed) {
			d.log.Printf("%s: watch %s: %v", name, root, err)
		}
	}
	posted := map[string]time.Time{}
	for {
		select {
		case ev, ok := <-aw.w.Events:
			if !ok {
				return
			}
			if !ev.Has(fsnotify.Create|fsnotify.Write|fsnotify.Remove|fsnotify.Rename) || f.ignored(ev.Name) {
				continue
			}
			if ev.Has(fsnotify.Create) {
				if fi, err := os.Lstat(ev.Name); err == nil && fi.IsDir() {
					tw.add(ev.Name)
				}
			}
			// One event per path per 50 ms reaches the loop: an app logging into its watched tree writes its log
			// (which the loop then drops, ownFile) many times a second.
			now := time.Now()
			if t, ok := posted[ev.Name]; ok && now.Sub(t) < 50*time.Millisecond {
				continue
			}
			if len(posted) > 1024 {
				clear(posted)
			}
			posted[ev.Name] = now
			changed := ev.Name
			select {
			case d.ops <- func() { d.watchChanged(name, aw, changed) }:
			case <-ctx.Done():
				return
			}
		case err, ok := <-aw.w.Errors:
			if !ok {
				return
			}
			d.log.Printf("%s: watch: %v", name, err)
		}
	}
}

// watchChanged schedules the restart of the app name for a change at path. Runs on the loop.
func (d *Daemon) watchChanged(name string, aw *appWatch, changed string) {
	if d.watchers[name] != aw || aw.timer != nil || d.ownFile(name, changed) {
		return // remade or gone meanwhile, a restart already pending, or one of gpm's own files
	}
	delay := 100 * time.Millisecond
	for _, p := range d.instances(name) {
		delay = max(delay, p.app.WatchDelay.D())
	}
	aw.changed = changed
	aw.timer = time.AfterFunc(delay, func() {
		d.post(func() {
			if d.watchers[name] != aw {
				return
			}
			aw.timer = nil
			for _, p := range d.instances(name) {
				d.restartFor(p, "watch: "+aw.changed+" changed")
			}
		})
	})
}

// closeWatchers ends every watcher. Called once the loop has ended.
func (d *Daemon) closeWatchers() {
	for name := range d.watchers {
		d.stopWatch(name)
	}
}

// watchFilter says which paths of an app's watch count (but for gpm's own files: ownFile).
type watchFilter struct {
	cwd    string
	roots  []string // absolute watch paths
	ignore []string // ignore_watch, or nil for PM2's default
}

func newWatchFilter(p *proc) *watchFilter {
	f := &watchFilter{cwd: p.app.Cwd, ignore: p.app.IgnoreWatch}
	for _, w := range p.app.Watch {
		if !filepath.IsAbs(w) {
			w = filepath.Join(p.app.Cwd, w)
		}
		f.roots = append(f.roots, filepath.Clean(w))
	}
	return f
}

// ignored reports whether a change at the absolute path p does not count.
func (f *watchFilter) ignored(p string) bool {
	under := false
	for _, r := range f.roots {
		if p == r || strings.HasPrefix(p, r+string(filepath.Separator)) {
			under = true
			break
		}
	}
	if !under {
		return true // a sibling in the directory of a watched file
	}
	rel, err := filepath.Rel(f.cwd, p)
	if err != nil || strings.HasPrefix(rel, "..") {
		rel = p
	}
	rel = filepath.ToSlash(rel)
	parts := strings.Split(rel, "/")
	if f.ignore == nil {
		for _, c := range parts {
			if c == "node_modules" || (strings.HasPrefix(c, ".") && c != "." && c != "..") {
				return true
			}
		}
		return false
	}
	for _, pat := range f.ignore {
		pat = strings.TrimPrefix(filepath.ToSlash(pat), "./")
		if strings.ContainsAny(pat, "*?[") {
			if ok, _ := path.Match(pat, rel); ok {
				return true
			}
			for _, c := range parts {
				if ok, _ := path.Match(pat, c); ok {
					return true
				}
			}
			continue
		}
		if rel == pat || strings.HasPrefix(rel, pat+"/") || slices.Contains(parts, pat) {
			return true
		}
	}
	return false
}

// MaxWatchDirs bounds the directories one app's watch adds: each is an inotify watch of the daemon's user, root,
// counted against fs.inotify.max_user_watches with those of every other program running as root (systemd's
// included), and an app's user can make directories in its watched tree at will.
const MaxWatchDirs = 8192

// treeWatch adds watched trees to one app's watcher within MaxWatchDirs. Its watchLoop's goroutine only.
type treeWatch struct {
	w    *fsnotify.Watcher
	f    *watchFilter
	logf func(format string, args ...any)
	n    int  // watches added; recounted from the watcher at the limit (the kernel drops removed directories')
	full bool // the limit was reported, and has not been left since
}

// add watches root: the directory and every directory below it that is not ignored, or, for a file, the
// directory it is in (inotify keeps a watch on a directory across editors' save-by-rename; the filter keeps
// only the file's own events). Past MaxWatchDirs the rest of the tree is not watched, and the log says so once.
func (t *treeWatch) add(root string) error {
	fi, err := os.Stat(root)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return t.w.Add(filepath.Dir(root))
	}
	return filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil || !e.IsDir() {
			return nil // a directory that vanished or cannot be read is not watched
		}
		if p != root && t.f.ignored(p) {
			return filepath.SkipDir
		}
		if t.n >= MaxWatchDirs {
			if t.n = len(t.w.WatchList()); t.n >= MaxWatchDirs {
				if !t.full {
					t.logf("%d directories watched, the limit (service.MaxWatchDirs): %s and the directories after it are not", t.n, p)
					t.full = true
				}
				return filepath.SkipAll
			}
			t.full = false
		}
		if err := t.w.Add(p); err != nil {
			return err
		}
		t.n++
		return nil
	})
}
