package logfile

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gpmd/gpm/platform/safefs"
)

// Rotation says when a File is rotated and what is kept. The zero Rotation never rotates.
//
// A rotation renames the file and opens a new one in the writer that owns it (rename and reopen, never copy and
// truncate: no line is lost in between, and tailers following the name see a new file). Rotated files are named as
// pm2-logrotate names them, in local time: app-out.log becomes app-out__2026-12-04_20-15-00.log (with _2, _3, ...
// before the extension when one second sees several rotations), and app-out__2026-12-04_20-15-00.log.gz once
// compressed. Compression and removal beyond Retain happen in the background, never in the writer.
type Rotation struct {
	// MaxSize rotates before a write that would take the file past this many bytes (a write being a batch of
	// whole lines, a file exceeds it only when one batch does); 0: no limit.
	MaxSize int64
	// Retain is how many rotated files of the path are kept (the oldest are removed); 0: DefaultRetain.
	Retain int
	// Compress gzips rotated files, in the background.
	Compress bool
	// Schedule, when not nil, also rotates at its times (a non-empty file only).
	Schedule Schedule
	// OnError, when not nil, is told of failures in the background (compression, removal); it must not block.
	OnError func(error)
	// Reopened, when not nil, is called with the new file after each rotation, under the File's lock (the daemon
	// points its stdout and stderr at its new log); it must not block or use the File.
	Reopened func(*os.File)
}

// Schedule gives the next time after t; the zero time is never. robfig/cron's Schedule is one.
type Schedule interface {
	Next(t time.Time) time.Time
}

const (
	// DefaultRetain is Rotation.Retain when it is 0: pm2-logrotate's default.
	DefaultRetain = 30
	// MaxRetain bounds Rotation.Retain: a directory listing per rotation must stay small.
	MaxRetain = 10000
	// compressLevel trades CPU for size: gzip's fastest level. Logs compress well at any level (about 10:1 for
	// typical lines), and a slower level competes longer with the apps for the CPU (bench/logrotate.sh; pm2-logrotate
	// uses level 9).
	compressLevel = gzip.BestSpeed
	// stampLayout is pm2-logrotate's default dateFormat (YYYY-MM-DD_HH-mm-ss) in Go's notation.
	stampLayout = "2006-01-02_15-04-05"
	// maxSameSecond bounds the _N suffixes tried for one second's stamp.
	maxSameSecond = 100000
)

// enabled reports whether r rotates at all.
func (r Rotation) enabled() bool { return r.MaxSize > 0 || r.Schedule != nil }

func (r Rotation) retain() int {
	if r.Retain <= 0 {
		return DefaultRetain
	}
	return min(r.Retain, MaxRetain)
}

// SetRotation makes r the rotation of the File's path (for every File on it). Rotated files left by an earlier
// run (not yet compressed, or beyond Retain) are tidied in the background.
func (l *File) SetRotation(r Rotation) {
	l.mu.Lock()
	s := l.s
	l.mu.Unlock()
	if s != nil {
		s.setRotation(r)
	}
}

func (s *shared) setRotation(r Rotation) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rot, s.retryAt = r, 0
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
	s.gen++
	s.armLocked(time.Now())
	if r.enabled() && s.f != nil {
		enqueue(s.job())
	}
}

// armLocked sets the timer of the next rotation by schedule.
func (s *shared) armLocked(now time.Time) {
	if s.rot.Schedule == nil || s.f == nil {
		return
	}
	next := s.rot.Schedule.Next(now)
	if next.IsZero() {
		return
	}
	gen := s.gen
	s.timer = time.AfterFunc(next.Sub(now), func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.gen != gen || s.f == nil { // a newer rotation, or closed
			return
		}
		if err := s.rotateLocked(time.Now()); err != nil && s.rot.OnError != nil {
			s.rot.OnError(err)
		}
		s.armLocked(time.Now())
	})
}

// Rotate rotates the file now, if it is not empty: it is renamed, and a new one is opened in its place for every
// File on the path. It fails when the rename does; when the new file cannot be opened after the rename, the
// error says so and writes go on into the renamed file (nothing is lost).
func (l *File) Rotate() error {
	return l.withShared(func(s *shared) error { return s.rotateLocked(time.Now()) })
}

