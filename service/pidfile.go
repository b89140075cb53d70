package service

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"github.com/gpmd/gpm/api"
	"github.com/gpmd/gpm/platform"
	"github.com/gpmd/gpm/platform/safefs"
)

// Pid files, as PM2 keeps them: $GPM_HOME/pids/NAME-ID.pid (or the app's pid_file) holds the pid while the process
// runs and is gone when it has exited.

// An app's own pid_file gets the id before its extension when the app has several instances (PM2's rule: -p
// echo.pid -i 2 writes echo-0.pid and echo-1.pid); with one instance it is the path as given, which is what a
// systemd PIDFile= or a monitoring script names.
func (d *Daemon) pidFilePath(p *proc) string {
	if f := p.app.PidFile; f != "" {
		if p.app.Instances > 1 {
			ext := filepath.Ext(f)
			return strings.TrimSuffix(f, ext) + "-" + strconv.Itoa(p.id) + ext
		}
		return f
	}
	return d.path(api.PidsDir, fmt.Sprintf("%s-%d.pid", fileName(p.app.Name), p.id))
}

// writePidFile and removePidFile queue the change for pidFiles: the loop must not wait on the disk. A pid file may
// therefore appear a moment after `start` returns; `gpm pid` and jlist are the authoritative answers.
func (d *Daemon) writePidFile(p *proc) {
	d.pidOps.put(pidOp{path: d.pidFilePath(p), pid: p.pid, owner: p.uid})
}

func (d *Daemon) removePidFile(p *proc) {
	d.pidOps.put(pidOp{path: d.pidFilePath(p), owner: p.uid})
}

// pidQueue hands pid file changes from the loop to pidFiles without ever making the loop wait: with a channel of
// fixed size, a writer stuck on an app's pid_file (on a hung NFS mount, say) stopped supervision once the channel
// filled. The changes of one path coalesce, since the last one is what the file must say: the queue holds at most
// one change a path.
type pidQueue struct {
	mu      sync.Mutex
	pending map[string]pidOp // the last change of each path
	order   []string         // the paths, in the order of their first change since the last take
	closed  bool
	wake    chan struct{} // one slot: a change is pending, or the queue was closed
}

func newPidQueue() *pidQueue {
	return &pidQueue{pending: map[string]pidOp{}, wake: make(chan struct{}, 1)}
}

func (q *pidQueue) put(op pidOp) {
	q.mu.Lock()
	if _, ok := q.pending[op.path]; !ok {
		q.order = append(q.order, op.path)
	}
	q.pending[op.path] = op
	q.mu.Unlock()
	q.signal()
}

// close ends the queue: take returns what is pending, then false.
func (q *pidQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.signal()
}

func (q *pidQueue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// take waits for changes and appends them to buf, in the order of their paths' first change; false once the queue
// is closed and empty.
func (q *pidQueue) take(buf []pidOp) ([]pidOp, bool) {
	for {
		q.mu.Lock()
		if len(q.order) > 0 {
			for _, path := range q.order {
				buf = append(buf, q.pending[path])
			}
			clear(q.pending)
			q.order = q.order[:0]
			q.mu.Unlock()
			return buf, true
		}
		closed := q.closed
		q.mu.Unlock()
		if closed {
			return buf, false
		}
		<-q.wake
	}
}

// pidOp writes pid into path, or removes path when pid is 0. An app's own pid_file is opened for owner, its uid
// (safefs): the daemon may be root, and the file's directory may be the app user's.
type pidOp struct {
	path  string
	pid   int
	owner int
}

// pidFiles applies pid file changes until q is closed and empty. It runs on a thread of its own at a lower
// priority, so that in a burst of starts the CPU goes first to the spawning loop and the apps starting on the same
// cores; the files are written as soon as the burst leaves CPU free.
func (d *Daemon) pidFiles(q *pidQueue, done chan<- struct{}) {
	defer close(done)
	runtime.LockOSThread() // never unlocked: the lowered thread ends with this goroutine
	if err := platform.Background(); err != nil {
		d.log.Printf("pid files: lower priority: %v", err)
	}
	// The pool is opened with the first change, not before: at start that would be a directory made next to the
	// control socket and the first apps' log files while they are created.
	var pool *pidPool
	opened := false
	var ops []pidOp
	for {
		var more bool
		if ops, more = q.take(ops[:0]); !more {
			return
		}
		for _, op := range ops {
			var err error
			if !opened {
				opened = true
				if pool, err = openPidPool(d.path(api.PidsDir), maxFreePidFiles); err != nil {
					d.log.Printf("pid files: %v", err)
				}
			}
			if op.pid == 0 {
				err = pool.remove(op.path, op.owner)
			} else {
				err = pool.write(op.path, op.pid, op.owner)
			}
			if err != nil {
				d.log.Printf("pid file: %v", err)
			}
		}
	}
}

// maxFreePidFiles bounds the files kept for reuse (a few KB of disk each).
const maxFreePidFiles = 512

// pidPool writes and removes pid files without creating or deleting inodes once it is warm: a removed pid file is
// renamed into a directory of free files, and a new one is a free file rewritten and renamed into place. Creating
// a file is the expensive part of a pid file: on ext4 without a journal (this project's test machines) the inode
// allocator skips every inode deleted in the last 30 s, one buffer lookup each, so with apps being deleted and
// started a create took 100-200 µs and the pid files of a 50-app start cost 9.6 ms of the daemon's 24 ms of CPU.
// A rename in place is also atomic for readers: a pid file is never seen empty or half written.
//
// Only files in dir are pooled; an app's own pid_file may be on another file system, where rename cannot reach.
// Those, and all files of a nil *pidPool, are written and removed through safefs for the app's uid: dir is in
// GPM_HOME, checked at start (api.CheckHome); an app's pid_file is anywhere its configuration says.
type pidPool struct {
	dir, free string   // the pid directory and its directory of free files
	files     []string // free files, most recently freed last
	next      int      // suffix for the next free file's name
	limit     int
}

// openPidPool takes over the free files left in dir/.free by an earlier daemon.
func openPidPool(dir string, limit int) (*pidPool, error) {
	pp := &pidPool{dir: filepath.Clean(dir), free: filepath.Join(dir, ".free"), limit: limit}
	if err := os.MkdirAll(pp.free, 0o700); err != nil {
		return nil, fmt.Errorf("pid files: %w", err)
	}
	entries, err := os.ReadDir(pp.free)
	if err != nil {
		return nil, fmt.Errorf("pid files: %w", err)
	}
	for _, e := range entries {
		name := filepath.Join(pp.free, e.Name())
		n, err := strconv.Atoi(e.Name())
		if !e.Type().IsRegular() || err != nil || len(pp.files) >= limit {
			os.RemoveAll(name) // not ours, or beyond the bound
			continue
		}
		pp.files = append(pp.files, name)
		pp.next = max(pp.next, n+1)
	}
	return pp, nil
}

func (pp *pidPool) pooled(path string) bool {
	return pp != nil && filepath.Dir(path) == pp.dir
}

// write makes path hold pid, for an app of uid owner.
func (pp *pidPool) write(path string, pid, owner int) error {
	data := strconv.AppendInt(nil, int64(pid), 10)
	data = append(data, '\n')
	if pp.pooled(path) && len(pp.files) > 0 {
		f := pp.files[len(pp.files)-1]
		err := rewrite(f, data)
		if err == nil {
			err = os.Rename(f, path)
		}
		if err == nil {
			pp.files = pp.files[:len(pp.files)-1]
			return nil
		}
		// A free file gone or unusable: forget it and write plainly.
		pp.files = pp.files[:len(pp.files)-1]
		os.Remove(f)
	}
	return writePid(path, data, owner)
}

// remove makes path absent, for an app of uid owner.
func (pp *pidPool) remove(path string, owner int) error {
	if pp.pooled(path) && len(pp.files) < pp.limit {
		f := filepath.Join(pp.free, strconv.Itoa(pp.next))
		err := os.Rename(path, f)
		if err == nil {
			pp.next++
			pp.files = append(pp.files, f)
			return nil
		}
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
	}
	if err := safefs.Remove(path, owner); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// rewrite replaces the content of the existing file f with data. Written over the old bytes, then cut to length:
// truncating to zero first would free the file's block and the write allocate one again.
func rewrite(f string, data []byte) error {
	w, err := os.OpenFile(f, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	return overwrite(w, data)
}

// overwrite writes data over the start of w, cuts w to its length and closes w.
func overwrite(w *os.File, data []byte) error {
	_, err := w.WriteAt(data, 0)
	if err == nil {
		err = w.Truncate(int64(len(data)))
	}
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	return err
}

// writePid writes data to path for an app of uid owner, creating its directory as log paths are (a pid_file in a
// run directory that does not exist yet). Opened by safefs: a root daemon must not replace a file that the app's
// user linked there. Written over, then cut, as rewrite does: only a verified file is ever changed.
func writePid(path string, data []byte, owner int) error {
	w, err := safefs.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o644, owner)
	if err != nil {
		return err
	}
	return overwrite(w, data)
}