func (s *shared) rotateLocked(now time.Time) error {
	if s.f == nil || s.size == 0 {
		return nil
	}
	name, err := s.nextName(now)
	if err != nil {
		return err
	}
	_, base, ext := splitPath(s.path)
	file := name.file(base, ext)
	if err := safefs.Rename(s.path, file, s.owner); err != nil {
		return fmt.Errorf("rotate: %w", err)
	}
	s.lastName = name
	f, err := s.openPath()
	if err != nil {
		return fmt.Errorf("rotate %s: renamed to %s, still writing there: %w", s.path, file, err)
	}
	s.f.Close()
	s.f, s.size, s.retryAt = f, 0, 0
	if s.rot.Reopened != nil {
		s.rot.Reopened(f)
	}
	enqueue(s.job())
	return nil
}

func (s *shared) job() job {
	return job{path: s.path, owner: s.owner, retain: s.rot.retain(), compress: s.rot.Compress, onErr: s.rot.OnError}
}

// nextName returns the name of the next rotated file: the stamp of now, never before the last one (the clock
// may step back), with a sequence number when the stamp is taken.
func (s *shared) nextName(now time.Time) (rotatedName, error) {
	if s.lastName.stamp == "" {
		// The first rotation since the file was opened: carry on from what an earlier run left.
		if l, err := list(s.path); err == nil && len(l) > 0 {
			s.lastName = l[len(l)-1].name
		}
	}
	n := rotatedName{stamp: now.Format(stampLayout)}
	if n.stamp <= s.lastName.stamp {
		n = rotatedName{stamp: s.lastName.stamp, seq: max(s.lastName.seq, 1) + 1}
	}
	dir, base, ext := splitPath(s.path)
	for range maxSameSecond {
		f := filepath.Join(dir, n.file(base, ext))
		if !exists(f) && !exists(f+".gz") {
			return n, nil
		}
		n.seq = max(n.seq, 1) + 1
	}
	return n, fmt.Errorf("rotate %s: no free name for stamp %s after %d tries (maxSameSecond)", s.path, n.stamp, maxSameSecond)
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return !errors.Is(err, fs.ErrNotExist)
}

// rotatedName is the varying part of a rotated file's name: its stamp and, from 2 on, its number in that second.
type rotatedName struct {
	stamp string
	seq   int
}

func (n rotatedName) file(base, ext string) string {
	if n.seq < 2 {
		return base + "__" + n.stamp + ext
	}
	return base + "__" + n.stamp + "_" + strconv.Itoa(n.seq) + ext
}

func (n rotatedName) less(m rotatedName) bool {
	if n.stamp != m.stamp {
		return n.stamp < m.stamp
	}
	return n.seq < m.seq
}

// splitPath splits /d/app-out.log into /d, app-out and .log.
func splitPath(path string) (dir, base, ext string) {
	dir, file := filepath.Split(path)
	ext = filepath.Ext(file)
	return filepath.Clean(dir), strings.TrimSuffix(file, ext), ext
}

// entry is a rotated file of a path.
type entry struct {
	name rotatedName
	path string
	gz   bool // compressed
	tmp  bool // a compression that did not finish (.gz.tmp)
}

// list returns the rotated files of path, oldest first, with unfinished compressions.
func list(path string) ([]entry, error) {
	dir, base, ext := splitPath(path)
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []entry
	prefix := base + "__"
	for _, de := range des {
		n := de.Name()
		rest, ok := strings.CutPrefix(n, prefix)
		if !ok {
			continue
		}
		e := entry{path: filepath.Join(dir, n)}
		if r, ok := strings.CutSuffix(rest, ".gz.tmp"); ok {
			rest, e.tmp = r, true
		} else if r, ok := strings.CutSuffix(rest, ".gz"); ok {
			rest, e.gz = r, true
		}
		if rest, ok = strings.CutSuffix(rest, ext); !ok || len(rest) < len(stampLayout) {
			continue
		}
		e.name.stamp, rest = rest[:len(stampLayout)], rest[len(stampLayout):]
		if _, err := time.Parse(stampLayout, e.name.stamp); err != nil {
			continue
		}
		if rest != "" {
			num, ok := strings.CutPrefix(rest, "_")
			seq, err := strconv.Atoi(num)
			if !ok || err != nil || seq < 2 || strconv.Itoa(seq) != num {
				continue
			}
			e.name.seq = seq
		}
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b entry) int {
		switch {
		case a.name.less(b.name):
			return -1
		case b.name.less(a.name):
			return 1
		}
		return 0
	})
	return out, nil
}

// Rotated returns the rotated files of path (compressed ones end in .gz), oldest first; none when there are none
// or the directory cannot be read.
func Rotated(path string) []string {
	l, _ := list(path)
	var out []string
	for _, e := range l {
		if !e.tmp {
			out = append(out, e.path)
		}
	}
	return out
}

// job is the background work after a rotation of one path: compress what is not, remove beyond retain.
type job struct {
	path     string
	owner    int
	retain   int
	compress bool
	onErr    func(error)
}

// bg is the one background worker of the process, with its queue. The queue holds at most one job per path (a
// newer one replaces the older: a job does everything there is to do for its path), so it is bounded by the open
// files. The worker exits when the queue is empty and starts again with the next job: nothing is left running
// after the last File closes (lumberjack's compressing goroutine never stops).
var bg struct {
	mu      sync.Mutex
	queue   []job
	running bool
	idle    *sync.Cond
}

func init() { bg.idle = sync.NewCond(&bg.mu) }

func enqueue(j job) {
	bg.mu.Lock()
	defer bg.mu.Unlock()
	for i := range bg.queue {
		if bg.queue[i].path == j.path {
			bg.queue[i] = j
			return
		}
	}
	bg.queue = append(bg.queue, j)
	if !bg.running {
		bg.running = true
		go work()
	}
}

// work runs the queue: one goroutine, so compression takes at most one core however many files rotate at once.
//
// Important (!): it does not lower its priority on a thread of its own (platform.Background) and then exit: a
// locked thread ends with its goroutine, and the kernel sends every child forked from that thread its Pdeathsig
// (golang/go#27505). The daemon forks apps from whichever thread runs the loop, so an app was SIGTERMed in the
// middle of its output when the worker went idle.
func work() {
	for {
		bg.mu.Lock()
		if len(bg.queue) == 0 {
			bg.running = false
			bg.idle.Broadcast()
			bg.mu.Unlock()
			return
		}
		j := bg.queue[0]
		bg.queue = bg.queue[1:]
		bg.mu.Unlock()
		if err := j.run(); err != nil && j.onErr != nil {
			j.onErr(err)
		}
	}
}

// waitIdle waits until the background worker has nothing left to do (tests).
func waitIdle() {
	bg.mu.Lock()
	defer bg.mu.Unlock()
	for bg.running {
		bg.idle.Wait()
	}
}

func (j job) run() error {
	l, err := list(j.path)
	if err != nil {
		return fmt.Errorf("rotated logs of %s: %w", j.path, err)
	}
	var errs []error
	var kept []entry
	for _, e := range l {
		switch {
		case e.tmp: // a compression cut short by a crash; its source is still there
			if err := safefs.Remove(e.path, j.owner); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
			}
			continue
		case j.compress && !e.gz:
			if err := compress(e.path, j.owner); err != nil {
				errs = append(errs, err)
			} else {
				e.path, e.gz = e.path+".gz", true
			}
		}
		kept = append(kept, e)
	}
	// Removed only now: a file is counted once it is compressed, and never removed for a compression that failed.
	for _, e := range kept[:max(0, len(kept)-j.retain)] {
		if err := safefs.Remove(e.path, j.owner); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("retain %d: %w", j.retain, err))
		}
	}
	return errors.Join(errs...)
}

// compress gzips src into src.gz: written as src.gz.tmp, synced, renamed, then src removed. A crash leaves src
// whole (and perhaps a .gz.tmp, removed by the next job).
func compress(src string, owner int) error {
	in, err := safefs.OpenFile(src, os.O_RDONLY, 0, owner)
	if err != nil {
		return fmt.Errorf("compress: %w", err)
	}
	defer in.Close()
	tmp := src + ".gz.tmp"
	out, err := safefs.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640, owner)
	if err != nil {
		return fmt.Errorf("compress: %w", err)
	}
	zw, _ := gzip.NewWriterLevel(out, compressLevel)
	_, err = io.Copy(zw, in)
	if err == nil {
		err = zw.Close()
	}
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = safefs.Rename(tmp, filepath.Base(src)+".gz", owner)
	}
	if err != nil {
		safefs.Remove(tmp, owner)
		return fmt.Errorf("compress %s: %w", src, err)
	}
	if err := safefs.Remove(src, owner); err != nil {
		return fmt.Errorf("compress %s: remove after compressing: %w", src, err)
	}
	return nil
}
